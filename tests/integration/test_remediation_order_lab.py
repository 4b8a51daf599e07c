"""Remediation on a tunnel that is not wg0:51820, with the client's interface down and the preshared keys different
(issue #11 items 3, 4, 1).

The lab's tunnel is moved to an interface of another name on each end (wgsrv8 on the server, wgcli8 on the client)
and to UDP 51777. The client's interface is left down and each end holds its own PresharedKey. The report puts
interface_down (the root cause) before preshared_key_mismatch, both remedied on the client: the service role must
start wgcli8 before the peer role reads the client's public key from it and copies the server's PresharedKey from
wgsrv8 - the interface the remedy names, not the client's name looked up on the server. After
`diagnose.yml -e wg_remediate=true` the tunnel handshakes and pings, and no key is in the output or the report.
"""
from __future__ import annotations

import hashlib
import json
import re

import pytest

SERVER_IF, CLIENT_IF, PORT = "wgsrv8", "wgcli8", 51777
HEALTHY = "/root/wg0.conf.healthy"  # conftest's Lab.deploy_healthy keeps the baseline there


def _recap(output: str, host: str) -> dict[str, int]:
    for line in output.splitlines():
        words = line.split()
        if words[:2] == [host, ":"]:
            return dict((k, int(v)) for k, v in (w.split("=") for w in words[2:] if "=" in w))
    raise AssertionError("no PLAY RECAP line for %s" % host)


def _secrets(lab) -> list[str]:
    """The private and preshared keys the two ends hold now (compared, never printed)."""
    found = []
    for host, interface in (("server", SERVER_IF), ("client", CLIENT_IF)):
        dump = lab.sh(host, "wg show %s dump 2>/dev/null || true" % interface, check=False).stdout
        for line in dump.splitlines():
            fields = line.split("\t")
            if len(fields) == 4 and fields[0] != "(none)":
                found.append(fields[0])  # the interface line: private key first
            elif len(fields) == 8 and fields[1] != "(none)":
                found.append(fields[1])  # a peer line: its preshared key
        config = lab.sh(host, "cat /etc/wireguard/%s.conf 2>/dev/null || true" % interface, check=False).stdout
        found += [m.group(1) for m in re.finditer(r"^\s*(?:PrivateKey|PresharedKey)\s*=\s*(\S+)", config, re.M)]
    return found


def _psk_digest(lab, host: str, interface: str) -> str:
    keys = lab.sh(host, "wg show %s preshared-keys" % interface).stdout.split()
    return hashlib.sha256(" ".join(keys[1::2]).encode()).hexdigest()


@pytest.fixture
def renamed_tunnel(lab):
    """The baseline tunnel as wgsrv8 / wgcli8 on UDP 51777, the client's end down, different PSKs; undone after."""
    lab.wait_for_handshake()
    psk_line = 'sed -i "/^PublicKey/a PresharedKey = $(wg genpsk)" /etc/wireguard/%s.conf'
    lab.sh("server", "systemctl stop wg-quick@wg0 && rm -f /etc/wireguard/wg0.conf && umask 077 && "
                     "sed 's/^ListenPort = 51820$/ListenPort = %d/' %s > /etc/wireguard/%s.conf && "
                     "grep -q '^ListenPort = %d$' /etc/wireguard/%s.conf && " % (PORT, HEALTHY, SERVER_IF, PORT, SERVER_IF)
           + psk_line % SERVER_IF + " && systemctl start wg-quick@%s" % SERVER_IF)
    lab.sh("client", "systemctl stop wg-quick@wg0 && rm -f /etc/wireguard/wg0.conf && umask 077 && "
                     "sed 's/:51820$/:%d/' %s > /etc/wireguard/%s.conf && grep -q ':%d$' /etc/wireguard/%s.conf && "
                     % (PORT, HEALTHY, CLIENT_IF, PORT, CLIENT_IF) + psk_line % CLIENT_IF)
    try:
        yield lab
    finally:
        for host, interface in (("server", SERVER_IF), ("client", CLIENT_IF)):
            lab.sh(host, "systemctl disable --now --quiet wg-quick@%s; rm -f /etc/wireguard/%s.conf /etc/wireguard/%s.conf.*"
                   % (interface, interface, interface), check=False)
        lab.back_to_healthy()


def test_root_cause_first_and_the_psk_copied_from_the_other_ends_own_interface(renamed_tunnel, tmp_path):
    lab = renamed_tunnel
    assert lab.sh("server", "ss -Huln 'sport = :%d'" % PORT).stdout.strip(), "the server does not listen on %d" % PORT
    assert lab.sh("client", "wg show %s" % CLIENT_IF, check=False).returncode != 0, "the client's end is not down"

    report = lab.diagnose(tmp_path, "-e", "wg_remediate=true")
    output = lab.last_run.stdout + lab.last_run.stderr

    by_code = dict((f["code"], f) for f in report["before"]["findings"] if f["host"] == "client")
    assert {"interface_down", "preshared_key_mismatch"} <= set(by_code), [(f["code"], f["host"]) for f in report["before"]["findings"]]
    assert by_code["interface_down"]["remedy"]["vars"] == {"service_interface": CLIENT_IF}
    psk_vars = by_code["preshared_key_mismatch"]["remedy"]["vars"]
    assert (psk_vars["peer_interface"], psk_vars["peer_preshared_key_from_host"], psk_vars["peer_preshared_key_from_interface"]) \
        == (CLIENT_IF, "server", SERVER_IF)
    codes = [f["code"] for f in report["before"]["findings"]]
    assert codes.index("interface_down") < codes.index("preshared_key_mismatch"), codes

    # Report order: the service role on the client ran before the peer role, and no remedy failed or was rescued.
    service = output.find("TASK [wgdoctor.wireguard.service : ")
    peer = output.find("TASK [wgdoctor.wireguard.peer : ")
    assert 0 <= service < peer, output[-6000:]
    assert _recap(output, "client")["failed"] == 0 and _recap(output, "client")["rescued"] == 0, output[-6000:]
    assert "Could not read the PresharedKeys" not in output

    # The tunnel works on the names and port it has: a fresh handshake, pings both ways, one PSK on both ends.
    lab.wait_for_handshake("client", "10.99.0.1")
    lab.wait_for_handshake("server", "10.99.0.2")
    handshakes = lab.sh("client", "wg show %s latest-handshakes" % CLIENT_IF).stdout.split()
    assert len(handshakes) == 2 and int(handshakes[1]) > 0
    assert _psk_digest(lab, "client", CLIENT_IF) == _psk_digest(lab, "server", SERVER_IF)
    assert lab.sh("server", "ss -Huln 'sport = :51820'").stdout.strip() == "", "something listens on 51820"
    assert lab.sh("client", "systemctl is-enabled wg-quick@%s" % CLIENT_IF).stdout.strip() == "enabled"

    secrets = _secrets(lab)
    assert len(secrets) >= 4
    report_text = json.dumps(report)
    for secret in secrets:
        assert secret not in output and secret not in report_text, "a private or preshared key reached the output or the report"
