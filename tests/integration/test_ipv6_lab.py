"""Both address families (issue #16): a tunnel whose Endpoint is an IPv6 address, probed, captured,
judged by the host firewall readers and remedied like the IPv4 baseline.

The lab gives every network global IPv6 (docs/lab.md). Beside the baseline wg0 (IPv4 Endpoint,
UDP 51820) the server runs wgv6 on UDP 51966 with two peers, client and client2, both of which
reach it at `[server's IPv6 address]:51966`. The fault matrix entry of this file drops UDP over
IPv6 only, on the server, for both WireGuard ports, while IPv4 passes: the report must name
udp_blocked_host_firewall for wgv6 (its initiators come over IPv6) and not for wg0 (over IPv4),
and `-e wg_remediate=true` must bring wgv6's handshakes back.
"""
from __future__ import annotations

import json

import pytest

IFACE = "wgv6"
PORT = 51966
CONF = f"/etc/wireguard/{IFACE}.conf"
KEY_FILE = f"/root/{IFACE}.key"
SERVER_TUNNEL = "10.96.0.1"
CLIENTS = {"client": "10.96.0.2", "client2": "10.96.0.3"}
BASELINE_PORT = 51820


def _server6(lab) -> str:
    return lab.vars["lab_server_address6"]


def _write_config(lab, host: str, text: str) -> None:
    """The private key stays on the host: the unquoted here-document reads it from KEY_FILE there."""
    lab.sh(host, f"umask 077 && cat > {CONF} <<WGDOCTOR_EOF\n{text}WGDOCTOR_EOF")


def _restart(lab, host: str) -> None:
    lab.sh(host, f"systemctl reset-failed wg-quick@{IFACE} 2>/dev/null || true; systemctl restart wg-quick@{IFACE}")


def _wait_for_both(lab) -> None:
    for host in CLIENTS:
        lab.wait_for_handshake(host, SERVER_TUNNEL)


@pytest.fixture(scope="module")
def v6_tunnel(lab):
    """wgv6: client and client2 reach the server at [its IPv6 address]:51966; keys made on each end."""
    hosts = ("server", *CLIENTS)
    public = {host: lab.sh(host, f"umask 077 && wg genkey | tee {KEY_FILE} | wg pubkey").stdout.strip() for host in hosts}
    server = (f"[Interface]\nPrivateKey = $(cat {KEY_FILE})\nAddress = {SERVER_TUNNEL}/24\nListenPort = {PORT}\n"
              + "".join(f"\n[Peer]\nPublicKey = {public[host]}\nAllowedIPs = {address}/32\n" for host, address in CLIENTS.items()))
    configs = {"server": server}
    for host, address in CLIENTS.items():
        configs[host] = (f"[Interface]\nPrivateKey = $(cat {KEY_FILE})\nAddress = {address}/24\n\n"
                         f"[Peer]\nPublicKey = {public['server']}\nAllowedIPs = {SERVER_TUNNEL}/32\n"
                         f"Endpoint = [{_server6(lab)}]:{PORT}\nPersistentKeepalive = 25\n")
    # Read back only to check that no report or log quotes them; never printed.
    tunnel = {"configs": configs, "secrets": [lab.sh(host, f"cat {KEY_FILE}").stdout.strip() for host in hosts]}
    try:
        for host in hosts:
            _write_config(lab, host, configs[host])
            _restart(lab, host)
        _wait_for_both(lab)
        yield tunnel
    finally:
        for host in hosts:
            # Every step on its own (`sh -e` stops at the first that fails): no wgv6 may be left for other suites.
            lab.sh(host, f"systemctl stop wg-quick@{IFACE} || true; systemctl reset-failed wg-quick@{IFACE} 2>/dev/null || true; "
                         f"rm -f {CONF} {KEY_FILE}", check=False)


def _diagnose(lab, tmp_path, tunnel, *extra: str) -> dict:
    report = lab.diagnose(tmp_path, *extra)
    text = json.dumps(report) + lab.last_run.stdout + lab.last_run.stderr
    for secret in tunnel["secrets"]:
        assert secret not in text, f"a private key of {IFACE} appears in the playbook output or the report"
    return report


def _summary(findings: list) -> list:
    return [(f["severity"], f["code"], f["host"], f["interface"]) for f in findings]


def _probes_to(report_pass: dict, port: int) -> list:
    return [p for p in report_pass["probes"] if (p.get("target") or {}).get("port") == port]


def test_the_server_answers_over_ipv6_through_the_router(lab):
    server6 = _server6(lab)
    assert server6.startswith("2001:db8:"), server6
    route = lab.sh("client", f"ip -6 route get {server6}").stdout
    assert f"via {lab.inventory_data['all']['children']['lab_routers']['hosts']['router']['lab_addresses6']['site']}" in route, route
    lab.sh("client", f"ping -6 -c 1 -W 2 {server6}")
    # The site keeps its home-router filter in IPv6 too: nothing from outside opens a connection into it.
    client6 = lab.inventory_data["all"]["children"]["wireguard"]["hosts"]["client"]["lab_addresses6"]["site"]
    assert lab.sh("server", f"ping -6 -c 1 -W 1 {client6}", check=False).returncode != 0


def test_healthy_ipv6_tunnel_is_probed_and_captured_over_ipv6(lab, v6_tunnel, tmp_path):
    report = _diagnose(lab, tmp_path, v6_tunnel)
    before = report["before"]
    above = [item for item in _summary(before["findings"]) if item[0] != "info"]
    assert above == [], above
    probes = _probes_to(before, PORT)
    assert sorted(p["initiator"] for p in probes) == sorted(CLIENTS), probes
    for probe in probes:
        assert probe["target"]["host"] == _server6(lab), probe
        assert probe["outcome"] == "ok", probe
    fresh = [t for t in before["tunnels"] if IFACE in json.dumps(t)]
    assert len(fresh) == 2 and all(t["handshake_fresh"] for t in fresh), fresh


# An IPv6-only drop of both WireGuard ports on the server, in each firewall the server may use; the undo
# leaves the server's filter as the lab baseline has it (empty) whatever the remediation added.
V6_DROPS = {
    "ip6tables": (f"ip6tables -I INPUT -p udp -m multiport --dports {BASELINE_PORT},{PORT} -j DROP",
                  "ip6tables -F INPUT; iptables -F INPUT"),
    "nftables-inet": ("nft add table inet filter && "
                      "nft add chain inet filter input '{ type filter hook input priority 0; policy accept; }' && "
                      f"nft add rule inet filter input meta nfproto ipv6 udp dport '{{ {BASELINE_PORT}, {PORT} }}' counter drop",
                      f"nft delete table inet filter; rm -f /etc/nftables.d/wgdoctor-{IFACE}.nft"),
    # Someone allowed the ports for IPv4 only; ufw's default policy drops them over IPv6.
    "ufw": ("ufw allow 22/tcp >/dev/null && ufw default deny incoming >/dev/null && "
            f"ufw allow proto udp from 0.0.0.0/0 to any port {BASELINE_PORT} >/dev/null && "
            f"ufw allow proto udp from 0.0.0.0/0 to any port {PORT} >/dev/null && ufw --force enable",
            # ufw disable leaves its (empty) chains hooked into INPUT/FORWARD: flushed, so that the next test's
            # firewall role (backend auto) finds the baseline, no filtering, and not an iptables host.
            "ufw --force disable; ufw --force reset >/dev/null; iptables -F; iptables -X; ip6tables -F; ip6tables -X"),
    # The same in firewalld: rich rules accept the ports for IPv4 only; the zone (public, the uplink's
    # as the default zone) rejects them over IPv6. The undo puts back the permanent config saved before.
    "firewalld": ("rm -rf /root/firewalld.baseline && cp -a /etc/firewalld /root/firewalld.baseline && "
                  "systemctl enable --now --quiet firewalld.service && firewall-cmd --state && "
                  + " && ".join(f"firewall-cmd --permanent --add-rich-rule='rule family=\"ipv4\" port port=\"{port}\" protocol=\"udp\" accept'"
                                for port in (BASELINE_PORT, PORT))
                  + " && firewall-cmd --reload",
                  "systemctl disable --now --quiet firewalld.service; "
                  "test -d /root/firewalld.baseline && rm -rf /etc/firewalld && mv /root/firewalld.baseline /etc/firewalld"),
}


@pytest.mark.parametrize("backend", sorted(V6_DROPS))
def test_ipv6_only_firewall_drop_is_named_for_the_ipv6_tunnel_only_and_remedied(lab, v6_tunnel, tmp_path, backend):
    inject, undo = V6_DROPS[backend]
    _wait_for_both(lab)
    lab.wait_for_handshake()
    try:
        lab.sh("server", inject)
        for host in ("server", *CLIENTS):
            _restart(lab, host)
        # IPv4 still passes: the baseline tunnel handshakes again after its restart too.
        lab.sh("server", "systemctl restart wg-quick@wg0")
        lab.wait_for_handshake()
        report = _diagnose(lab, tmp_path, v6_tunnel, "-e", "wg_remediate=true")
        findings = report["before"]["findings"]
        blocked = [f for f in findings if f["code"] == "udp_blocked_host_firewall"]
        assert [(f["host"], f["interface"]) for f in blocked] == [("server", IFACE)], _summary(findings)
        assert blocked[0]["remedy"] and blocked[0]["remedy"]["vars"]["firewall_port"] == PORT, blocked[0]
        evidence = "\n".join(blocked[0]["evidence"])
        assert "IPv6" in evidence and f"[{_server6(lab)}]:{PORT}" in evidence, evidence
        # The initiations arrived over IPv6 (the capture saw them) and went nowhere after that.
        probes = _probes_to(report["before"], PORT)
        # (firewalld's zone rejects with ICMPv6 administratively prohibited: "unreachable" at the prober)
        assert probes and all(p["outcome"] in ("timeout", "unreachable") and p.get("arrived") for p in probes), probes
        assert not [f for f in findings if f["interface"] == "wg0" and f["severity"] in ("critical", "error")], _summary(findings)
        after = report["after"]
        assert after["healthy"] is True, _summary(after["findings"])
        assert all(p["outcome"] == "ok" for p in _probes_to(after, PORT)), _probes_to(after, PORT)
        _wait_for_both(lab)
    finally:
        lab.sh("server", undo, check=False)
        for host in ("server", *CLIENTS):
            _restart(lab, host)
        lab.sh("server", "systemctl restart wg-quick@wg0", check=False)
