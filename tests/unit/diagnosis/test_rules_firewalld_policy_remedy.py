"""udp_blocked_host_firewall behind a firewalld policy: a remedy only where it fixes something (issue #11).

A policy towards HOST with a negative priority runs before the zone (recorded, firewalld_host_policies/): a DROP or
REJECT policy there discards the port although zone public opens it, so the firewall role's remedy (open the port in
the zone) changes the zone and fixes nothing, and the verification pass fails. The finding says so and what the admin
must do instead. A positive priority runs after the zone's rules: there the zone's open port does fix it (recorded:
drop_after_open_zone accepts), and the remedy stays.
"""
from __future__ import annotations

import json
import os

import pytest

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall.reach import firewall_facts
from diagnosis_facts import never_handshaken, only, probe, run, wg0
from test_rules_firewalld_policies import KEYS, host_policy_server

ADD_PORT = "firewall-cmd --permanent --policy wgdhost --add-port 51820/udp"


def blocked(facts, scenario):
    report = run(host_policy_server(facts, scenario), probes=[probe("timeout", arrived=3)])
    return only(report, "udp_blocked_host_firewall")


@pytest.mark.parametrize("scenario, verdict", [("drop_before_open_zone", "drop"), ("reject_before_open_zone", "reject")])
def test_a_policy_before_the_zone_gets_no_zone_remedy_and_says_what_to_do(facts, scenario, verdict):
    finding = blocked(facts, scenario)
    assert finding["remedy"] is None, finding["remedy"]
    summary = finding["summary"]
    assert "policy wgdhost" in summary and "before zone public" in summary and "no remedy" in summary, summary
    assert "%ss" % verdict in summary, summary
    assert "firewalld: public/policy wgdhost verdict %s by rule 'target: %s'" % (verdict, verdict.upper()) in finding["evidence"]
    assert any(ADD_PORT in line and "firewall-cmd --reload" in line for line in finding["evidence"]), finding["evidence"]


def test_a_policy_after_the_zone_keeps_the_zone_remedy(facts):
    # Positive priority: the zone's open port comes first (drop_after_open_zone was recorded accepting).
    finding = blocked(facts, "drop_after_closed_zone")
    assert finding["remedy"] is not None
    assert finding["remedy"]["vars"] == {"firewall_port": 51820, "firewall_interface": "wg0", "firewall_backend": "firewalld",
                                         "firewall_firewalld_zone": "public", "firewall_forward_uplinks": ["eth0"]}
    assert "policy wgdhost" not in finding["summary"] and not any(ADD_PORT in line for line in finding["evidence"])


# ---------------------------------------------------------------- the advice, recorded (firewalld_policy_remedies/)

REMEDIES_RECORDED = os.path.join(os.path.dirname(__file__), "..", "firewall", "fixtures", "firewalld_policy_remedies")
with open(os.path.join(REMEDIES_RECORDED, "probes.json")) as _handle:
    REMEDY_PROBES = {name: probe for name, probe in json.load(_handle).items() if not name.startswith("_")}


def recorded_remedy_server(facts, scenario):
    """A server of firewalld_policy_remedies/ on the hand-written server's port: 44517 becomes 51820, nothing else changes."""
    outputs = {}
    for key in KEYS:
        with open(os.path.join(REMEDIES_RECORDED, "%s.%s" % (scenario, key))) as handle:
            outputs["firewalld_" + key] = (0, handle.read().replace("44517", "51820"), "")
    firewall = firewall_facts(outputs, {"wg0": 51820}, ["wg0"], ["eth0"], {"wg0": "10.99.0.1"})
    assert firewall["errors"] == []
    facts["server"]["firewall"] = {key: firewall[key] for key in ("backends", "forward", "masquerade")}
    wg0(facts, "server")["firewall"] = firewall["interfaces"]["wg0"]
    return never_handshaken(facts)


def test_a_deny_rich_rule_of_an_early_policy_is_named_not_the_port(facts):
    # Recorded: with the port added to the policy, its deny rich rule still dropped every probe (deny before ports).
    assert REMEDY_PROBES["deny_rule_before_open_zone_port_added"]["arrived"] == 0
    rule = 'rule family="ipv4" port port="51820" protocol="udp" drop'
    report = run(recorded_remedy_server(facts, "deny_rule_before_open_zone_port_added"), probes=[probe("timeout", arrived=3)])
    finding = only(report, "udp_blocked_host_firewall")
    assert finding["remedy"] is None and "no remedy" in finding["summary"]
    assert "firewalld: public/policy wgdhost verdict drop by rule 'rich rule '%s''" % rule in finding["evidence"], finding["evidence"]
    assert not any(ADD_PORT in line for line in finding["evidence"]), finding["evidence"]
    assert any("firewall-cmd --permanent --policy wgdhost --remove-rich-rule '%s' && firewall-cmd --reload" % rule in line
               for line in finding["evidence"]), finding["evidence"]


@pytest.mark.parametrize("scenario", ["drop_before_open_zone_port_added", "reject_before_open_zone_port_added", "deny_rule_removed",
                                      "drop_moved_after_open_zone"])
def test_after_the_advice_the_port_is_open_and_nothing_is_named(facts, scenario):
    # Each is the advice followed on the lab server: every probe arrived, and the diagnosis sees the port open.
    assert REMEDY_PROBES[scenario]["arrived"] == REMEDY_PROBES[scenario]["sent"] == 3
    server = recorded_remedy_server(facts, scenario)
    assert wg0(server, "server")["firewall"]["input"]["verdict"] == "accept"
    assert "udp_blocked_host_firewall" not in [f["code"] for f in run(server, probes=[probe("timeout", arrived=3)])["findings"]]
