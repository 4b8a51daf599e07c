# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""firewalld policies towards HOST: the input verdict as firewalld 1.x decides it, zones AND policies (issue #11).

The fixtures are recordings (fixtures/record_firewalld_host_policies.py, README in
fixtures/firewalld_host_policies/): per scenario the five firewall-cmd outputs wg_facts reads, what happened
to three UDP datagrams the lab client sent to 44517 (through the router's NAT), and to three replies to what
the server sent from 44517 (an initiator's handshake responses).
"""
from __future__ import annotations

import json

import pytest

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall import firewalld as fw_firewalld
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall.reach import firewall_facts
from ansible_collections.wgdoctor.wireguard.tests.unit.firewall.fw_fixtures import expected_verdict, fixture

HERE = "firewalld_host_policies"
TUNNEL, UPLINK, PORT = "wghost7", "eth0", 44517
KEYS = ("state", "default_zone", "active_zones", "zones", "policies")
RECORDED = json.loads(fixture(HERE, "probes.json"))
PROBES = {name: probe for name, probe in RECORDED.items() if not name.startswith("_")}
SENDER = RECORDED["_recorded"]["sender"]
# A rich rule of the policy names the sender's address, which wg_facts does not know.
SOURCE_DEPENDENT = {"continue_rich_drop_sender"}
ICMP_OF_REJECT = {"icmpx admin-prohibited": "type 3 code 13"}


def outputs_of(name, policies=None):
    """What wg_facts hands over for a recorded scenario: {FIREWALL_COMMANDS key: (rc, stdout, stderr)}."""
    probe = PROBES[name]
    outputs = {"firewalld_" + key: (probe["rc"][key], fixture(HERE, "%s.%s" % (name, key)), probe["stderr"][key]) for key in KEYS}
    if policies is not None:
        outputs["firewalld_policies"] = policies
    return outputs


def read(name):
    outputs = outputs_of(name)
    zones = fw_firewalld.parse_zones(outputs["firewalld_zones"][1],
                                     default_zone=fw_firewalld.parse_default_zone(outputs["firewalld_default_zone"][1]))
    return (zones, fw_firewalld.parse_active_zones(outputs["firewalld_active_zones"][1]),
            fw_firewalld.parse_policies(outputs["firewalld_policies"][1]))


def verdict_of(name, source=SENDER, family=4):
    zones, active, policies = read(name)
    return fw_firewalld.udp_input_verdict(zones, PORT, UPLINK, active, family=family, source=source, policies=policies)


def facts_of(name, **outputs):
    return firewall_facts(outputs_of(name, **outputs), {TUNNEL: PORT}, [TUNNEL], [UPLINK])


def policy_line(name, priority, ingress, rule):
    return "policy %s (priority %d, ingress zones %s, egress zones HOST): %s" % (name, priority, ingress, rule)


# ---------------------------------------------------------------- every recorded scenario

def test_every_behaviour_was_recorded_with_its_probe():
    assert RECORDED["_recorded"]["firewalld"] == "1.3.3" and RECORDED["_recorded"]["port"] == PORT
    assert len(PROBES) == 16
    assert all(p["rc"] == dict.fromkeys(KEYS, 0) and p["sent"] == 3 for p in PROBES.values())
    # Each verdict appears among the recordings: a policy that drops, rejects, and one that accepts.
    assert {expected_verdict(p) for p in PROBES.values()} == {"accept", "drop", "reject"}


@pytest.mark.parametrize("name", sorted(PROBES))
def test_verdict_with_the_sender_known_agrees_with_what_the_real_probe_met(name):
    probe = PROBES[name]
    verdict = verdict_of(name)
    assert verdict["verdict"] == expected_verdict(probe), (verdict, probe)
    assert verdict["backend"] == "firewalld" and verdict["table"] and verdict["rule"], verdict
    if verdict["verdict"] == "reject":
        assert set(probe["icmp"]) == {ICMP_OF_REJECT[verdict["reject_with"]]}, (verdict, probe)


@pytest.mark.parametrize("name", sorted(PROBES))
def test_facts_agree_with_the_probe_or_name_the_source_they_depend_on(name):
    probe = PROBES[name]
    result = facts_of(name)
    verdict = result["interfaces"][TUNNEL]["input"]
    assert result["errors"] == [] and result["backends"] == ["firewalld"]
    assert fw_firewalld.POLICIES_NOT_READ not in verdict["conditional"]
    if name in SOURCE_DEPENDENT:
        assert verdict["verdict"] != expected_verdict(probe)
        assert any("policy wgdhost" in doubt and "198.18.6.2" in doubt for doubt in verdict["conditional"]), verdict
    else:
        assert verdict["verdict"] == expected_verdict(probe), verdict


@pytest.mark.parametrize("name", sorted(PROBES))
def test_replies_to_the_listen_port_pass_every_policy_towards_host(name):
    probe = PROBES[name]
    assert probe["reply_arrived"] == probe["reply_sent"] == 3
    reply = facts_of(name)["interfaces"][TUNNEL]["input_reply"]
    assert (reply["verdict"], reply["chain"]) == ("accept", "filter_INPUT")
    assert not any("polic" in doubt for doubt in reply["conditional"]), reply


# ---------------------------------------------------------------- the order firewalld follows

def test_a_negative_priority_drop_comes_before_the_zone_that_opens_the_port():
    verdict = verdict_of("drop_before_open_zone")
    assert (verdict["verdict"], verdict["table"], verdict["chain"], verdict["rule"]) == ("drop", "public", "policy wgdhost", "target: DROP")
    assert policy_line("wgdhost", -10, "ANY", "target: DROP") in verdict["evidence"]
    assert "interface eth0 is bound to no zone: the default zone public applies" in verdict["evidence"]
    # Without the policy the zone accepts: the same zone, recorded with no policy of ours.
    assert (verdict_of("zone_open_no_policy")["verdict"], verdict_of("zone_open_no_policy")["rule"]) == ("accept", "port 44517/udp")


def test_a_negative_priority_reject_answers_admin_prohibited():
    verdict = verdict_of("reject_before_open_zone")
    assert (verdict["verdict"], verdict["chain"], verdict["rule"], verdict["reject_with"]) == (
        "reject", "policy wgdhost", "target: REJECT", "icmpx admin-prohibited")


def test_a_positive_priority_policy_comes_after_the_zone_rules_and_before_its_target():
    opened = verdict_of("drop_after_open_zone")
    assert (opened["verdict"], opened["chain"], opened["rule"]) == ("accept", "zone public", "port 44517/udp")
    # The zone opens nothing: the policy decides before the zone's reject (a silent drop, no ICMP error was seen).
    closed = verdict_of("drop_after_closed_zone")
    assert (closed["verdict"], closed["chain"], closed["rule"]) == ("drop", "policy wgdhost", "target: DROP")
    assert policy_line("wgdhost", 10, "ANY", "target: DROP") in closed["evidence"]
    accepted = verdict_of("accept_after_closed_zone")
    assert (accepted["verdict"], accepted["chain"], accepted["rule"]) == ("accept", "policy wgdhost", "target: ACCEPT")


@pytest.mark.parametrize("name, priority", [("accept_before_drop_zone", -10), ("accept_after_drop_zone", 10)])
def test_a_policy_accepts_what_a_drop_zone_would_drop(name, priority):
    verdict = verdict_of(name)
    assert (verdict["verdict"], verdict["table"], verdict["chain"], verdict["rule"]) == ("accept", "drop", "policy wgdhost", "target: ACCEPT")
    assert policy_line("wgdhost", priority, "ANY", "target: ACCEPT") in verdict["evidence"]


def test_a_continue_policy_accepts_by_its_port_and_hands_the_rest_on():
    verdict = verdict_of("continue_port_closed_zone")
    assert (verdict["verdict"], verdict["chain"], verdict["rule"]) == ("accept", "policy wgdhost", "port 44517/udp")
    assert policy_line("wgdhost", -10, "ANY", "port 44517/udp") in verdict["evidence"]
    passed = verdict_of("continue_rich_drop_other")
    assert (passed["verdict"], passed["chain"], passed["rule"]) == ("accept", "zone public", "port 44517/udp")


def test_a_policy_rich_rule_with_the_senders_address_decides_when_the_sender_is_known():
    rule = 'rule family="ipv4" source address="198.18.6.2/32" port port="44517" protocol="udp" drop'
    verdict = verdict_of("continue_rich_drop_sender")
    assert (verdict["verdict"], verdict["chain"], verdict["rule"]) == ("drop", "policy wgdhost", "rich rule '%s'" % rule)
    assert policy_line("wgdhost", -10, "ANY", "rich rule '%s'" % rule) in verdict["evidence"]
    unknown = verdict_of("continue_rich_drop_sender", source=None)
    assert (unknown["verdict"], unknown["rule"]) == ("accept", "port 44517/udp")
    assert any(doubt.startswith("policy wgdhost: rich rule '%s' would drop" % rule) for doubt in unknown["conditional"]), unknown


def test_the_lowest_priority_decides_first_whatever_the_names():
    verdict = verdict_of("lower_priority_first")
    assert (verdict["verdict"], verdict["chain"], verdict["rule"]) == ("accept", "policy zz-accept", "target: ACCEPT")
    assert policy_line("zz-accept", -20, "ANY", "target: ACCEPT") in verdict["evidence"]


# ---------------------------------------------------------------- which policies a packet meets

def test_a_named_ingress_zone_takes_only_what_its_bindings_match():
    # eth0 only falls into the default zone public: firewalld dispatches the policy by public's bindings, none.
    unbound = verdict_of("ingress_default_zone_unbound")
    assert (unbound["verdict"], unbound["chain"], unbound["rule"]) == ("accept", "zone public", "port 44517/udp")
    bound = verdict_of("ingress_zone_bound")
    assert (bound["verdict"], bound["chain"], bound["rule"]) == ("drop", "policy wgdhost", "target: DROP")
    assert policy_line("wgdhost", -10, "public", "target: DROP") in bound["evidence"]
    assert any("eth0 is bound to zone public" in line for line in bound["evidence"]), bound
    other = verdict_of("ingress_other_zone")
    assert (other["verdict"], other["chain"]) == ("accept", "zone public")


def test_the_arrival_interface_binding_meets_the_policy_even_when_a_source_zone_takes_the_packet():
    # The sender is bound to zone trusted (target ACCEPT), eth0 to public: the policy from public still drops it.
    verdict = verdict_of("ingress_interface_zone_source_zone_trusted")
    assert (verdict["verdict"], verdict["table"], verdict["chain"]) == ("drop", "trusted", "policy wgdhost")
    unknown = facts_of("ingress_interface_zone_source_zone_trusted")["interfaces"][TUNNEL]["input"]
    assert (unknown["verdict"], unknown["chain"]) == ("drop", "policy wgdhost")


def test_a_policy_bound_by_source_applies_to_that_sender_only():
    zones, active, policies = read("ingress_zone_bound")
    # The policy's ingress zone holds the sender's address instead of the interface.
    active = {"trusted": {"interfaces": [], "sources": ["198.18.6.0/24"]}}
    policies["zones"]["wgdhost"]["ingress-zones"] = ["trusted"]
    assert fw_firewalld.udp_input_verdict(zones, PORT, UPLINK, active, source=SENDER, policies=policies)["chain"] == "policy wgdhost"
    other = fw_firewalld.udp_input_verdict(zones, PORT, UPLINK, active, source="192.0.2.9", policies=policies)
    assert (other["verdict"], other["chain"]) == ("accept", "zone public")
    unknown = fw_firewalld.udp_input_verdict(zones, PORT, UPLINK, active, source=None, policies=policies)
    assert any(doubt.startswith("policy wgdhost") and "198.18.6.0/24" in doubt for doubt in unknown["conditional"]), unknown


def test_the_default_ipv6_policy_decides_no_udp():
    for family in (4, 6):
        verdict = verdict_of("zone_open_no_policy", family=family)
        assert (verdict["verdict"], verdict["chain"]) == ("accept", "zone public"), verdict
        assert not any("allow-host-ipv6" in line for line in verdict["conditional"] + verdict["evidence"])


def test_a_forwarding_policy_is_not_an_input_policy():
    recorded = fixture("firewalld_policies", "accept_and_masquerade.policies")
    policies = fw_firewalld.parse_policies(recorded.replace("target: CONTINUE\n  ingress-zones: wgd", "target: DROP\n  ingress-zones: wgd"))
    zones, active, dummy = read("zone_open_no_policy")
    assert fw_firewalld.udp_input_verdict(zones, PORT, UPLINK, active, policies=policies)["verdict"] == "accept"


# ---------------------------------------------------------------- when the policies were not read

@pytest.mark.parametrize("policies", [None, (2, "", "Error: unrecognized option --list-all-policies")])
def test_policies_not_read_are_named_in_the_input_verdict(policies):
    outputs = outputs_of("drop_before_open_zone")
    if policies is None:
        del outputs["firewalld_policies"]
    else:
        outputs["firewalld_policies"] = policies
    verdict = firewall_facts(outputs, {TUNNEL: PORT}, [TUNNEL], [UPLINK])["interfaces"][TUNNEL]["input"]
    assert (verdict["verdict"], verdict["rule"]) == ("accept", "port 44517/udp")
    assert fw_firewalld.POLICIES_NOT_READ in verdict["conditional"]


def test_an_unreadable_priority_is_a_doubt_not_a_verdict():
    zones, active, policies = read("drop_before_open_zone")
    policies["zones"]["wgdhost"]["priority"] = "soon"
    verdict = fw_firewalld.udp_input_verdict(zones, PORT, UPLINK, active, source=SENDER, policies=policies)
    assert verdict["verdict"] == "accept"
    assert any("policy wgdhost: priority" in doubt for doubt in verdict["conditional"]), verdict
