# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""iptables (legacy and nft variants): the INPUT rule that stops the handshake, FORWARD, NAT."""
from __future__ import annotations

import pytest

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall import iptables as fw_iptables
from ansible_collections.wgdoctor.wireguard.tests.unit.firewall.fw_fixtures import (
    PORT, UPLINK, WG, expected_verdict, fixture, probes)

IPT_PROBES = sorted((key.split("/", 1)[1], value) for key, value in probes().items()
                    if key.startswith("iptables/") and "ipv6" not in key)


def parsed(name, family=4):
    return fw_iptables.parse_save(fixture("iptables", name + (".save6" if family == 6 else ".save")), family=family)


def verdict_of(name, in_interface=UPLINK, **kwargs):
    return fw_iptables.udp_input_verdict(parsed(name, kwargs.pop("family", 4)), PORT, in_interface, **kwargs)


@pytest.mark.parametrize("name,probe", IPT_PROBES, ids=[pair[0] for pair in IPT_PROBES])
def test_verdict_agrees_with_what_the_real_probe_met(name, probe):
    verdict = verdict_of(name)
    assert verdict["verdict"] == expected_verdict(probe)
    # Rule or policy, the counter that decided saw exactly the probe packets.
    assert verdict["counter"] == probe["sent"]


@pytest.mark.parametrize("variant", ["legacy", "nft"])
def test_drop_rule_is_named_as_the_root_cause(variant):
    verdict = verdict_of("drop_before_accept." + variant)
    assert (verdict["verdict"], verdict["table"], verdict["chain"], verdict["position"]) == ("drop", "filter", "INPUT", 1)
    assert verdict["rule"] == "-A INPUT -p udp -m udp --dport 51820 -j DROP"


def test_reject_with_tells_port_unreachable_from_admin_prohibited():
    assert verdict_of("reject_port_unreachable.legacy")["reject_with"] == "icmp-port-unreachable"
    assert verdict_of("reject_admin_prohibited.legacy")["reject_with"] == "icmp-admin-prohibited"


def test_policy_drop_with_only_ssh_open():
    verdict = verdict_of("policy_drop.legacy")
    assert (verdict["verdict"], verdict["rule"]) == ("drop", None)
    assert "policy DROP of filter/INPUT" in verdict["evidence"]


def test_multiport_range_covers_the_port():
    assert verdict_of("multiport.nft")["rule"] == "-A INPUT -p udp -m multiport --dports 53,51820:51830 -j ACCEPT"
    assert fw_iptables.udp_input_verdict(parsed("multiport.nft"), 51831, UPLINK)["verdict"] == "drop"


def test_accept_on_another_interface_leaves_the_uplink_closed():
    assert verdict_of("other_interface.legacy")["verdict"] == "drop"
    assert verdict_of("other_interface.legacy", in_interface="eth9")["verdict"] == "accept"


def test_established_only_does_not_admit_the_first_initiation():
    assert verdict_of("established_only.nft")["verdict"] == "drop"


def test_user_chain_accept_and_a_source_return_that_might_not_apply():
    verdict = verdict_of("jump_user_chain.legacy")
    assert (verdict["verdict"], verdict["chain"]) == ("accept", "WG-IN")
    # From the host that the RETURN exempts, the packet falls back to INPUT's DROP policy.
    assert verdict_of("jump_user_chain.legacy", source="192.0.2.66")["verdict"] == "drop"


def test_ip6tables_drop_is_read_for_ipv6():
    assert verdict_of("drop_ipv6.legacy", family=6)["verdict"] == "drop"
    assert verdict_of("drop_ipv6.legacy")["verdict"] == "accept"


def test_missing_output_is_unknown_with_its_reason():
    missing = fw_iptables.missing_output(6, "ip6tables-nft-save: command failed")
    verdict = fw_iptables.udp_input_verdict(missing, PORT, UPLINK, backend="iptables-nft")
    assert (verdict["verdict"], verdict["backend"], verdict["evidence"]) == ("unknown", "iptables-nft", ["ip6tables-nft-save: command failed"])
    assert fw_iptables.forward_verdict(missing, WG, UPLINK)["verdict"] == "unknown"
    assert not fw_iptables.is_active(missing) and fw_iptables.masquerade_rules(missing) == []


def test_docker_forward_drop_policy_blocks_the_tunnel():
    rules = parsed("docker_like.nft")
    verdict = fw_iptables.forward_verdict(rules, WG, UPLINK)
    assert (verdict["verdict"], verdict["chain"], verdict["rule"]) == ("drop", "FORWARD", None)
    assert fw_iptables.forward_policy(rules) == "drop"
    # docker0's own traffic is allowed by the same chain.
    assert fw_iptables.forward_verdict(rules, "docker0", UPLINK)["verdict"] == "accept"


def test_forward_allows_the_tunnel_and_its_replies():
    rules = parsed("masquerade.legacy")
    assert fw_iptables.forward_verdict(rules, WG, UPLINK)["rule"] == "-A FORWARD -i wgF0 -j ACCEPT"
    assert fw_iptables.forward_verdict(rules, UPLINK, WG, ct_state="established")["verdict"] == "accept"
    assert fw_iptables.forward_verdict(rules, UPLINK, WG, ct_state="new")["verdict"] == "drop"


def test_masquerade_present_and_absent():
    found = [(m["source"], m["out_interface"], m["target"]) for m in fw_iptables.masquerade_rules(parsed("masquerade.nft"))]
    assert found == [("10.99.0.0/24", "fwv1", "MASQUERADE"), ("10.98.0.0/24", "fwv1", "SNAT")]
    docker = fw_iptables.masquerade_rules(parsed("docker_like.legacy"))
    assert [(m["source"], m["out_interface"]) for m in docker] == [("172.17.0.0/16", "!docker0")]
    assert fw_iptables.masquerade_rules(parsed("accept.legacy")) == []


def test_empty_tables_are_not_an_active_firewall():
    assert not fw_iptables.is_active(parsed("empty.legacy"))
    assert fw_iptables.is_active(parsed("policy_drop.legacy"))


def test_variant_is_read_from_the_header():
    assert parsed("accept.nft")["variant"] == "nft"
    assert parsed("accept.legacy")["variant"] == "legacy"


@pytest.mark.parametrize("garbage,reason", [
    ("-A INPUT -j DROP\n", "outside a *table"),
    ("*filter\n:INPUT DROP [0:0]\n[1:2] -A INPUT -p udp --dport 51820 -j DROP\n", "no COMMIT"),
    ("*filter\n:INPUT\n", "unreadable chain header"),
    ('*filter\n-A INPUT -m comment --comment "unterminated\nCOMMIT\n', "unreadable rule"),
    ("*filter\n-A INPUT -j\nCOMMIT\n", "without a target"),
])
def test_garbage_lines_are_errors_with_line_numbers(garbage, reason):
    result = fw_iptables.parse_save(garbage)
    assert any(reason in error for error in result["errors"]), result["errors"]


def test_unknown_match_is_a_doubt_not_a_match():
    rules = fw_iptables.parse_save("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m geoip --src-cc CN -j DROP\nCOMMIT\n")
    verdict = fw_iptables.udp_input_verdict(rules, PORT, UPLINK)
    assert verdict["verdict"] == "accept"
    assert "unknown match --src-cc CN" in verdict["conditional"][0]


def test_forwarding_opened_for_the_tunnels_subnet_decides_when_asked_from_that_subnet():
    # What the firewall role writes: the tunnel's subnet out of the uplink, replies back, policy DROP.
    rules = fw_iptables.parse_save(
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n"
        "-A FORWARD -s 10.99.0.0/24 -i %s -o %s -j ACCEPT\n"
        "-A FORWARD -i %s -o %s -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\nCOMMIT\n" % (WG, UPLINK, UPLINK, WG))
    assert fw_iptables.forward_verdict(rules, WG, UPLINK, source="10.99.0.1")["verdict"] == "accept"
    assert fw_iptables.forward_verdict(rules, WG, UPLINK, source="10.98.0.1")["verdict"] == "drop"
    unknown = fw_iptables.forward_verdict(rules, WG, UPLINK)
    assert unknown["verdict"] == "drop" and unknown["conditional"], unknown
    assert fw_iptables.forward_verdict(rules, UPLINK, WG, ct_state="established")["verdict"] == "accept"
    assert fw_iptables.forward_verdict(rules, UPLINK, WG, ct_state="new")["verdict"] == "drop"
