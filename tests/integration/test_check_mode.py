"""`diagnose.yml -e wg_remediate=true --check --diff` shows the fixes of every role and makes none."""
from __future__ import annotations

import pytest

from faults import FAULTS, NFT_DROP
from test_fault_matrix import _recap_changed, _run_steps, _secrets, assert_no_secret_leaked

# The two ends of the baseline tunnel, the only hosts these faults touch and whose state is compared. client2
# (in the group `wireguard` for the faults that need a second peer) holds no WireGuard here: diagnosing it
# too only added its share of every task of the run, with nothing for check mode to show or leave alone.
ENDS = ("client", "server")
CHECK_RUN = ("-e", "wg_remediate=true", "-e", "wg_hosts=" + ":".join(ENDS), "--check", "--diff")


def test_check_diff_shows_the_firewall_fix_and_changes_nothing(lab, tmp_path):
    lab.wait_for_handshake()
    lab.sh("server", NFT_DROP)
    try:
        lab.sh("server", "systemctl restart wg-quick@wg0")
        lab.sh("client", "systemctl restart wg-quick@wg0")
        ruleset_before = lab.sh("server", "nft -s list ruleset").stdout
        conf_before = lab.sh("server", "cat /etc/nftables.conf").stdout
        report = lab.diagnose(tmp_path, *CHECK_RUN)
        output = lab.last_run.stdout

        assert report["before"]["findings"][0]["code"] == "udp_blocked_host_firewall"
        assert "after" not in report, "check mode must not claim a verified result"
        # The firewall role ran in check mode and showed what it would do.
        assert "Apply the remedy of role wgdoctor.wireguard.firewall" in output
        # The nftables plan is wg_firewall's, computed in Python; its task shows it in check mode.
        assert "Accept the tunnel's traffic in the host's nftables chains" in output
        assert "udp dport 51820 accept" in output, "the rule a real run inserts is shown"
        assert "+include" in output or "include \"/etc/nftables.d/*.nft\"" in output, "the persistence change is shown"
        # ... and changed nothing.
        assert lab.sh("server", "nft -s list ruleset").stdout == ruleset_before
        assert lab.sh("server", "cat /etc/nftables.conf").stdout == conf_before
        assert lab.sh("client", "ping -c 1 -W 1 10.99.0.1", check=False).returncode != 0, "the tunnel must still be broken"
    finally:
        lab.sh("server", "nft delete table inet filter", check=False)
        lab.restore_healthy()
        lab.wait_for_handshake()


# ---------------------------------------------------------------- every role, in check mode
# One fault per role and per firewall backend (nftables is the test above): `--check --diff`
# reports the change the role would make, and afterwards nothing on either end differs.
CHECKED = {
    "iptables DROP rule on the server": "firewall (iptables)",
    "ufw enabled without the WireGuard port": "firewall (ufw)",
    "firewalld running without the WireGuard port": "firewall (firewalld)",
    "wg-quick stopped on the server": "service",
    "client's Endpoint port is wrong": "peer (Endpoint)",
    "client holds a wrong server public key": "peer (PublicKey)",
    "different preshared keys on the two ends": "peer (PresharedKey)",
    "NATed client without PersistentKeepalive": "keepalive",
    "full-tunnel client, gateway with forwarding off": "ip_forwarding",
}
CHECK_FAULTS = [fault for fault in FAULTS if fault.name in CHECKED]
assert all(set(fault.host if isinstance(fault.host, tuple) else (fault.host,)) <= set(ENDS) for fault in CHECK_FAULTS)

# Everything a role may change, each item hashed inside the host: a key is never read out.
STATE = {
    "files": "find /etc/wireguard /etc/sysctl.d /etc/nftables.conf /etc/nftables.d /etc/iptables /etc/ufw "
             "/etc/firewalld /etc/default /etc/cron.d /etc/systemd/system /usr/local/sbin -type f 2>/dev/null "
             "| sort | xargs -r sha256sum",
    "nftables": "nft -s list ruleset 2>/dev/null",
    "iptables legacy": "iptables-legacy-save 2>/dev/null | grep -v '^#' | sed 's/\\[[0-9]*:[0-9]*\\]//'",
    "sysctls": "sysctl net.ipv4.ip_forward net.ipv6.conf.all.forwarding",
    "units": "for unit in wg-quick@wg0.service wgdoctor-reresolve@wg0.timer ufw.service firewalld.service nftables.service; do "
             "echo $unit $(systemctl is-active $unit) $(systemctl is-enabled $unit 2>/dev/null); done",
    "firewalld": "firewall-cmd --list-all-zones 2>/dev/null || true",
    # Interface: name, public key, port, fwmark; peer: name, key, PSK, AllowedIPs, keepalive (endpoints roam).
    "wg": "wg show all dump 2>/dev/null | awk -F'\\t' 'NF==5 {print $1,$3,$4,$5} NF==9 {print $1,$2,$3,$5,$9}'",
    "endpoints": "wg show all endpoints 2>/dev/null",
}


def state_digests(lab, host: str) -> dict:
    # The server learns the client's endpoint from its packets.
    items = [item for item in STATE if not (item == "endpoints" and host == "server")]
    # One podman exec per host, not one per item: each item still in a subshell of its own, as before.
    script = "\n".join(f"({STATE[item]}) | sha256sum" for item in items)
    lines = lab.sh(host, script, check=False).stdout.splitlines()
    assert len(lines) == len(items), f"{host}: {len(items)} digests expected, got {lines}"
    return {item: line.split()[0] for item, line in zip(items, lines)}


@pytest.mark.parametrize("fault", CHECK_FAULTS, ids=[CHECKED[f.name] for f in CHECK_FAULTS])
def test_remediation_in_check_mode_shows_the_fix_and_changes_nothing(lab, tmp_path, fault):
    lab.wait_for_handshake()
    try:
        _run_steps(lab, fault.inject)
        for end in fault.restart:
            lab.sh(end, "systemctl restart wg-quick@wg0", check=False)
        secrets = _secrets(lab)
        before = {host: state_digests(lab, host) for host in ENDS}
        report = lab.diagnose(tmp_path, *CHECK_RUN)
        run = lab.last_run
        assert fault.code in {f["code"] for f in report["before"]["findings"]}
        assert "after" not in report, "check mode must not claim a verified result"
        hosts = fault.host if isinstance(fault.host, tuple) else (fault.host,)
        assert any(_recap_changed(run.stdout, host) > 0 for host in hosts), \
            f"check mode shows no change for {fault.code}:\n{run.stdout[-3000:]}"
        assert_no_secret_leaked(secrets, run.stdout, run.stderr)
        after = {host: state_digests(lab, host) for host in ENDS}
        changed = [(host, item) for host in before for item in before[host] if before[host][item] != after[host][item]]
        assert not changed, f"--check changed {changed}"
    finally:
        _run_steps(lab, fault.undo, check=False)
        lab.back_to_healthy()
