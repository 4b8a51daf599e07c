"""udp_blocked_host_firewall behind a firewalld policy: a remedy only where it fixes something (issue #11).

A policy towards HOST with a negative priority runs before the zone (recorded, firewalld_host_policies/): a DROP or
REJECT policy there discards the port although zone public opens it, so the firewall role's remedy (open the port in
the zone) changes the zone and fixes nothing, and the verification pass fails. The finding says so and what the admin
must do instead. A positive priority runs after the zone's rules: there the zone's open port does fix it (recorded:
drop_after_open_zone accepts), and the remedy stays.
"""
from __future__ import annotations

import os

import pytest

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall.reach import firewall_facts
from diagnosis_facts import never_handshaken, only, probe, run, wg0
from test_rules_firewalld_policies import HOST_RECORDED, KEYS, host_policy_server

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


def test_a_deny_rich_rule_of_an_early_policy_is_named_not_the_port(facts):
    # Inside a policy its deny rich rules come before its allow rules: adding the port to it would not pass this one.
    rule = 'rule family="ipv4" port port="51820" protocol="udp" drop'
    outputs = {}
    for key in KEYS:
        with open(os.path.join(HOST_RECORDED, "drop_before_open_zone.%s" % key)) as handle:
            text = handle.read().replace("44517", "51820")
        if key == "policies":
            head, dummy_sep, policy = text.partition("wgdhost (active)")
            text = head + "wgdhost (active)" + policy.replace("target: DROP", "target: CONTINUE").rstrip("\n") + "\n\t%s\n" % rule
        outputs["firewalld_" + key] = (0, text, "")
    firewall = firewall_facts(outputs, {"wg0": 51820}, ["wg0"], ["eth0"], {"wg0": "10.99.0.1"})
    assert firewall["errors"] == []
    facts["server"]["firewall"] = {key: firewall[key] for key in ("backends", "forward", "masquerade")}
    wg0(facts, "server")["firewall"] = firewall["interfaces"]["wg0"]
    finding = only(run(never_handshaken(facts), probes=[probe("timeout", arrived=3)]), "udp_blocked_host_firewall")
    assert finding["remedy"] is None
    assert "firewalld: public/policy wgdhost verdict drop by rule 'rich rule '%s''" % rule in finding["evidence"], finding["evidence"]
    assert not any(ADD_PORT in line for line in finding["evidence"]), finding["evidence"]
    assert any("firewall-cmd --permanent --policy wgdhost --remove-rich-rule '%s'" % rule in line for line in finding["evidence"]), finding["evidence"]
