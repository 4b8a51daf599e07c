"""The recorded firewalld forwarding remedy (fixtures/firewalld_forward_remedy/): the plan the recorder applied is the
plan, firewalld held all of it afterwards, and the order of the forwarding policies is firewalld's (issue #11).

The recorder ran firewalld_plan.plan() on what it read before the remedy and applied its commands, as wg_firewalld
does; these tests read the same files again, so a plan that changed since would show here.
"""
from __future__ import annotations

import json
import os
import re

import pytest

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall import firewalld as fw_firewalld
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall import firewalld_plan

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "firewalld_forward_remedy")
with open(os.path.join(HERE, "probes.json")) as _handle:
    _RECORDED = json.load(_handle)
PROBES = {name: probe for name, probe in _RECORDED.items() if not name.startswith("_")}
KEYS = ("default_zone", "active_zones", "zones", "policies", "direct", "ipsets", "permanent_zones", "permanent_policies",
        "permanent_direct", "permanent_ipsets")


def read(scenario: str, phase: str) -> dict[str, str]:
    outputs = {}
    for key in KEYS:
        with open(os.path.join(HERE, "%s.%s.%s" % (scenario, phase, key))) as handle:
            outputs[key] = handle.read()
    return outputs


def state(outputs: dict[str, str]) -> firewalld_plan.State:
    default = fw_firewalld.parse_default_zone(outputs["default_zone"])
    assert default is not None
    layers = {layer: firewalld_plan.read_layer(outputs[prefix + "zones"], outputs[prefix + "policies"], outputs[prefix + "direct"],
                                               outputs[prefix + "ipsets"], default_zone=default)
              for layer, prefix in (("permanent", "permanent_"), ("runtime", ""))}
    return {"default_zone": default, "active": fw_firewalld.parse_active_zones(outputs["active_zones"]),
            "permanent": layers["permanent"], "runtime": layers["runtime"]}


@pytest.mark.parametrize("scenario", sorted(PROBES))
def test_the_applied_remedy_is_todays_plan_and_firewalld_holds_it(scenario):
    params = PROBES[scenario]["params"]
    plan = firewalld_plan.plan(params, state(read(scenario, "before")))
    applied = [["firewall-cmd"] + c["args"] for c in plan["changes"]] + ([["firewall-cmd", "--reload"]] if plan["reload"] else [])
    assert applied == PROBES[scenario]["remedy"]
    left = firewalld_plan.plan(params, state(read(scenario, "after")))
    assert left["changes"] == [] and not left["reload"], left["changes"]


@pytest.mark.parametrize("scenario, first", [("any_any_drop_minus1_name_before", "blockfwd"),
                                             ("any_any_drop_minus1_name_after", "wgdfw-fwtun6"),
                                             ("any_any_drop_minus2_name_after", "zblockfwd"),
                                             ("any_any_drop_plus10", "wgdfw-fwtun6")])
def test_firewalld_dispatches_the_policies_by_priority_then_name(scenario, first):
    # nft list table inet firewalld after the remedy: the first jump of filter_FORWARD_POLICIES_pre (negative priorities)
    # runs first; a positive priority is dispatched from filter_FORWARD_POLICIES_post, after it.
    with open(os.path.join(HERE, "%s.after.nft" % scenario)) as handle:
        text = handle.read()
    pre = re.search(r"chain filter_FORWARD_POLICIES_pre \{\n(.*?)\n\t\}", text, re.S)
    assert pre is not None
    jumps = re.findall(r"jump filter_FWD_policy_(\S+)", pre.group(1))
    assert jumps[0] == first, jumps


def _forward_verdict(scenario: str, phase: str) -> dict:
    outputs = read(scenario, phase)
    zones = fw_firewalld.parse_zones(outputs["zones"], default_zone=fw_firewalld.parse_default_zone(outputs["default_zone"]))
    return fw_firewalld.forward_verdict(zones, "fwtun6", "eth0", fw_firewalld.parse_active_zones(outputs["active_zones"]),
                                        source="10.96.6.1", policies=fw_firewalld.parse_policies(outputs["policies"]))


WOKEN = ("once eth0 is bound to zone public, policy blockfwd (priority -10, ingress zones ANY, egress zones public) would drop "
         "by target: DROP")


def test_a_policy_that_binding_the_uplink_wakes_is_in_the_evidence():
    # Before the remedy eth0 was bound to no zone: the policy towards public met nothing and zone public rejected the
    # pings (recorded 'Packet filtered'); once the remedy bound eth0 to public, the policy dropped them.
    assert PROBES["any_uplink_zone_drop_minus10"]["before"]["out_eth0"]["errors"] == ["Packet filtered"]
    assert PROBES["any_uplink_zone_drop_minus10"]["after"]["out_eth0"] == dict(
        PROBES["any_uplink_zone_drop_minus10"]["after"]["out_eth0"], received=0, errors=[])
    before = _forward_verdict("any_uplink_zone_drop_minus10", "before")
    assert (before["verdict"], before["chain"]) == ("reject", "zone public")
    assert WOKEN in before["evidence"], before["evidence"]
    after = _forward_verdict("any_uplink_zone_drop_minus10", "after")
    assert (after["verdict"], after["chain"]) == ("drop", "policy blockfwd")
    assert not any(line.startswith("once ") for line in after["evidence"]), after["evidence"]


@pytest.mark.parametrize("scenario", ["remedy_alone", "any_any_drop_minus10", "named_ingress_bound_drop_minus10"])
def test_nothing_is_woken_where_no_policy_waits_for_the_binding(scenario):
    assert not any(line.startswith("once ") for line in _forward_verdict(scenario, "before")["evidence"])
