# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""nftables: would the first handshake initiation reach the socket, and which rule says no?"""
from __future__ import annotations

import pytest

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall import nftables as fw_nftables
from ansible_collections.wgdoctor.wireguard.tests.unit.firewall.fw_fixtures import PORT, UPLINK, WG, expected_verdict, fixture, probes

NFT_PROBES = sorted((key.split("/", 1)[1], value) for key, value in probes().items() if key.startswith("nftables/"))


def verdict_of(name, **kwargs):
    parsed = fw_nftables.parse_ruleset(fixture("nftables", name + ".json"))
    kwargs.setdefault("in_interface", UPLINK)
    kwargs.setdefault("family", 6 if name.endswith("_ipv6") else 4)
    return fw_nftables.udp_input_verdict(parsed, PORT, **kwargs)


@pytest.mark.parametrize("name,probe", NFT_PROBES, ids=[pair[0] for pair in NFT_PROBES])
def test_verdict_agrees_with_what_the_real_probe_met(name, probe):
    verdict = verdict_of(name)
    assert verdict["verdict"] == expected_verdict(probe)
    if verdict["rule"] and "counter" in verdict["rule"]:
        # The rule named as deciding is the one whose counter saw the probe packets.
        assert verdict["counter"] == probe["sent"]


def test_drop_rule_before_accept_is_named_with_its_counter():
    verdict = verdict_of("drop_before_accept")
    assert verdict == dict(verdict, verdict="drop", backend="nftables", table="inet filter", chain="input",
                           rule="udp dport 51820 counter drop", counter=3, position=1)


def test_reject_says_which_icmp_the_initiator_gets():
    assert verdict_of("reject_port_unreachable")["reject_with"] == "icmpx port-unreachable"
    assert verdict_of("reject_admin_prohibited")["reject_with"] == "icmpx admin-prohibited"
    assert verdict_of("ip_table_reject")["reject_with"] == "icmp port-unreachable"


def test_policy_drop_without_rule_names_the_chain_policy():
    verdict = verdict_of("policy_drop")
    assert (verdict["verdict"], verdict["rule"], verdict["chain"]) == ("drop", None, "input")
    assert "policy drop of inet filter input" in verdict["evidence"]


@pytest.mark.parametrize("name,rule", [
    ("port_set", "udp dport { 53, 51820-51830 } counter accept"),
    ("th_dport_range", "udp dport 51000-52000 counter accept"),
    ("named_set", "udp dport @wg_ports counter accept"),
])
def test_port_sets_ranges_and_named_sets_open_the_port(name, rule):
    assert verdict_of(name)["rule"] == rule


def test_port_outside_the_set_falls_to_the_policy():
    parsed = fw_nftables.parse_ruleset(fixture("nftables", "named_set.json"))
    assert fw_nftables.udp_input_verdict(parsed, 51822, UPLINK)["verdict"] == "drop"


def test_rule_on_another_interface_does_not_open_the_uplink():
    assert verdict_of("other_interface")["verdict"] == "drop"
    assert verdict_of("other_interface", in_interface="eth9")["verdict"] == "accept"


def test_unknown_arrival_interface_turns_interface_rules_into_doubts():
    verdict = verdict_of("other_interface", in_interface=None)
    assert verdict["verdict"] == "drop"
    assert any("eth9" in doubt and "iifname" in doubt for doubt in verdict["conditional"])


def test_established_only_rule_does_not_let_a_new_initiation_in():
    verdict = verdict_of("established_only")
    assert verdict["verdict"] == "drop"
    assert verdict["conditional"] == []


def test_accept_in_a_user_chain_reached_by_jump():
    verdict = verdict_of("jump_user_chain")
    assert (verdict["verdict"], verdict["chain"]) == ("accept", "wg_in")


def test_source_restricted_accept_is_conditional_not_a_guess():
    verdict = verdict_of("saddr_conditional")
    assert verdict["verdict"] == "drop"
    assert "192.0.2.0/24" in verdict["conditional"][0]
    assert verdict_of("saddr_conditional", source="192.0.2.7")["verdict"] == "accept"


def test_verdict_maps_are_followed():
    assert verdict_of("vmap")["rule"] == "udp dport 51820 counter accept"


def test_accept_in_one_base_chain_does_not_survive_a_later_drop():
    verdict = verdict_of("two_tables")
    assert (verdict["verdict"], verdict["table"]) == ("drop", "inet late")


def test_debian_default_ruleset_accepts_everything():
    assert verdict_of("debian_default")["verdict"] == "accept"


def test_ipv6_only_drop_leaves_ipv4_alone():
    assert verdict_of("drop_ipv6", family=4)["verdict"] == "accept"
    assert verdict_of("drop_ipv6", family=6)["verdict"] == "drop"


def test_forward_drop_policy_blocks_tunnel_traffic():
    parsed = fw_nftables.parse_ruleset(fixture("nftables", "forward_drop_no_masquerade.json"))
    verdict = fw_nftables.forward_verdict(parsed, WG, UPLINK)
    assert (verdict["verdict"], verdict["chain"]) == ("drop", "forward")
    assert fw_nftables.forward_policy(parsed) == "drop"


def test_forward_rules_for_the_tunnel_and_its_replies():
    parsed = fw_nftables.parse_ruleset(fixture("nftables", "forward_masquerade.json"))
    assert fw_nftables.forward_verdict(parsed, WG, UPLINK)["rule"] == 'iifname "wgF0" counter accept'
    assert fw_nftables.forward_verdict(parsed, UPLINK, WG, ct_state="established")["verdict"] == "accept"
    assert fw_nftables.forward_verdict(parsed, UPLINK, WG, ct_state="new")["verdict"] == "drop"


def test_masquerade_and_snat_rules_with_source_and_uplink():
    parsed = fw_nftables.parse_ruleset(fixture("nftables", "forward_masquerade.json"))
    found = [(m["source"], m["out_interface"], m["target"]) for m in fw_nftables.masquerade_rules(parsed)]
    assert found == [("10.99.0.0/24", "fwv1", "masquerade"), ("10.98.0.0/24", "fwv1", "snat")]
    assert fw_nftables.masquerade_rules(fw_nftables.parse_ruleset(fixture("nftables", "forward_drop_no_masquerade.json"))) == []


def test_iptables_nft_tables_are_recognised_so_they_are_not_counted_twice():
    parsed = fw_nftables.parse_ruleset(fixture("iptables", "docker_like.nft.nft.json"))
    assert sorted(fw_nftables.iptables_nft_tables(parsed)) == ["ip filter", "ip nat"]
    assert not fw_nftables.is_active(parsed, skip_tables=("ip filter", "ip nat"))


def test_iptables_only_target_in_nft_json_is_not_mistaken_for_accept():
    # iptables-nft's REJECT is opaque in nft JSON; it still rejects.
    parsed = fw_nftables.parse_ruleset(fixture("iptables", "reject_admin_prohibited.nft.nft.json"))
    assert fw_nftables.udp_input_verdict(parsed, PORT, UPLINK)["verdict"] == "reject"


def test_iptables_extension_matches_are_reported_as_doubts():
    parsed = fw_nftables.parse_ruleset(fixture("iptables", "multiport.nft.nft.json"))
    verdict = fw_nftables.udp_input_verdict(parsed, PORT, UPLINK)
    assert verdict["verdict"] == "drop"
    assert any("multiport" in doubt for doubt in verdict["conditional"])


@pytest.mark.parametrize("garbage", ["", "not json", '{"nftables": 3}', '{"nftables": [{"rule": {"family": "inet"'])
def test_garbage_is_a_parse_error_not_a_traceback(garbage):
    with pytest.raises(fw_nftables.NftParseError):
        fw_nftables.parse_ruleset(garbage)


def test_unknown_expression_is_a_doubt_never_a_silent_match():
    ruleset = ('{"nftables": [{"chain": {"family": "inet", "table": "t", "name": "in", "type": "filter", "hook": "input",'
               ' "prio": 0, "policy": "accept"}}, {"rule": {"family": "inet", "table": "t", "chain": "in", "expr": ['
               '{"match": {"op": "==", "left": {"osf": {"key": "name"}}, "right": "Linux"}}, {"drop": null}]}}]}')
    verdict = fw_nftables.udp_input_verdict(fw_nftables.parse_ruleset(ruleset), PORT, UPLINK)
    assert verdict["verdict"] == "accept"
    assert "would drop" in verdict["conditional"][0]


def _one_rule(exprs):
    return fw_nftables.parse_ruleset(
        '{"nftables": [{"chain": {"family": "inet", "table": "t", "name": "in", "type": "filter", "hook": "input",'
        ' "prio": 0, "policy": "drop"}}, {"rule": {"family": "inet", "table": "t", "chain": "in", "expr": %s}}]}' % exprs)


def test_rate_limited_accept_admits_the_probe_but_limit_over_drop_does_not_fire():
    accept = _one_rule('[{"limit": {"rate": 5, "per": "second"}}, {"accept": null}]')
    assert fw_nftables.udp_input_verdict(accept, PORT, UPLINK)["verdict"] == "accept"
    over = _one_rule('[{"limit": {"rate": 5, "per": "second", "inv": true}}, {"drop": null}]')
    verdict = fw_nftables.udp_input_verdict(over, PORT, UPLINK)
    assert verdict["rule"] is None and "only above 5/second" in verdict["conditional"][0]


def test_udp_and_tcp_set_on_th_dport_and_negated_port():
    both = _one_rule('[{"match": {"op": "==", "left": {"meta": {"key": "l4proto"}}, "right": {"set": ["tcp", "udp"]}}},'
                     ' {"match": {"op": "==", "left": {"payload": {"protocol": "th", "field": "dport"}}, "right": 51820}}, {"accept": null}]')
    assert fw_nftables.udp_input_verdict(both, PORT, UPLINK)["verdict"] == "accept"
    negated = _one_rule('[{"match": {"op": "!=", "left": {"payload": {"protocol": "udp", "field": "dport"}}, "right": 51820}}, {"accept": null}]')
    assert fw_nftables.udp_input_verdict(negated, PORT, UPLINK)["verdict"] == "drop"
    assert fw_nftables.udp_input_verdict(negated, 51821, UPLINK)["verdict"] == "accept"


def test_debian_workstation_example_drops_wireguard_with_its_counter_drop():
    verdict = verdict_of("debian_workstation_example")
    assert (verdict["verdict"], verdict["rule"], verdict["counter"]) == ("drop", "counter drop", 3)
    # The link-local ICMPv6 rule restricts ip6 saddr; an IPv4 probe is simply not concerned.
    assert verdict["conditional"] == []


def test_distro_style_rule_with_fib_l4proto_set_th_dport_and_limit():
    verdict = verdict_of("distro_style_open")
    assert verdict["rule"] == "fib daddr type local meta l4proto { tcp, udp } th dport 51820 limit rate 100/second counter accept"
