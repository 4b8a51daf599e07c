"""The host commands wg_facts reads, replayed from outputs recorded in network namespaces (fixtures/record*.sh)."""
from __future__ import annotations

import os

import pytest

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.host import system as wg_system

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


def read(name: str) -> str:
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


def test_wireguard_go_socket_on_the_listen_port_counts_as_listening():
    sockets = wg_system.parse_ss_udp(read("ss_uanp_server.txt"))
    assert {(sock["local_address"], sock["port"], sock["process"]) for sock in sockets} == {
        ("0.0.0.0", 51831, "wireguard-go"), ("::", 51831, "wireguard-go")}
    assert wg_system.udp_port_bound(sockets, 51831) is True
    assert wg_system.udp_port_bound(sockets, 51820) is False


def test_stopped_interface_leaves_nothing_bound():
    sockets = wg_system.parse_ss_udp(read("ss_uanp_client_stopped.txt"))
    assert sockets == [] and wg_system.udp_port_bound(sockets, 51831) is False


def test_kernel_wireguard_socket_has_no_process_but_is_bound():
    sockets = wg_system.parse_ss_udp("UNCONN 0      0            0.0.0.0:51820      0.0.0.0:*\n")
    assert sockets[0]["process"] is None and wg_system.udp_port_bound(sockets, 51820)


def test_garbage_from_ss_is_a_value_error_with_the_line():
    with pytest.raises(ValueError, match="line 2"):
        wg_system.parse_ss_udp("UNCONN 0 0 0.0.0.0:1 0.0.0.0:*\nnonsense\n")


def test_addresses_and_link_state_of_the_server():
    parsed = wg_system.parse_ip_addr(read("ip_addr_server.json"))
    assert {"interface": "wgF0", "address": "10.99.31.1", "prefixlen": 24, "family": 4, "dynamic": False} in parsed["addresses"]
    assert {"interface": "vfacts1", "address": "10.200.31.1", "prefixlen": 24, "family": 4, "dynamic": False} in parsed["addresses"]
    assert parsed["links"]["wgF0"]["up"] is True


def test_link_set_down_shows_as_not_up_although_wireguard_go_still_runs():
    parsed = wg_system.parse_ip_addr(read("ip_addr_link_down_server.json"))
    assert parsed["links"]["wgF0"]["up"] is False


def test_ip_addr_garbage_is_a_value_error():
    with pytest.raises(ValueError, match="not JSON"):
        wg_system.parse_ip_addr("Device \"wg0\" does not exist.")


def test_peer_allowed_ip_is_carried_by_the_wireguard_interface():
    table = wg_system.RouteTable(wg_system.parse_ip_routes(read("ip_route_all_server.json")))
    assert table.route_for("10.99.31.2/32", "wgF0") == {"dev": "wgF0", "via": None, "table": "main"}
    # Nothing routes the 1000 peers' 10.100.x.y addresses: the diagnosis will say no_route_for_allowed_ips.
    assert table.route_for("10.100.0.55/32", "wgF0") is None


def test_full_tunnel_default_route_lives_in_wg_quick_table_51820():
    routes = wg_system.parse_ip_routes(read("ip4_route_all_full_tunnel.json"), 4)
    routes += wg_system.parse_ip_routes(read("ip6_route_all_full_tunnel.json"), 6)
    table = wg_system.RouteTable(routes)
    assert table.route_for("0.0.0.0/0", "wgF3") == {"dev": "wgF3", "via": None, "table": "51820"}
    assert table.route_for("::/0", "wgF3") == {"dev": "wgF3", "via": None, "table": "51820"}
    # Seen from main alone, the default goes out of the uplink.
    assert table.route_for("0.0.0.0/0", "") == {"dev": "vfacts3", "via": "10.200.33.1", "table": "main"}


def test_allowed_ips_routed_elsewhere_report_where_they_go():
    routes = wg_system.parse_ip_routes('[{"dst":"default","gateway":"192.0.2.1","dev":"eth0"},'
                                       '{"dst":"10.0.0.0/8","dev":"eth1"},{"type":"unreachable","dst":"10.9.0.0/16"}]')
    table = wg_system.RouteTable(routes)
    assert table.route_for("10.1.2.3/32", "wg0") == {"dev": "eth1", "via": None, "table": "main"}
    assert table.route_for("10.9.1.0/24", "wg0") == {"dev": None, "via": None, "table": "main"}
    assert table.route_for("192.168.0.0/16", "wg0")["dev"] == "eth0"


def test_forwarding_sysctls_as_recorded():
    values = wg_system.parse_sysctl(read("sysctl_forwarding.txt"))
    assert wg_system.sysctl_flag(values, "net.ipv4.ip_forward") is True
    assert wg_system.sysctl_flag(values, "net.ipv6.conf.all.forwarding") is False
    assert wg_system.sysctl_flag(values, "net.ipv6.conf.all.nonexistent") is None


def test_clock_sync_is_unknown_without_systemd():
    assert wg_system.parse_timedatectl(read("timedatectl_no_systemd.txt")) is None
    assert wg_system.parse_timedatectl("Timezone=UTC\nNTP=yes\nNTPSynchronized=no\n") is False
    assert wg_system.parse_timedatectl("NTPSynchronized=yes\n") is True


def test_unit_state_of_wg_quick():
    unit = wg_system.parse_systemctl_show("ActiveState=failed\nUnitFileState=enabled\n", "wg-quick@wg0")
    assert unit == {"name": "wg-quick@wg0", "enabled": True, "active": "failed"}
    unit = wg_system.parse_systemctl_show("ActiveState=inactive\nUnitFileState=disabled\n", "wg-quick@wg0")
    assert unit["enabled"] is False and unit["active"] == "inactive"
    assert wg_system.parse_systemctl_show("System has not been booted with systemd", "x") is None


def test_tool_versions():
    assert wg_system.parse_wg_version(read("wg_version.txt")) == "v1.0.20210914"
    go = "wireguard-go v0.0.20220316\n\nUserspace WireGuard daemon for linux-amd64.\n"
    assert wg_system.parse_wireguard_go_version(go) == "0.0.20220316"
    assert wg_system.parse_wg_version("bash: wg: command not found") is None


def test_wireguard_go_interface_is_found_by_its_socket_and_process():
    userspace = wg_system.userspace_interfaces(["wgF0.sock", "other.txt"], [["/usr/bin/wireguard-go", "wgF0"], ["sshd"]])
    assert userspace == {"wgF0": "wireguard-go"}
    assert wg_system.detect_implementation(["wgF0"], userspace, False, {"wireguard-go": True}) == "wireguard-go"


@pytest.mark.parametrize("running,userspace,module,binaries,expected", [
    (["wg0"], {}, True, {}, "kernel"),
    (["wg0"], {"wg0": "boringtun"}, False, {"boringtun": True}, "boringtun"),
    (["wg0"], {"wg0": "unknown"}, False, {"wireguard-go": True}, "wireguard-go"),
    ([], {}, True, {"wireguard-go": True}, "kernel"),
    ([], {}, False, {"wireguard-go": True}, "wireguard-go"),
    ([], {}, False, {}, "none"),
])
def test_which_implementation_runs(running, userspace, module, binaries, expected):
    assert wg_system.detect_implementation(running, userspace, module, binaries) == expected


def test_a_dhcp_lease_is_marked_dynamic():
    text = ('[{"ifname": "eth0", "flags": ["UP"], "addr_info": [{"family": "inet", "local": "192.0.2.7", '
            '"prefixlen": 24, "dynamic": true, "valid_life_time": 3500}]}]')
    parsed = wg_system.parse_ip_addr(text)
    assert parsed["addresses"] == [{"interface": "eth0", "address": "192.0.2.7", "prefixlen": 24, "family": 4, "dynamic": True}]
