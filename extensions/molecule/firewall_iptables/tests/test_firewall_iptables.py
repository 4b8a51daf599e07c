"""The server's iptables INPUT (policy DROP) dropped WireGuard; after the firewall role the tunnel
works again, the accept sits above the DROP, SSH is still allowed, and the rules file restored at
boot carries the rule so a reboot keeps the tunnel up."""
from __future__ import annotations

from conftest import tunnel_works
from forward_paths import (
    packets_forwarded_into_the_tunnel_from_the_uplink, server_routes_between_tunnel_and_uplink, tunnel_client_reaches_the_uplink)

OUR_RULE = "-A INPUT -p udp -m udp --dport 51820 -m comment --comment wgdoctor -j ACCEPT"
SSH_RULE = "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT"
HOST_DROP = "-A INPUT -p udp -m udp --dport 51820 -j DROP"
OUR_FORWARD_OUT = "-A FORWARD -s 10.99.0.0/24 -i wg0 -o eth0 -m comment --comment wgdoctor -j ACCEPT"
OUR_FORWARD_BACK = "-A FORWARD -i eth0 -o wg0 -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment wgdoctor -j ACCEPT"


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


def test_rules_file_holds_only_our_lines_not_another_tools_chain(server):
    rules_file = server.file("/etc/iptables/rules.v4").content_string
    assert "FOREIGN-TOOL" not in rules_file, f"a runtime-only chain of another tool was persisted:\n{rules_file}"
    lines = rules_file.splitlines()
    assert OUR_RULE in lines
    assert OUR_FORWARD_OUT in lines and OUR_FORWARD_BACK in lines, rules_file


def test_runtime_only_chain_of_another_tool_is_unchanged_live(server):
    assert server.check_output("iptables -S FOREIGN-TOOL") == server.check_output("cat /root/foreign-tool.before")
    assert "-A INPUT -j FOREIGN-TOOL" in server.check_output("iptables -S INPUT")


def test_forward_opens_only_the_tunnel_subnet_out_and_replies_back(server):
    forward = server.check_output("iptables -S FORWARD").splitlines()
    assert OUR_FORWARD_OUT in forward and OUR_FORWARD_BACK in forward, forward
    broad = [line for line in forward if "wgdoctor" in line and line not in (OUR_FORWARD_OUT, OUR_FORWARD_BACK)]
    assert not broad, f"rules of ours beyond the tunnel subnet out and the replies back: {broad}"


def test_tunnel_client_gets_out_through_the_uplink_but_the_uplink_cannot_reach_into_the_tunnel():
    with server_routes_between_tunnel_and_uplink():
        assert tunnel_client_reaches_the_uplink(), "the client's traffic is not forwarded out of eth0 (or the reply not back)"
        forwarded = packets_forwarded_into_the_tunnel_from_the_uplink()
        assert forwarded == 0, f"the server forwarded {forwarded} new packet(s) from a neighbour on eth0 into wg0"


def test_after_a_reboot_the_rule_is_back_and_the_tunnel_works(rebooted_server):
    assert_accept_is_first_and_host_rules_kept(rebooted_server)
    assert tunnel_works(timeout=120), "after a reboot the client cannot ping 10.99.0.1 through wg0"
