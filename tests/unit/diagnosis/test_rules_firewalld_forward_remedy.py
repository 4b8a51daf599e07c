"""forward_chain_blocks and nat_masquerade_missing behind an admin's firewalld policy: a remedy only where it works (issue #11).

The firewall role forwards a tunnel with a policy of its own, wgdfw-<interface>, at firewalld's default priority -1.
Recorded (tests/unit/firewall/fixtures/firewalld_forward_remedy/): the role's plan applied on the lab server next to an
admin's DROP or REJECT policy, with client2's pings through the tunnel before and after. A blocking policy that runs
before the role's (a lower priority, or -1 and a name that sorts first: firewalld loads policies in name order) still
drops every ping, masqueraded or not; one that runs after it (-1 and a later name, or a positive priority) lets them
through. The facts here are the recorded firewall-cmd outputs BEFORE the remedy, read by wg_facts' own readers (the
tunnel fwtun6 renamed to the hand-written server's wg0, its subnet 10.96.6.0/24 to 10.99.0.0/24); the truth is the
pings AFTER it.
"""
from __future__ import annotations

import json
import os

import pytest

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall.reach import firewall_facts
from diagnosis_facts import codes, config_peer, healthy_facts, only, run, runtime_peer, wg0

RECORDED = os.path.join(os.path.dirname(__file__), "..", "firewall", "fixtures", "firewalld_forward_remedy")
KEYS = ("state", "default_zone", "active_zones", "zones", "policies")
with open(os.path.join(RECORDED, "probes.json")) as _handle:
    PROBES = {name: probe for name, probe in json.load(_handle).items() if not name.startswith("_")}
# The role's remedy worked when every ping passed after it; with the router's route back removed only masqueraded ones do.
FORWARDED = {name: probe["after"]["out_eth0"]["received"] == probe["after"]["out_eth0"]["sent"] for name, probe in PROBES.items()}
MASQUERADED = {name: probe["after"]["out_eth0_masqueraded"]["received"] == probe["after"]["out_eth0_masqueraded"]["sent"]
               for name, probe in PROBES.items()}


def recorded_firewall(scenario, phase="before"):
    outputs = {}
    for key in KEYS:
        with open(os.path.join(RECORDED, "%s.%s.%s" % (scenario, phase, key))) as handle:
            text = handle.read().replace("fwtun6", "wg0").replace("10.96.6.", "10.99.0.").replace("44617", "51820")
            outputs["firewalld_" + key] = (0, text, "")
    return firewall_facts(outputs, {"wg0": 51820}, ["wg0"], ["eth0"], {"wg0": "10.99.0.1"})


def full_tunnel_hub(facts, scenario, phase="before"):
    for peer in (config_peer(facts, "client"), runtime_peer(facts, "client")):
        peer["allowed_ips"] = ["0.0.0.0/0"]
    facts["server"]["forwarding"]["ipv4"] = True
    firewall = recorded_firewall(scenario, phase)
    assert firewall["errors"] == []
    facts["server"]["firewall"] = {key: firewall[key] for key in ("backends", "forward", "masquerade")}
    wg0(facts, "server")["firewall"] = firewall["interfaces"]["wg0"]
    return facts


def test_the_recording_is_what_the_tests_expect():
    # The pings before the remedy: every scenario blocked forwarding (that is the finding).
    assert all(probe["before"]["out_eth0"]["received"] == 0 for probe in PROBES.values())
    assert sorted(name for name, worked in FORWARDED.items() if worked) == [
        "any_any_drop_minus1_name_after", "any_any_drop_plus10", "remedy_alone", "remedy_forward_only"]
    # The control: the forwarding remedy alone does not masquerade, so without the route back no reply came.
    assert FORWARDED["remedy_forward_only"] and not MASQUERADED["remedy_forward_only"]


@pytest.mark.parametrize("scenario", sorted(PROBES))
def test_forward_chain_blocks_offers_the_remedy_only_where_it_worked(facts, scenario):
    finding = only(run(full_tunnel_hub(facts, scenario)), "forward_chain_blocks")
    assert (finding["remedy"] is not None) == FORWARDED[scenario], (finding["summary"], finding["remedy"])


@pytest.mark.parametrize("scenario", sorted(name for name in PROBES if name != "remedy_forward_only"))
def test_nat_masquerade_missing_offers_the_remedy_only_where_it_worked(facts, scenario):
    # The masquerade rides on the same role run as the forwarding (the remediation joins them): behind a policy that
    # drops the forwarded packets first, nothing reaches the masquerade (recorded: no masqueraded ping came back).
    finding = only(run(full_tunnel_hub(facts, scenario)), "nat_masquerade_missing")
    assert (finding["remedy"] is not None) == MASQUERADED[scenario], (finding["summary"], finding["remedy"])


@pytest.mark.parametrize("scenario, name, priority, verdict", [
    ("any_any_drop_minus10", "blockfwd", -10, "drop"),
    ("any_any_reject_minus10", "blockfwd", -10, "reject"),
    ("any_any_drop_minus2_name_after", "zblockfwd", -2, "drop"),
    ("named_ingress_bound_drop_minus10", "blockfwd", -10, "drop"),
])
def test_an_early_policy_is_named_with_what_the_admin_must_do(facts, scenario, name, priority, verdict):
    report = run(full_tunnel_hub(facts, scenario))
    finding = only(report, "forward_chain_blocks")
    summary = finding["summary"]
    assert "policy %s (priority %d) runs before" % (name, priority) in summary, summary
    assert "wgdfw-wg0" in summary and "no remedy" in summary, summary
    assert "firewalld: %s/policy %s verdict %s by rule 'target: %s'" % (name, name, verdict, verdict.upper()) in finding["evidence"]
    advice = "firewall-cmd --permanent --policy %s --set-priority 10 && firewall-cmd --reload" % name
    assert any(advice in line for line in finding["evidence"]), finding["evidence"]
    nat = only(report, "nat_masquerade_missing")
    assert "policy %s" % name in nat["summary"] and "no remedy" in nat["summary"], nat["summary"]
    assert any(advice in line for line in nat["evidence"]), nat["evidence"]


def test_a_policy_the_uplinks_binding_wakes_is_named(facts):
    # Recorded: blockfwd (ANY to public, -10) met nothing while eth0 was bound to no zone (zone public rejected the
    # pings), and dropped them once the role's plan had bound eth0 to public for its own policy.
    report = run(full_tunnel_hub(facts, "any_uplink_zone_drop_minus10"))
    finding = only(report, "forward_chain_blocks")
    assert finding["remedy"] is None
    summary = finding["summary"]
    assert "policy blockfwd (priority -10)" in summary and "once eth0 is bound to zone public" in summary, summary
    assert "wgdfw-wg0" in summary and "no remedy" in summary, summary
    advice = "firewall-cmd --permanent --policy blockfwd --set-priority 10 && firewall-cmd --reload"
    assert any(advice in line for line in finding["evidence"]), finding["evidence"]
    assert only(report, "nat_masquerade_missing")["remedy"] is None


def test_the_same_priority_is_decided_by_the_name(facts):
    # blockfwd sorts before wgdfw-wg0 and runs first; zblockfwd after it (recorded: 0/3 and 3/3 pings after the remedy).
    first = only(run(full_tunnel_hub(facts, "any_any_drop_minus1_name_before")), "forward_chain_blocks")
    assert first["remedy"] is None
    assert "policy blockfwd (priority -1) runs before" in first["summary"] and "blockfwd sorts before wgdfw-wg0" in first["summary"], first["summary"]
    later = only(run(full_tunnel_hub(healthy_facts(), "any_any_drop_minus1_name_after")), "forward_chain_blocks")
    assert later["remedy"] is not None and "runs before" not in later["summary"], later["summary"]


@pytest.mark.parametrize("scenario", sorted(name for name in PROBES if FORWARDED[name] and MASQUERADED[name]))
def test_after_a_remedy_that_worked_neither_finding_is_left(facts, scenario):
    # The verification pass reads what firewalld holds after the remedy (recorded): forwarded and masqueraded.
    found = codes(run(full_tunnel_hub(facts, scenario, "after")))
    assert "forward_chain_blocks" not in found and "nat_masquerade_missing" not in found, found


@pytest.mark.parametrize("scenario", sorted(name for name in PROBES if not FORWARDED[name]))
def test_after_a_remedy_that_could_not_work_the_block_is_still_seen(facts, scenario):
    found = codes(run(full_tunnel_hub(facts, scenario, "after")))
    assert "forward_chain_blocks" in found, found
