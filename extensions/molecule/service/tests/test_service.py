"""After the service role: wg-quick@wg0 runs on the server, starts at boot, and the tunnel carries
traffic, also after the server reboots (the module-scoped `rebooted_server`: those tests come last)."""
from __future__ import annotations

from conftest import tunnel_works


def unit_state(host) -> tuple[str, str]:
    return (host.run("systemctl is-active wg-quick@wg0").stdout.strip(), host.run("systemctl is-enabled wg-quick@wg0").stdout.strip())


def assert_wg0_is_up_with_its_peer(host) -> None:
    flags = host.check_output("ip -o link show dev wg0")
    assert ",UP," in flags or "<UP," in flags, f"wg0 is not up: {flags}"
    assert host.check_output("wg show wg0 listen-port").strip() == "51820"
    assert host.run("wg show wg0 peers").stdout.strip(), "wg0 has no peer on the server"


def test_server_unit_is_active_and_enabled(server):
    assert unit_state(server) == ("active", "enabled")


def test_server_interface_is_up_with_its_peer(server):
    assert_wg0_is_up_with_its_peer(server)


def test_client_pings_server_through_the_tunnel(client):
    # The client's keepalive re-handshakes within one REKEY_TIMEOUT: retry briefly.
    result = client.run("for i in 1 2 3 4 5 6 7 8 9 10; do ping -c 1 -W 2 10.99.0.1 && exit 0; done; exit 1")
    assert result.rc == 0, result.stdout


def test_server_pings_client_through_the_tunnel(server):
    result = server.run("for i in 1 2 3 4 5; do ping -c 1 -W 2 10.99.0.2 && exit 0; done; exit 1")
    assert result.rc == 0, result.stdout


# ---- after a reboot of the server: only what the role persisted is left

def test_after_a_reboot_the_unit_is_active_and_enabled(rebooted_server):
    assert unit_state(rebooted_server) == ("active", "enabled")


def test_after_a_reboot_wg0_is_up_with_its_peer(rebooted_server):
    assert_wg0_is_up_with_its_peer(rebooted_server)


def test_after_a_reboot_the_tunnel_works_both_ways(rebooted_server):
    assert tunnel_works(timeout=120), "after a reboot of the server the client cannot ping 10.99.0.1 through wg0"
    result = rebooted_server.run("for i in 1 2 3 4 5; do ping -c 1 -W 2 10.99.0.2 && exit 0; done; exit 1")
    assert result.rc == 0, result.stdout
