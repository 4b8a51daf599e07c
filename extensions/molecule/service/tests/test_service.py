"""After the service role: wg-quick@wg0 runs on the server, starts at boot, and the tunnel carries traffic."""
from __future__ import annotations

import os

import testinfra

PREFIX = os.environ.get("WGD_LAB_PREFIX", "wgd")


def lab_host(role: str):
    return testinfra.get_host(f"podman://{PREFIX}-{role}")


def test_server_unit_is_active_and_enabled():
    server = lab_host("server")
    assert server.run("systemctl is-active wg-quick@wg0").stdout.strip() == "active"
    assert server.run("systemctl is-enabled wg-quick@wg0").stdout.strip() == "enabled"


def test_server_interface_is_up_with_its_peer():
    server = lab_host("server")
    assert server.run("wg show wg0 peers").stdout.strip(), "wg0 has no peer on the server"


def test_client_pings_server_through_the_tunnel():
    # The client's keepalive re-handshakes within one REKEY_TIMEOUT: retry briefly.
    result = lab_host("client").run("for i in 1 2 3 4 5 6 7 8 9 10; do ping -c 1 -W 2 10.99.0.1 && exit 0; done; exit 1")
    assert result.rc == 0, result.stdout


def test_server_pings_client_through_the_tunnel():
    result = lab_host("server").run("for i in 1 2 3 4 5; do ping -c 1 -W 2 10.99.0.2 && exit 0; done; exit 1")
    assert result.rc == 0, result.stdout
