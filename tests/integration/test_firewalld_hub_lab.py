"""A firewalld host that answers several peers: its forwarding and NAT faults fixed, no neighbour harmed (issue #11).

The lab server runs firewalld (Debian 12's 1.3) and a tunnel of its own, fwhub5 on UDP 44517, with three peers: client
(a neighbour that reaches only the tunnel's subnet and works all along), client2 (a full-tunnel peer: 0.0.0.0/0 through
the server, as a laptop on a VPN gateway) and a runtime-only peer (added with `wg set`, in no file). A foreign nftables
table another tool owns sits beside firewalld's. The admin opened fwhub5's port in firewalld but nothing else: IP
forwarding is off, firewalld forwards nothing from the tunnel and masquerades nothing, and the baseline wg0's port is
not open at all. The diagnosis must name each of these on the server; `--check --diff` shows exactly the changes the real
run then makes; after the real run client2 reaches the router's public address through the server, the neighbour's
handshake is fresh, its ping answers and it still reaches the SSH stand-in through the tunnel, the runtime-only peer
and the foreign table are still there, firewalld's permanent configuration (what it loads at boot) holds what the
remedies added and a reload keeps the tunnel working, the SSH stand-in still answers, and applying the same remedies
again changes nothing.
"""
from __future__ import annotations

import time

import pytest

from remedies import assert_second_run_changes_nothing
from test_fault_matrix import _secrets, _tcp_service_answers, assert_no_secret_leaked
from test_fleet_remediation_lab import remediation_changes

IFACE = "fwhub5"
PORT = 44517
SUBNET = "10.95.0.0/24"
ADDRESSES = {"server": "10.95.0.1", "client": "10.95.0.2", "client2": "10.95.0.3"}
RUNTIME_ONLY = "10.95.0.50/32"
CONF = f"/etc/wireguard/{IFACE}.conf"
KEY_FILE = f"/root/{IFACE}.key"
ENDS = ("server", "client", "client2")
FOREIGN_TABLE = ("nft add table inet dockerlike && "
                 "nft add chain inet dockerlike dl_forward '{ type filter hook forward priority 10; policy accept; }' && "
                 "nft add rule inet dockerlike dl_forward iifname docker0 counter accept")
FIREWALLD_BASELINE = "/root/firewalld.hub-baseline"


def _config(lab, public: dict[str, str]) -> dict[str, str]:
    server = lab.vars["lab_server_address"]
    text = {"server": f"[Interface]\nPrivateKey = $(cat {KEY_FILE})\nAddress = {ADDRESSES['server']}/24\nListenPort = {PORT}\n"}
    for client, allowed in (("client", SUBNET), ("client2", "0.0.0.0/0")):
        text["server"] += f"\n[Peer]\nPublicKey = {public[client]}\nAllowedIPs = {ADDRESSES[client]}/32\n"
        text[client] = (f"[Interface]\nPrivateKey = $(cat {KEY_FILE})\nAddress = {ADDRESSES[client]}/24\n\n"
                        f"[Peer]\nPublicKey = {public['server']}\nAllowedIPs = {allowed}\n"
                        f"Endpoint = {server}:{PORT}\nPersistentKeepalive = 25\n")
    return text


def _handshake_age(lab, host: str, peer: str) -> float | None:
    for line in lab.sh(host, f"wg show {IFACE} latest-handshakes").stdout.splitlines():
        key, _sep, stamp = line.partition("\t")
        if key == peer and stamp.strip() != "0":
            return time.time() - int(stamp)
    return None


def _router_answers_client2(lab) -> bool:
    """client2's full tunnel: the router's public address is reached only through the server, forwarded and masqueraded."""
    return lab.sh("client2", f"ping -c 2 -W 2 -I {IFACE} {lab.vars['lab_router_public_address']}", check=False).returncode == 0


@pytest.fixture
def firewalld_hub(lab):
    """fwhub5 with the server answering client and client2, a runtime-only peer and a foreign table; firewalld runs with
    fwhub5's port open and nothing else. Everything is taken back afterwards."""
    lab.wait_for_handshake()
    public = {host: lab.sh(host, f"umask 077 && wg genkey | tee {KEY_FILE} | wg pubkey").stdout.strip() for host in ENDS}
    try:
        for host, text in _config(lab, public).items():
            lab.sh(host, f"umask 077 && cat > {CONF} <<WGDOCTOR_EOF\n{text}WGDOCTOR_EOF")
            lab.sh(host, f"systemctl restart wg-quick@{IFACE}")
        stranger = lab.sh("server", "wg genkey | wg pubkey").stdout.strip()
        lab.sh("server", f"wg set {IFACE} peer {stranger} allowed-ips {RUNTIME_ONLY} && sysctl -qw net.ipv4.ip_forward=0 && "
                         f"{FOREIGN_TABLE} && rm -rf {FIREWALLD_BASELINE} && cp -a /etc/firewalld {FIREWALLD_BASELINE} && "
                         "systemctl enable --now --quiet firewalld.service && "
                         f"firewall-cmd --quiet --add-port={PORT}/udp && firewall-cmd --quiet --permanent --add-port={PORT}/udp")
        for client in ("client", "client2"):
            lab.wait_for_handshake(client, ADDRESSES["server"])
        yield {"public": public, "stranger": stranger,
               "secrets": {f"{host} {IFACE} private key": lab.sh(host, f"cat {KEY_FILE}").stdout.strip() for host in ENDS}}
    finally:
        # Every step on its own (`sh -e` stops at the first that fails: a config left behind gets probed by later tests).
        lab.sh("server", _each("systemctl disable --now --quiet firewalld.service",
                               f"test -d {FIREWALLD_BASELINE} && rm -rf /etc/firewalld && mv {FIREWALLD_BASELINE} /etc/firewalld",
                               "sysctl -qw net.ipv4.ip_forward=0", "rm -f /etc/sysctl.d/90-wgdoctor-forwarding.conf",
                               "nft flush ruleset"), check=False)
        for host in ENDS:
            lab.sh(host, _each(f"systemctl stop wg-quick@{IFACE}", f"systemctl reset-failed wg-quick@{IFACE} 2>/dev/null",
                               f"rm -f {CONF} {CONF}.*~ {KEY_FILE}"), check=False)
            assert not lab.sh(host, f"ls /etc/wireguard/{IFACE}.* {KEY_FILE} 2>/dev/null; ip link show {IFACE} 2>/dev/null",
                              check=False).stdout.strip(), f"{IFACE} is left on {host}"
        lab.back_to_healthy()


def _each(*steps: str) -> str:
    return "; ".join(step + " || true" for step in steps)


def test_forwarding_and_nat_of_a_firewalld_hub_fixed_and_no_neighbour_harmed(lab, firewalld_hub, tmp_path):
    neighbour = firewalld_hub["public"]["client"]
    assert lab.sh("client", f"ping -c 1 -W 2 -I {IFACE} {ADDRESSES['server']}", check=False).returncode == 0, "the neighbour works"
    assert lab.sh("client", f"nc -z -w 2 {ADDRESSES['server']} 22", check=False).returncode == 0, "the neighbour reaches SSH"
    assert not _router_answers_client2(lab), "client2's full tunnel must be cut off before the fix"
    foreign = lab.sh("server", "nft list table inet dockerlike").stdout
    secrets = dict(_secrets(lab), **firewalld_hub["secrets"])

    (tmp_path / "check").mkdir()
    (tmp_path / "real").mkdir()
    check = lab.diagnose(tmp_path / "check", "-e", "wg_remediate=true", "--check", "--diff")
    check_run = lab.last_run.stdout
    assert "after" not in check
    found = {(f["code"], f["interface"]) for f in check["before"]["findings"] if f["host"] == "server"}
    for expected in (("ip_forward_disabled", IFACE), ("forward_chain_blocks", IFACE), ("nat_masquerade_missing", IFACE),
                     ("udp_blocked_host_firewall", "wg0")):
        assert expected in found, (expected, sorted(found))
    assert ("udp_blocked_host_firewall", IFACE) not in found, "fwhub5's port is open"
    assert check["before"]["unchecked"] == [], check["before"]["unchecked"]
    assert not _router_answers_client2(lab), "--check changed something"

    report = lab.diagnose(tmp_path / "real", "-e", "wg_remediate=true", "--diff")
    real_run = lab.last_run.stdout
    report_files = [(tmp_path / "real" / "wg-report" / name).read_text() for name in ("report.json", "report.md", "report.html")]
    assert_no_secret_leaked(secrets, check_run, real_run, lab.last_run.stderr, *report_files)
    shown, made = remediation_changes(check_run), remediation_changes(real_run)
    assert made, "the real run changed nothing"
    assert shown == made, f"shown by --check only: {sorted(shown - made)}\nmade by the real run only: {sorted(made - shown)}"
    assert not any(run["failed"] for run in report["remediation"]["remedies"]), report["remediation"]

    after = report["after"]
    left = [(f["severity"], f["code"], f["host"], f["interface"]) for f in after["findings"] if f["severity"] != "info"]
    assert after["healthy"] is True and not left, left
    assert after["unchecked"] == [], after["unchecked"]
    assert _router_answers_client2(lab), "client2's full tunnel does not reach the router through the server"
    # The neighbour: its session kept going (fresh handshake, ping answers); the runtime-only peer and the foreign table stay.
    age = _handshake_age(lab, "server", neighbour)
    assert age is not None and age < 180, f"the neighbour's latest handshake is {age} s old"
    assert lab.sh("client", f"ping -c 1 -W 2 -I {IFACE} {ADDRESSES['server']}", check=False).returncode == 0
    assert RUNTIME_ONLY in lab.sh("server", f"wg show {IFACE} allowed-ips").stdout, "the runtime-only peer is gone"
    assert lab.sh("server", "nft list table inet dockerlike").stdout == foreign, "the foreign table changed"
    assert _tcp_service_answers(lab), "remediation made the server's SSH stand-in unreachable"
    # fwhub5 moved into a zone of its own: what its peers reached on the server before (the default zone's ssh) they
    # still reach, never more than that zone opened.
    assert lab.sh("client", f"nc -z -w 2 {ADDRESSES['server']} 22", check=False).returncode == 0, \
        "the neighbour lost the SSH stand-in it reached through the tunnel"
    # What firewalld loads at boot: the tunnel's own zone and the policy, never zone trusted nor a zone-wide masquerade.
    permanent = lab.sh("server", f"firewall-cmd --permanent --info-policy=wgdfw-{IFACE} && "
                                 f"firewall-cmd --permanent --get-zone-of-interface={IFACE} && firewall-cmd --permanent --zone=public --list-all").stdout
    for line in (f'rule family="ipv4" source address="{SUBNET}" accept', f'rule family="ipv4" source address="{SUBNET}" masquerade',
                 f"wgd-{IFACE}", f"{PORT}/udp", "51820/udp"):
        assert line in permanent, (line, permanent)
    assert "masquerade: yes" not in permanent and "trusted" not in permanent, permanent
    assert lab.sh("server", "sysctl -n net.ipv4.ip_forward && cat /etc/sysctl.d/90-wgdoctor-forwarding.conf").stdout.startswith("1")
    lab.sh("server", "firewall-cmd --quiet --reload")
    assert _router_answers_client2(lab), "after firewall-cmd --reload (the boot configuration) client2 is cut off again"

    again = assert_second_run_changes_nothing(lab, report, tmp_path, ("server", "client", "client2"))
    assert_no_secret_leaked(secrets, again)
