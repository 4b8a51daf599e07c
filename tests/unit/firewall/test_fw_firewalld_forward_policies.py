# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""firewalld forwarding: the forward verdict as firewalld 1.x decides it, zones AND policies (issue #11).

The fixtures are recordings (fixtures/record_firewalld_forward_policies.py, README in
fixtures/firewalld_forward_policies/): per scenario the five firewall-cmd outputs wg_facts reads, the
firewalld table as nft lists it (for humans), and what happened to three pings client2 sent through the
server's tunnel fwtun6 to the router's public address (forwarded out of the uplink eth0) and to client's
address on the server's second tunnel fwside6 (forwarded out of fwside6).
"""
from __future__ import annotations

import json

import pytest

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall import firewalld as fw_firewalld
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall.reach import firewall_facts
from ansible_collections.wgdoctor.wireguard.tests.unit.firewall.fw_fixtures import fixture

HERE = "firewalld_forward_policies"
KEYS = ("state", "default_zone", "active_zones", "zones", "policies")
RECORDED = json.loads(fixture(HERE, "probes.json"))
SCENARIOS = {name: probe for name, probe in RECORDED.items() if not name.startswith("_")}
TUNNEL, SIDE, UPLINK = RECORDED["_recorded"]["tunnel"], RECORDED["_recorded"]["side"], RECORDED["_recorded"]["uplink"]
PEER = RECORDED["_recorded"]["tunnel_peer"]
WAYS_OUT = (UPLINK, SIDE)
# The ping's own report of firewalld's reject (icmpx admin-prohibited: ICMP type 3 code 13).
FILTERED = "Packet filtered"


def outputs_of(name):
    probe = SCENARIOS[name]
    return {"firewalld_" + key: (probe["rc"][key], fixture(HERE, "%s.%s" % (name, key)), probe["stderr"][key]) for key in KEYS}


def read(name):
    outputs = outputs_of(name)
    zones = fw_firewalld.parse_zones(outputs["firewalld_zones"][1],
                                     default_zone=fw_firewalld.parse_default_zone(outputs["firewalld_default_zone"][1]))
    return (zones, fw_firewalld.parse_active_zones(outputs["firewalld_active_zones"][1]),
            fw_firewalld.parse_policies(outputs["firewalld_policies"][1]))


def forward(name, out_interface, source=PEER):
    zones, active, policies = read(name)
    return fw_firewalld.forward_verdict(zones, TUNNEL, out_interface, active, source=source, policies=policies)


def measured(name, out_interface):
    """What the three pings met on their way out of out_interface: all answered, a reject seen, or silence."""
    ping = SCENARIOS[name]["out_" + out_interface]
    if ping["received"] == ping["sent"]:
        return "accept"
    assert ping["received"] == 0, ping
    return "reject" if ping["errors"] == [FILTERED] else "drop"


def test_every_behaviour_was_recorded_with_its_pings():
    assert RECORDED["_recorded"]["firewalld"] == "1.3.3"
    assert len(SCENARIOS) == 14
    assert all(p["rc"] == dict.fromkeys(KEYS, 0) for p in SCENARIOS.values())
    assert {measured(name, way) for name in SCENARIOS for way in WAYS_OUT} == {"accept", "drop", "reject"}
    # Each scenario's own control: some way out of the tunnel is forwarded somewhere, or the zone is the one that refuses.
    assert measured("egress_zone_bound_accept", SIDE) == "accept" and measured("egress_zone_bound_accept", UPLINK) == "reject"


@pytest.mark.parametrize("out_interface", WAYS_OUT)
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_forward_verdict_agrees_with_what_the_pings_met(name, out_interface):
    verdict = forward(name, out_interface)
    assert verdict["verdict"] == measured(name, out_interface), verdict
    assert verdict["backend"] == "firewalld" and verdict["chain"] and verdict["rule"], verdict
    if verdict["verdict"] == "reject":
        assert verdict["reject_with"] == fw_firewalld.ADMIN_PROHIBITED, verdict


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_facts_forward_verdict_towards_the_uplink_agrees(name):
    result = firewall_facts(outputs_of(name), {TUNNEL: 44617}, [TUNNEL], [UPLINK], {TUNNEL: "10.96.6.1"})
    assert result["errors"] == [] and result["backends"] == ["firewalld"]
    verdict = result["interfaces"][TUNNEL]["forward"]
    assert verdict["verdict"] == measured(name, UPLINK), verdict
    assert fw_firewalld.POLICIES_NOT_READ not in verdict["conditional"]


# ---------------------------------------------------------------- which policies a packet meets

def test_a_policy_from_the_default_zone_misses_an_interface_that_only_falls_into_it():
    # fwtun6 is bound to nothing: firewalld filters it by the default zone public, but dispatches the policy from
    # public only by public's bindings (iifname), and there are none.
    for way in WAYS_OUT:
        verdict = forward("ingress_default_zone_unbound_drop", way)
        assert (verdict["verdict"], verdict["chain"], verdict["rule"]) == ("reject", "zone public", "target: default"), verdict
        bound = forward("ingress_zone_bound_drop", way)
        assert (bound["verdict"], bound["chain"], bound["rule"]) == ("drop", "policy wgdfwd", "target: DROP"), bound


def test_a_policy_towards_a_zone_bound_to_nothing_applies_to_nothing():
    # Egress zone dmz has no interface: no packet meets the policy, whichever way it leaves (accept and drop both recorded).
    for way in WAYS_OUT:
        assert forward("egress_zone_unbound_accept", way)["chain"] == "zone internal"
        kept = forward("egress_zone_unbound_drop", way)
        assert (kept["verdict"], kept["chain"], kept["rule"]) == ("accept", "zone trusted", "target: ACCEPT"), kept


def test_a_policy_towards_a_bound_zone_applies_to_that_interface_only():
    side = forward("egress_zone_bound_accept", SIDE)
    assert (side["verdict"], side["chain"], side["rule"]) == ("accept", "policy wgdfwd", "target: ACCEPT")
    assert "policy wgdfwd (priority -10, ingress zones internal, egress zones dmz): target: ACCEPT" in side["evidence"]
    assert forward("egress_zone_bound_accept", UPLINK)["chain"] == "zone internal"


def test_a_policy_towards_the_default_zone_takes_only_its_bound_interfaces():
    # eth0 merely in the default zone public: the policy towards public forwards nothing; bound, eth0 only.
    for way in WAYS_OUT:
        assert forward("egress_default_zone_unbound_accept", way)["verdict"] == "reject"
    bound = forward("egress_default_zone_uplink_bound_accept", UPLINK)
    assert (bound["verdict"], bound["chain"]) == ("accept", "policy wgdfwd")
    assert forward("egress_default_zone_uplink_bound_accept", SIDE)["verdict"] == "reject"


def test_the_active_flag_is_no_proof_that_firewalld_loaded_the_policy():
    listed = fw_firewalld.parse_policies(fixture(HERE, "egress_zone_unbound_drop.policies"))
    assert "active" in listed["zones"]["wgdfwd"]["flags"]
    assert "wgdfwd" not in fixture(HERE, "egress_zone_unbound_drop.nft").split("chain filter_FORWARD_POLICIES_pre")[1].split("}")[0]


def test_an_unknown_way_out_makes_a_bound_egress_policy_a_doubt_and_an_unbound_one_nothing():
    zones, active, policies = read("egress_zone_bound_accept")
    verdict = fw_firewalld.forward_verdict(zones, TUNNEL, None, active, source=PEER, policies=policies)
    assert verdict["verdict"] == "reject" and any(d.startswith("policy wgdfwd would accept") for d in verdict["conditional"]), verdict
    zones, active, policies = read("egress_zone_unbound_accept")
    verdict = fw_firewalld.forward_verdict(zones, TUNNEL, None, active, source=PEER, policies=policies)
    assert not any("wgdfwd" in d for d in verdict["conditional"]), verdict


# ---------------------------------------------------------------- policies and the zone's own handling

def test_intra_zone_forwarding_needs_both_interfaces_bound():
    both = forward("intra_zone_forward", SIDE)
    assert (both["verdict"], both["chain"], both["rule"]) == ("accept", "zone internal", "forward: yes")
    # With everything only falling into the default zone public (forward: yes), nothing is forwarded.
    fallback = forward("no_policy_unbound", SIDE)
    assert (fallback["verdict"], fallback["rule"]) == ("reject", "target: default"), fallback


def test_a_positive_priority_policy_decides_before_the_zone_target():
    # trusted's target ACCEPT comes after the policies of positive priority: a DROP policy at 10 drops.
    dropped = forward("drop_after_trusted_zone", UPLINK)
    assert (dropped["verdict"], dropped["chain"], dropped["rule"]) == ("drop", "policy wgdfwd", "target: DROP")
    # and zone drop's target comes after an ACCEPT policy at 10.
    accepted = forward("accept_after_drop_zone", UPLINK)
    assert (accepted["verdict"], accepted["chain"], accepted["rule"]) == ("accept", "policy wgdfwd", "target: ACCEPT")
    assert "policy wgdfwd (priority 10, ingress zones drop, egress zones ANY): target: ACCEPT" in accepted["evidence"]


def test_a_positive_priority_drop_is_silent_where_the_zone_would_reject():
    verdict = forward("drop_after_default_target", UPLINK)
    assert (verdict["verdict"], verdict["chain"], verdict["reject_with"]) == ("drop", "policy wgdfwd", None)


def test_a_policy_bound_by_source_meets_only_that_source():
    zones, active, policies = read("ingress_zone_bound_drop")
    active = {"public": {"interfaces": [], "sources": ["10.96.6.0/24"]}}
    zones["zones"]["public"]["interfaces"] = []
    inside = fw_firewalld.forward_verdict(zones, TUNNEL, UPLINK, active, source=PEER, policies=policies)
    assert (inside["verdict"], inside["chain"]) == ("drop", "policy wgdfwd"), inside
    outside = fw_firewalld.forward_verdict(zones, TUNNEL, UPLINK, active, source="10.55.0.3", policies=policies)
    assert outside["chain"] != "policy wgdfwd", outside
    unknown = fw_firewalld.forward_verdict(zones, TUNNEL, UPLINK, active, source=None, policies=policies)
    assert unknown["chain"] != "policy wgdfwd" and any("wgdfwd" in d for d in unknown["conditional"]), unknown


# ---------------------------------------------------------------- masquerade follows the same dispatch

def _with_masquerade(name):
    zones, active, policies = read(name)
    policies["zones"]["wgdfwd"]["rich rules"] = ['rule family="ipv4" source address="10.96.6.0/24" masquerade']
    return zones, active, policies


def test_a_policy_masquerades_only_out_of_its_bound_egress_interfaces():
    zones, active, policies = _with_masquerade("egress_default_zone_uplink_bound_accept")
    found = [m for m in fw_firewalld.masquerade_rules(zones, active, policies) if m["chain"] == "policy wgdfwd"]
    assert [(m["source"], m["out_interface"]) for m in found] == [("10.96.6.0/24", UPLINK)]
    zones, active, policies = _with_masquerade("egress_default_zone_unbound_accept")
    assert not [m for m in fw_firewalld.masquerade_rules(zones, active, policies) if m["chain"] == "policy wgdfwd"]


def test_a_policy_whose_ingress_zone_is_bound_to_nothing_masquerades_nothing():
    zones, active, policies = _with_masquerade("ingress_default_zone_unbound_drop")
    assert not [m for m in fw_firewalld.masquerade_rules(zones, active, policies) if m["chain"] == "policy wgdfwd"]
    zones, active, policies = _with_masquerade("ingress_zone_bound_drop")
    assert [m["out_interface"] for m in fw_firewalld.masquerade_rules(zones, active, policies) if m["chain"] == "policy wgdfwd"] == [None]
