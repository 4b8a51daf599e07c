"""udp_probe against the real wireguard-go of the lab server, from the NATed client.

Each case sets up the condition on the server (or the router) the way it happens in real
life, probes with an ephemeral probe key registered as a peer without allowed IPs, and
checks the outcome. After each case the real tunnel still has its endpoint and still pings.
"""
from __future__ import annotations

import json
import subprocess
import time

import pytest

from conftest import lab_env

NFT_INPUT = ("nft add table inet filter && "
             "nft add chain inet filter input '{ type filter hook input priority 0; policy accept; }' && ")


def run_module(lab, host: str, module: str, args: dict, background: bool = False):
    """Run one module on a lab host ad hoc; the result as a dict (or the Popen when background)."""
    argv = ["ansible", "-i", lab.inventory, host, "-m", module, "-a", json.dumps(args), "-o"]
    if background:
        return subprocess.Popen(argv, env=lab_env(), text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc = subprocess.run(argv, env=lab_env(), text=True, capture_output=True, check=False)
    return parse_result(proc.stdout)


def parse_result(stdout: str) -> dict:
    line = next(line for line in stdout.splitlines() if " => " in line)
    return json.loads(line.split(" => ", 1)[1])


@pytest.fixture
def probe_peer(lab):
    """An ephemeral probe key registered on the server as a peer with no allowed IPs, removed afterwards."""
    private = lab.sh("server", "wg genkey").stdout.strip()
    public = lab.sh("server", f"echo {private} | wg pubkey").stdout.strip()
    lab.sh("server", f"wg set wg0 peer {public}")
    server_key = lab.sh("server", "wg show wg0 public-key").stdout.strip()
    lab.wait_for_handshake()
    endpoint_before = lab.sh("server", "wg show wg0 endpoints").stdout
    yield {"private": private, "public": public, "server_key": server_key}
    lab.sh("server", f"wg set wg0 peer {public} remove", check=False)
    # The probe never disturbs the real peer: same endpoint on the server, pings still answered.
    real_peer_line = [line for line in endpoint_before.splitlines() if public not in line]
    lab.wait_for_handshake()
    endpoint_after = lab.sh("server", "wg show wg0 endpoints").stdout
    assert real_peer_line and real_peer_line[0] in endpoint_after, "the probe moved the real client's endpoint"


def probe(lab, peer, port=51820, responder_key=None, **extra) -> dict:
    args = {"host": lab.vars["lab_server_address"], "port": port,
            "responder_public_key": responder_key or peer["server_key"], "private_key": peer["private"],
            "timeout": 1.0, "retries": 1}
    args.update(extra)
    return run_module(lab, "client", "wgdoctor.wireguard.udp_probe", args)


def test_probe_gets_a_verified_response(lab, probe_peer):
    result = probe(lab, probe_peer)
    assert result["outcome"] == "ok", result
    assert result["rtt_ms"] > 0 and result["backend"]
    assert probe_peer["private"] not in json.dumps(result)


def test_different_preshared_key_is_auth_failed(lab, probe_peer):
    lab.sh("server", f"wg genpsk > /tmp/probe.psk && wg set wg0 peer {probe_peer['public']} preshared-key /tmp/probe.psk")
    assert probe(lab, probe_peer)["outcome"] == "auth_failed"


@pytest.mark.parametrize("rule, outcome", [
    ("iptables -I INPUT -p udp --dport 51820 -j DROP", "timeout"),
    (NFT_INPUT + "nft add rule inet filter input udp dport 51820 drop", "timeout"),
    ("iptables -I INPUT -p udp --dport 51820 -j REJECT", "refused"),
    ("iptables -I INPUT -p udp --dport 51820 -j REJECT --reject-with icmp-admin-prohibited", "unreachable"),
], ids=["iptables-drop", "nftables-drop", "iptables-reject", "reject-admin-prohibited"])
def test_server_firewall_verdicts(lab, probe_peer, rule, outcome):
    lab.sh("server", rule)
    try:
        assert probe(lab, probe_peer)["outcome"] == outcome
    finally:
        lab.sh("server", "iptables -F INPUT || true; nft delete table inet filter 2>/dev/null || true")


def test_nothing_listening_is_refused(lab, probe_peer):
    assert probe(lab, probe_peer, port=51999)["outcome"] == "refused"


def test_wrong_responder_key_is_a_silent_timeout(lab, probe_peer):
    stranger = lab.sh("server", "wg genkey | wg pubkey").stdout.strip()
    result = probe(lab, probe_peer, responder_key=stranger)
    assert result["outcome"] == "timeout" and result["attempts"] == 2


def _listen_then_probe(lab, peer) -> list:
    listener = run_module(lab, "server", "wgdoctor.wireguard.udp_probe", {"mode": "listen", "port": 51820, "duration": 6},
                          background=True)
    time.sleep(2.5)  # the listener's module start-up through podman
    result = probe(lab, peer)
    stdout, _stderr = listener.communicate(timeout=60)
    return result, parse_result(stdout)


def test_listener_sees_the_probe_that_the_host_firewall_drops(lab, probe_peer):
    lab.sh("server", NFT_INPUT + "nft add rule inet filter input udp dport 51820 drop")
    try:
        result, seen = _listen_then_probe(lab, probe_peer)
    finally:
        lab.sh("server", "nft delete table inet filter")
    assert result["outcome"] == "timeout"
    assert seen["count"] >= 1, seen


def test_listener_sees_nothing_when_the_router_filters_upstream(lab, probe_peer):
    lab.sh("router", "nft add rule inet lab_upstream forward udp dport 51820 drop")
    try:
        result, seen = _listen_then_probe(lab, probe_peer)
    finally:
        lab.sh("router", "nft flush chain inet lab_upstream forward")
    assert result["outcome"] == "timeout"
    assert seen["count"] == 0, seen
