"""The server's iptables INPUT (policy DROP) dropped WireGuard; after the firewall role the tunnel
works again, the accept sits above the DROP, SSH is still allowed, and the rules file restored at
boot carries the rule so a reboot keeps the tunnel up."""
from __future__ import annotations

from conftest import tunnel_works

OUR_RULE = "-A INPUT -p udp -m udp --dport 51820 -m comment --comment wgdoctor -j ACCEPT"
SSH_RULE = "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT"
HOST_DROP = "-A INPUT -p udp -m udp --dport 51820 -j DROP"


def input_rules(host) -> list[str]:
    return [line for line in host.check_output("iptables -S INPUT").splitlines() if line.startswith("-A INPUT")]


def assert_accept_is_first_and_host_rules_kept(host) -> None:
    rules = input_rules(host)
    assert rules and rules[0] == OUR_RULE, f"our accept is not the first INPUT rule: {rules}"
    assert SSH_RULE in rules, "the SSH accept is gone"
    assert HOST_DROP in rules, "the host's own DROP was removed (we must only insert)"
    assert rules.count(OUR_RULE) == 1
    assert "-P INPUT DROP" in host.check_output("iptables -S INPUT"), "the INPUT policy was changed"


def test_client_reaches_server_through_the_tunnel():
    assert tunnel_works(), "the client cannot ping 10.99.0.1 through wg0: UDP 51820 is still dropped"


def test_accept_sits_above_the_drop_and_ssh_stays_open(server):
    assert_accept_is_first_and_host_rules_kept(server)


def test_rules_file_has_the_rule_above_the_drop(server):
    lines = server.file("/etc/iptables/rules.v4").content_string.splitlines()
    assert OUR_RULE in lines, "the rule is not in /etc/iptables/rules.v4: it would be lost on reboot"
    assert lines.index(OUR_RULE) < lines.index(HOST_DROP)
    assert SSH_RULE in lines


def test_after_a_reboot_the_rule_is_back_and_the_tunnel_works(rebooted_server):
    assert_accept_is_first_and_host_rules_kept(rebooted_server)
    assert tunnel_works(timeout=120), "after a reboot the client cannot ping 10.99.0.1 through wg0"
