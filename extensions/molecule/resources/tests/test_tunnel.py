"""The baseline tunnel works: a recent handshake, bytes received, ping both ways.

testinfra's podman backend talks to the lab containers directly (about ten
times faster than going through Ansible for every command).
"""
from __future__ import annotations

import os
import sys
import time

import pytest
import testinfra

PREFIX = os.environ.get("WGD_LAB_PREFIX", "wgd")
# The lab's own addressing (tests/lab/lab.py), for the WGD_LAB_INDEX this run uses.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "tests", "lab"))
import lab as _lab  # noqa: E402  pylint: disable=wrong-import-position

PUBLIC_NET = _lab.PUB
TUNNEL_ADDRESS = {"server": "10.99.0.1", "client": "10.99.0.2"}
OTHER_END = {"server": "client", "client": "server"}


def lab_host(role: str):
    return testinfra.get_host(f"podman://{PREFIX}-{role}")


def wg_dump_peers(host) -> list[dict]:
    """Peers of wg0 from `wg show all dump` (the interface line holds the private key: skipped, never printed)."""
    peers = []
    for line in host.check_output("wg show all dump").splitlines():
        fields = line.split("\t")
        if len(fields) == 9 and fields[0] == "wg0":
            peers.append({"endpoint": fields[3], "latest_handshake": int(fields[5]), "transfer_rx": int(fields[6])})
    return peers


@pytest.mark.parametrize("role", ["client", "server"])
def test_ping_through_tunnel_reaches_other_end(role):
    host = lab_host(role)
    target = TUNNEL_ADDRESS[OTHER_END[role]]
    result = host.run(f"ping -c 3 -i 0.3 -W 2 {target}")
    assert result.rc == 0, f"{role} cannot ping {target} through wg0: {result.stdout}{result.stderr}"


@pytest.mark.parametrize("role", ["client", "server"])
def test_handshake_is_recent_and_bytes_flowed(role):
    host = lab_host(role)
    # The ping test above sent traffic; a handshake may still take one REKEY_TIMEOUT.
    deadline = time.monotonic() + 12
    while True:
        peers = wg_dump_peers(host)
        assert len(peers) == 1, f"{role}: expected exactly one peer, got {len(peers)}"
        latest_handshake, rx = peers[0]["latest_handshake"], peers[0]["transfer_rx"]
        if latest_handshake or time.monotonic() > deadline:
            break
        time.sleep(1)
    now = int(host.check_output("date +%s"))
    assert latest_handshake > 0, f"{role}: latest handshake (none)"
    assert now - latest_handshake < 180, f"{role}: handshake {now - latest_handshake} s old"
    assert rx > 0, f"{role}: no bytes received from the peer"


def test_client_endpoint_came_from_the_server_name():
    client = lab_host("client")
    config = client.file("/etc/wireguard/wg0.conf").content_string
    assert "Endpoint = vpn.wgdoctor.test:51820" in config
    endpoint = wg_dump_peers(client)[0]["endpoint"]
    assert endpoint == f"{PUBLIC_NET}.10:51820"


def test_server_sees_client_through_the_nat_router():
    server = lab_host("server")
    endpoint = wg_dump_peers(server)[0]["endpoint"]
    assert endpoint.startswith(f"{PUBLIC_NET}.2:"), f"server sees the client at {endpoint}, not the router's address"


@pytest.mark.parametrize("role", ["client", "server"])
def test_wg_quick_unit_is_enabled_and_active(role):
    service = lab_host(role).service("wg-quick@wg0")
    assert service.is_enabled
    assert service.is_running
