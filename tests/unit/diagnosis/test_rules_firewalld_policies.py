"""forward_chain_blocks and nat_masquerade_missing on a firewalld hub the firewall role fixed with a policy (issue #11).

The firewall facts come from the recorded firewall-cmd outputs of that hub
(tests/unit/firewall/fixtures/firewalld_policies/), read by wg_facts' own readers: its tunnel and
subnet renamed to those of the hand-written server (wg0, 10.99.0.0/24), nothing else changed.
"""
from __future__ import annotations

import os

import pytest

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall.reach import firewall_facts
from diagnosis_facts import codes, config_peer, never_handshaken, only, probe, run, runtime_peer, wg0

RECORDED = os.path.join(os.path.dirname(__file__), "..", "firewall", "fixtures", "firewalld_policies")
KEYS = ("state", "default_zone", "active_zones", "zones", "policies")


def recorded_firewall(state):
    outputs = {}
    for key in KEYS:
        with open(os.path.join(RECORDED, "%s.%s" % (state, key))) as handle:
            outputs["firewalld_" + key] = (0, handle.read().replace("fwhub5", "wg0").replace("10.95.0.", "10.99.0."), "")
    return firewall_facts(outputs, {"wg0": 51820}, ["wg0"], ["eth0"], {"wg0": "10.99.0.1"})


def full_tunnel_hub(facts, state):
    for peer in (config_peer(facts, "client"), runtime_peer(facts, "client")):
        peer["allowed_ips"] = ["0.0.0.0/0"]
    facts["server"]["forwarding"]["ipv4"] = True
    firewall = recorded_firewall(state)
    facts["server"]["firewall"] = {key: firewall[key] for key in ("backends", "forward", "masquerade")}
    wg0(facts, "server")["firewall"] = firewall["interfaces"]["wg0"]
    return facts


def test_the_fixed_hub_has_neither_finding(facts):
    found = codes(run(full_tunnel_hub(facts, "accept_and_masquerade")))
    assert "forward_chain_blocks" not in found and "nat_masquerade_missing" not in found, found


def test_the_half_fixed_hub_still_blocks_forwarding_but_masquerades(facts):
    report = run(full_tunnel_hub(facts, "masquerade_only"))
    assert "nat_masquerade_missing" not in codes(report)
    blocks = [f for f in report["findings"] if f["code"] == "forward_chain_blocks"]
    assert len(blocks) == 1 and "zone wgd-wg0" in blocks[0]["evidence"][0], codes(report)


@pytest.mark.parametrize("state", ["masquerade_only", "accept_and_masquerade"])
def test_the_recorded_firewall_is_read_without_errors(state):
    assert recorded_firewall(state)["errors"] == []


# ---------------------------------------------------------------- policies towards HOST (the input verdict)

HOST_RECORDED = os.path.join(os.path.dirname(__file__), "..", "firewall", "fixtures", "firewalld_host_policies")


def recorded_host_firewall(scenario):
    """A recorded server (firewalld_host_policies/) on the hand-written server's port: 44517 becomes 51820, nothing else changes."""
    outputs = {}
    for key in KEYS:
        with open(os.path.join(HOST_RECORDED, "%s.%s" % (scenario, key))) as handle:
            outputs["firewalld_" + key] = (0, handle.read().replace("44517", "51820"), "")
    return firewall_facts(outputs, {"wg0": 51820}, ["wg0"], ["eth0"], {"wg0": "10.99.0.1"})


def host_policy_server(facts, scenario):
    firewall = recorded_host_firewall(scenario)
    assert firewall["errors"] == []
    facts["server"]["firewall"] = {key: firewall[key] for key in ("backends", "forward", "masquerade")}
    wg0(facts, "server")["firewall"] = firewall["interfaces"]["wg0"]
    return never_handshaken(facts)


def test_a_policy_dropping_the_port_before_the_open_zone_is_the_root_cause(facts):
    report = run(host_policy_server(facts, "drop_before_open_zone"), probes=[probe("timeout", arrived=3)])
    finding = only(report, "udp_blocked_host_firewall")
    assert finding["host"] == "server" and report["findings"][0] is finding
    assert "firewalld: public/policy wgdhost verdict drop by rule 'target: DROP'" in finding["evidence"]


def test_a_policy_accepting_the_port_where_the_zone_does_not_is_no_firewall_block(facts):
    report = run(host_policy_server(facts, "accept_after_drop_zone"), probes=[probe("timeout", arrived=3)])
    assert "udp_blocked_host_firewall" not in codes(report)
