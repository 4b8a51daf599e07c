"""Why wg-quick does not start (issue #16), reproduced in the lab and named by diagnose.yml.

A second tunnel, wg7 on UDP 51907 between the lab's client and server (next to the baseline wg0),
is broken the three ways that make `wg-quick up` fail half-way and delete the interface: a DNS
line on a host without resolvconf (the lab image has none), a UDP listener that took the port
first, an Endpoint name that does not resolve. Each time report.json must name the cause on the
right end and `interface_down` must follow from it; then the tunnel is restored.
"""
from __future__ import annotations

import json

import pytest

IFACE = "wg7"
PORT = 51907
CONF = f"/etc/wireguard/{IFACE}.conf"
SERVER_ADDRESS, CLIENT_ADDRESS = "10.97.0.1", "10.97.0.2"
LISTENER_UNIT = f"lab-udp{PORT}"
KEY_FILE = f"/root/{IFACE}.key"


def _write_config(lab, host: str, text: str) -> None:
    """The private key stays on the host: the unquoted here-document reads it from KEY_FILE there."""
    lab.sh(host, f"umask 077 && cat > {CONF} <<WGDOCTOR_EOF\n{text}WGDOCTOR_EOF")


def _start(lab, host: str, check: bool = True) -> None:
    lab.sh(host, f"systemctl reset-failed wg-quick@{IFACE} 2>/dev/null || true; systemctl restart wg-quick@{IFACE}", check=check)


@pytest.fixture(scope="module")
def second_tunnel(lab):
    """wg7: the client's Endpoint is the server's public address, port 51907; keys made on each end."""
    public = {host: lab.sh(host, f"umask 077 && wg genkey | tee {KEY_FILE} | wg pubkey").stdout.strip()
              for host in ("server", "client")}
    server = lab.vars["lab_server_address"]
    configs = {
        "server": (f"[Interface]\nPrivateKey = $(cat {KEY_FILE})\nAddress = {SERVER_ADDRESS}/24\nListenPort = {PORT}\n\n"
                   f"[Peer]\nPublicKey = {public['client']}\nAllowedIPs = {CLIENT_ADDRESS}/32\n"),
        "client": (f"[Interface]\nPrivateKey = $(cat {KEY_FILE})\nAddress = {CLIENT_ADDRESS}/24\n\n"
                   f"[Peer]\nPublicKey = {public['server']}\nAllowedIPs = {SERVER_ADDRESS}/32\n"
                   f"Endpoint = {server}:{PORT}\nPersistentKeepalive = 25\n"),
    }
    # Read back only to check that no report or log quotes them; never printed.
    tunnel = {"configs": configs, "secrets": [lab.sh(host, f"cat {KEY_FILE}").stdout.strip() for host in ("server", "client")]}
    try:
        for host in ("server", "client"):
            _write_config(lab, host, configs[host])
            _start(lab, host)
        lab.wait_for_handshake("client", SERVER_ADDRESS)
        yield tunnel
    finally:
        lab.sh("server", f"systemctl stop {LISTENER_UNIT} 2>/dev/null || true", check=False)
        for host in ("server", "client"):
            # Every step on its own (`sh -e` stops at the first that fails): no wg7 may be left for other suites.
            lab.sh(host, f"systemctl stop wg-quick@{IFACE} || true; systemctl reset-failed wg-quick@{IFACE} 2>/dev/null || true; "
                         f"rm -f {CONF} {KEY_FILE}")


@pytest.fixture
def broken(lab, second_tunnel):
    """The healthy wg7 before the test; its configs restored and both ends restarted after it."""
    lab.wait_for_handshake("client", SERVER_ADDRESS)
    yield second_tunnel
    lab.sh("server", f"systemctl stop {LISTENER_UNIT} 2>/dev/null || true", check=False)
    for host in ("server", "client"):
        _write_config(lab, host, second_tunnel["configs"][host])
        _start(lab, host)
    lab.wait_for_handshake("client", SERVER_ADDRESS)


def _diagnose(lab, tmp_path, tunnel) -> dict:
    """report.json's diagnosis; a report that also carries a second pass keeps the first under `before`."""
    report = lab.diagnose(tmp_path)
    text = json.dumps(report) + lab.last_run.stdout + lab.last_run.stderr
    for secret in tunnel["secrets"]:
        assert secret not in text, "a private key of wg7 appears in the playbook output or the report"
    return report if "findings" in report else dict(report["before"], healthy=report["healthy"])


def _one(report: dict, code: str, host: str) -> dict:
    summary = [(f["severity"], f["code"], f["host"], f["interface"]) for f in report["findings"]]
    found = [f for f in report["findings"] if f["code"] == code and f["host"] == host and f["interface"] == IFACE]
    assert len(found) == 1, f"expected one {code} on {host}/{IFACE}: {summary}"
    return found[0]


def _assert_root_cause(report: dict, code: str, host: str, first: str | None = None) -> dict:
    """`code` on host/wg7, first among the critical findings (or right after `first`), interface_down following from it."""
    finding = _one(report, code, host)
    assert finding["severity"] == "critical" and finding["remedy"] is None
    critical = [(f["code"], f["host"], f["interface"]) for f in report["findings"] if f["severity"] == "critical"]
    expected = [(first, host, IFACE), (code, host, IFACE)] if first else [(code, host, IFACE)]
    assert critical[:len(expected)] == expected, f"the start failure is not the first critical finding: {critical}"
    down = _one(report, "interface_down", host)
    assert down["follows_from"] == [code] and down["remedy"] is None, down
    # The baseline tunnel is untouched: nothing is said about wg0.
    assert not [f for f in report["findings"] if f["interface"] == "wg0" and f["severity"] in ("critical", "error")]
    assert report["healthy"] is False
    return finding


def test_the_lab_image_has_no_resolvconf(lab):
    assert lab.sh("server", "command -v resolvconf", check=False).returncode != 0


def test_dns_line_on_a_host_without_resolvconf(lab, broken, tmp_path):
    lab.sh("server", f"sed -i '/^ListenPort/a DNS = 10.97.0.53' {CONF}")
    _start(lab, "server", check=False)
    assert lab.sh("server", f"ip link show {IFACE}", check=False).returncode != 0, "wg-quick up was expected to fail"
    finding = _assert_root_cause(_diagnose(lab, tmp_path, broken), "dns_without_resolvconf", "server")
    assert finding["evidence"][0] == f"{CONF}:5: DNS = 10.97.0.53"
    assert any(line.endswith("resolvconf: command not found") for line in finding["evidence"]), finding["evidence"]


def test_udp_listener_started_on_the_port_before_wg_quick(lab, broken, tmp_path):
    lab.sh("server", f"systemctl stop wg-quick@{IFACE} && systemd-run --unit={LISTENER_UNIT} python3 -c "
                     f"\"import socket, time; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
                     f"s.bind(('0.0.0.0', {PORT})); time.sleep(3600)\" && sleep 1 && ss -H -uanp | grep -q ':{PORT} '")
    _start(lab, "server", check=False)
    finding = _assert_root_cause(_diagnose(lab, tmp_path, broken), "listen_port_in_use", "server")
    assert finding["evidence"][0].startswith(f"server: ss -uanp: UDP 0.0.0.0:{PORT} held by python3 (pid "), finding["evidence"]
    assert "Address already in use" in finding["evidence"][-1], finding["evidence"]


def test_endpoint_name_that_does_not_resolve(lab, broken, tmp_path):
    lab.sh("client", f"sed -i 's/^Endpoint = .*/Endpoint = nosuchhost.wgdoctor.test:{PORT}/' {CONF}")
    _start(lab, "client", check=False)
    # The name is named once, with what it did to wg-quick up (endpoint_unresolvable is for a running interface).
    finding = _assert_root_cause(_diagnose(lab, tmp_path, broken), "start_endpoint_unresolvable", "client")
    assert f"Endpoint = nosuchhost.wgdoctor.test:{PORT}" in finding["evidence"][0], finding["evidence"]
    assert "as a whole" in finding["summary"]


def test_any_other_failure_quotes_the_units_journal(lab, broken, tmp_path):
    lab.sh("server", f"sed -i '/^ListenPort/a PreUp = false' {CONF}")
    _start(lab, "server", check=False)
    finding = _assert_root_cause(_diagnose(lab, tmp_path, broken), "interface_start_failed", "server")
    assert finding["evidence"][0] == f"unit wg-quick@{IFACE}: failed"
    assert any(line.endswith("[#] false") for line in finding["evidence"]), finding["evidence"]
