"""The server's nftables ruleset dropped WireGuard; after the firewall role the tunnel works again,
SSH is still allowed, nothing of the host's own ruleset was rewritten, and a reboot keeps it so."""
from __future__ import annotations

import json

from conftest import tunnel_works

PORT = 51820


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


def test_forward_accepts_for_wg0_and_masquerade_table(server):
    forward = server.check_output("nft list chain inet filter forward")
    assert 'iifname "wg0" accept comment "wgdoctor"' in forward
    assert 'oifname "wg0" accept comment "wgdoctor"' in forward
    nat = server.check_output("nft list table ip wgdoctor_nat_wg0")
    assert 'ip saddr 10.99.0.0/24 oifname "eth0" masquerade' in nat


def test_boot_config_includes_the_drop_in_after_the_tables(server):
    conf = server.file("/etc/nftables.conf").content_string.rstrip().splitlines()
    assert conf[-1] == 'include "/etc/nftables.d/*.nft"'
    drop_in = server.file("/etc/nftables.d/wgdoctor-wg0.nft").content_string
    assert 'insert rule inet filter input udp dport 51820 accept comment "wgdoctor"' in drop_in
    assert server.run("nft -c -f /etc/nftables.conf").rc == 0


def test_after_a_reboot_the_rule_is_back_and_the_tunnel_works(rebooted_server):
    assert rebooted_server.service("nftables").is_running or rebooted_server.run("systemctl is-active nftables").rc == 0
    assert_accept_is_first_and_host_rules_kept(rebooted_server)
    assert tunnel_works(timeout=120), "after a reboot the client cannot ping 10.99.0.1 through wg0"
