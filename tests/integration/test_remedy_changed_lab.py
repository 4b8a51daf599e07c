"""report.json says whether each remedy changed something (issue #13): changed on the run that fixed the fault,
unchanged on a second run whose remedy finds everything it would do already done.

The lab's tunnel is moved to wgsrv6 / wgcli6 on UDP 51766, the server holding a second peer besides the client,
and the client's end is left down: one remedy, the service role on the client. The first
`diagnose.yml -e wg_remediate=true` starts it (changed: true). Then the client's link is set down by hand while
its unit stays active: the second run names interface_down again and its remedy, the unit already started and
enabled, changes nothing (changed: false).
"""
from __future__ import annotations

import base64
import os
import secrets

import pytest

SERVER_IF, CLIENT_IF, PORT = "wgsrv6", "wgcli6", 51766
HEALTHY = "/root/wg0.conf.healthy"  # conftest's Lab.deploy_healthy keeps the baseline there


@pytest.fixture
def client_end_down(lab):
    """The baseline tunnel as wgsrv6 / wgcli6 on UDP 51766, a second peer on the server, the client's end down."""
    lab.wait_for_handshake()
    second_peer = base64.b64encode(secrets.token_bytes(32)).decode()
    lab.sh("server", "systemctl stop wg-quick@wg0 && rm -f /etc/wireguard/wg0.conf && umask 077 && "
                     "sed 's/^ListenPort = 51820$/ListenPort = %d/' %s > /etc/wireguard/%s.conf && "
                     "grep -q '^ListenPort = %d$' /etc/wireguard/%s.conf && "
                     "printf '\\n[Peer]\\nPublicKey = %s\\nAllowedIPs = 10.99.0.66/32\\n' >> /etc/wireguard/%s.conf && "
                     "systemctl start wg-quick@%s" % (PORT, HEALTHY, SERVER_IF, PORT, SERVER_IF, second_peer, SERVER_IF, SERVER_IF))
    lab.sh("client", "systemctl stop wg-quick@wg0 && systemctl disable --quiet wg-quick@wg0; rm -f /etc/wireguard/wg0.conf && "
                     "umask 077 && sed 's/:51820$/:%d/' %s > /etc/wireguard/%s.conf && grep -q ':%d$' /etc/wireguard/%s.conf"
                     % (PORT, HEALTHY, CLIENT_IF, PORT, CLIENT_IF))
    try:
        yield lab
    finally:
        for host, interface in (("server", SERVER_IF), ("client", CLIENT_IF)):
            lab.sh(host, "systemctl disable --now --quiet wg-quick@%s; rm -f /etc/wireguard/%s.conf /etc/wireguard/%s.conf.*"
                   % (interface, interface, interface), check=False)
        lab.sh("client", "systemctl enable --quiet wg-quick@wg0", check=False)
        lab.back_to_healthy()


def test_the_remedy_that_started_the_interface_changed_it_and_the_same_remedy_again_changes_nothing(client_end_down, tmp_path):
    lab = client_end_down
    assert lab.sh("client", "wg show %s" % CLIENT_IF, check=False).returncode != 0, "the client's end is not down"

    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()
    first = lab.diagnose(tmp_path / "first", "-e", "wg_remediate=true")
    runs = [(r["host"], r["role"], r["changed"], r["failed"]) for r in first["remediation"]["remedies"]]
    assert ("client", "wgdoctor.wireguard.service", True, False) in runs, runs
    assert all(r["changed"] is not None for r in first["remediation"]["remedies"]), runs
    assert first["healthy"], first["after"]["findings"]
    lab.wait_for_handshake("client", "10.99.0.1")

    # The link set down by hand while wg-quick@wgcli6 stays active: interface_down again, and its remedy (start and
    # enable the unit) finds the unit started and enabled already. It changes nothing, and the report says so.
    lab.sh("client", "ip link set %s down && systemctl is-active --quiet wg-quick@%s" % (CLIENT_IF, CLIENT_IF))
    second = lab.diagnose(tmp_path / "second", "-e", "wg_remediate=true")
    assert "interface_down" in [f["code"] for f in second["before"]["findings"] if f["host"] == "client"]
    again = [(r["host"], r["role"], r["changed"], r["failed"]) for r in second["remediation"]["remedies"]]
    assert ("client", "wgdoctor.wireguard.service", False, False) in again, again
    assert all(r["changed"] is False for r in second["remediation"]["remedies"]), again
    assert "unchanged (already as wanted)" in open(os.path.join(str(tmp_path / "second"), "wg-report", "report.md")).read()
