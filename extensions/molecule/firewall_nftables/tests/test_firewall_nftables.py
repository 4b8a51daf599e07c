"""The server's nftables ruleset dropped WireGuard; after the firewall role the tunnel works again,
SSH is still allowed, nothing of the host's own ruleset was rewritten, and a reboot keeps it so."""
from __future__ import annotations

import json
import os
import sys

from conftest import tunnel_works

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from forward_paths import (  # noqa: E402  pylint: disable=wrong-import-position
    packets_forwarded_into_the_tunnel_from_the_uplink, server_routes_between_tunnel_and_uplink, tunnel_client_reaches_the_uplink)

PORT = 51820
# The lab cannot enter a plain `unshare -n` (no CAP_SYS_ADMIN in the container): a user namespace of its own
# gives the same empty network namespace, which is what boot loads the config into.
EMPTY_NETNS = "unshare -Urn"


def input_rules(host) -> list[dict]:
    listing = json.loads(host.check_output("nft -j list chain inet filter input"))["nftables"]
    return [item["rule"] for item in listing if "rule" in item]


def is_our_accept(rule: dict) -> bool:
    expr = json.dumps(rule["expr"])
    return rule.get("comment") == "wgdoctor" and f'"right": {PORT}' in expr and '"accept"' in expr


def assert_accept_is_first_and_host_rules_kept(host) -> None:
    rules = input_rules(host)
    assert rules, "inet filter input has no rules at all"
    assert is_our_accept(rules[0]), f"the first rule of inet filter input is not our accept: {rules[0]}"
    listing = host.check_output("nft list chain inet filter input")
    assert "tcp dport 22 accept" in listing, "the SSH accept is gone"
    assert "udp dport 51820 drop" in listing, "the host's own drop rule was removed (we must only insert)"
    assert sum(1 for rule in rules if is_our_accept(rule)) == 1, "our accept was inserted more than once"


def test_client_reaches_server_through_the_tunnel():
    assert tunnel_works(), "the client cannot ping 10.99.0.1 through wg0: UDP 51820 is still dropped"


def test_accept_sits_above_the_drop_and_ssh_stays_open(server):
    assert_accept_is_first_and_host_rules_kept(server)


def test_forward_opens_only_the_tunnel_subnet_out_and_replies_back(server):
    forward = server.check_output("nft list chain inet filter forward")
    assert 'iifname "wg0" oifname "eth0" ip saddr 10.99.0.0/24 accept comment "wgdoctor"' in forward, forward
    assert 'iifname "eth0" oifname "wg0" ct state established,related accept comment "wgdoctor"' in forward, forward
    assert 'oifname "wg0" accept' not in forward, f"an unconditional accept into the tunnel:\n{forward}"
    assert 'iifname "wg0" accept' not in forward, f"an unconditional accept out of the tunnel:\n{forward}"


def test_tunnel_client_gets_out_through_the_uplink_but_the_uplink_cannot_reach_into_the_tunnel():
    with server_routes_between_tunnel_and_uplink():
        assert tunnel_client_reaches_the_uplink(), "the client's traffic is not forwarded out of eth0 (or the reply not back)"
        forwarded = packets_forwarded_into_the_tunnel_from_the_uplink()
        assert forwarded == 0, f"the server forwarded {forwarded} new packet(s) from a neighbour on eth0 into wg0"


def test_masquerade_table(server):
    nat = server.check_output("nft list table ip wgdoctor_nat_wg0")
    assert 'ip saddr 10.99.0.0/24 oifname "eth0" masquerade' in nat


def test_boot_config_includes_the_drop_in_after_the_tables(server):
    conf = server.file("/etc/nftables.conf").content_string.rstrip().splitlines()
    assert conf[-1] == 'include "/etc/nftables.d/*.nft"'
    drop_in = server.file("/etc/nftables.d/wgdoctor-wg0.nft").content_string
    assert 'insert rule inet filter input udp dport 51820 accept comment "wgdoctor"' in drop_in
    assert server.run("nft -c -f /etc/nftables.conf").rc == 0


def test_runtime_only_table_of_another_tool_is_untouched(server):
    before = server.check_output("cat /root/foreign_tool.before")
    assert server.check_output("nft list table inet foreign_tool") == before, "the role changed table inet foreign_tool"


def test_boot_config_never_names_a_runtime_only_table(server):
    boot = server.check_output("cat /etc/nftables.conf /etc/nftables.d/*.nft")
    assert "foreign_tool" not in boot, f"a runtime-only table got into the boot config:\n{boot}"


def test_boot_config_loads_in_an_empty_network_namespace(server):
    result = server.run(f"{EMPTY_NETNS} nft -c -f /etc/nftables.conf")
    assert result.rc == 0, f"/etc/nftables.conf does not load where only the boot config exists: {result.stderr}"


def test_after_a_reboot_the_rule_is_back_and_the_tunnel_works(rebooted_server):
    assert rebooted_server.run("systemctl is-active nftables").rc == 0, rebooted_server.run("journalctl -u nftables").stdout
    assert rebooted_server.run("nft list table inet foreign_tool").rc != 0, "the runtime-only table came back at boot"
    assert_accept_is_first_and_host_rules_kept(rebooted_server)
    assert tunnel_works(timeout=120), "after a reboot the client cannot ping 10.99.0.1 through wg0"
