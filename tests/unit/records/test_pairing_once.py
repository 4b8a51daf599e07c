"""A diagnosis pass pairs the ends once: the plan task pairs them, the Diagnose task reuses that pairing."""
from __future__ import annotations

import copy
import json

import pytest

from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils import topology
from diagnosis_facts import (
    HEALTHY_PINGS, NOW, OUTSIDE_KEY, STRANGER_KEY, config_peer, healthy_facts, probe, runtime_peer,
)
from playbook_jinja import render, set_fact_value, task

PASS = "playbooks/phases/diagnose_pass.yml"
PLAN = "Plan the probes and pings from one pairing of the ends"


@pytest.fixture()
def pairings(monkeypatch):
    calls = []
    real = topology.Topology._pair

    def counting(self):
        calls.append(sorted(end.host for end in self.ends))
        return real(self)
    monkeypatch.setattr(topology.Topology, "_pair", counting)
    return calls


def _diagnose_task_report(variables):
    diagnose = task(PASS, "Diagnose")
    scope = dict(diagnose.get("vars") or {})
    scope.update(variables)
    return render(scope["wg_phase_report"], scope)


def test_the_playbook_pairs_the_ends_once_per_pass(pairings):
    facts = healthy_facts()
    variables = {"wg_facts_by_host": facts}
    pairing = set_fact_value(PASS, PLAN, "wg_pairing", variables)
    assert len(pairings) == 1
    # A fact survives between tasks as JSON-like data.
    pairing = json.loads(json.dumps(pairing))
    variables.update(wg_pairing=pairing, wg_probes=[probe("ok")], wg_pings=HEALTHY_PINGS, wg_unreachable={},
                     wg_mtu=[], wg_phase="before")
    report = _diagnose_task_report(variables)
    assert len(pairings) == 1, "the Diagnose task paired the ends again"
    assert [(tunnel["a"]["host"], tunnel["b"]["host"]) for tunnel in report["tunnels"]] == [("client", "server")]
    assert report["healthy"] is True


def _odd_facts():
    """A wrong key paired by endpoint, and a peer that belongs to no inventory host."""
    facts = healthy_facts()
    for peer in (config_peer(facts, "client"), runtime_peer(facts, "client")):
        peer["public_key"] = STRANGER_KEY
    server = facts["server"]["interfaces"]
    name = sorted(server)[0]
    stranger = copy.deepcopy(server[name]["config"]["peers"][0])
    stranger["public_key"] = OUTSIDE_KEY
    stranger["endpoint"] = None
    stranger["allowed_ips"] = ["10.250.0.9/32"]
    server[name]["config"]["peers"].append(stranger)
    return facts


@pytest.mark.parametrize("make_facts", [healthy_facts, _odd_facts])
def test_a_reused_pairing_is_the_pairing(make_facts, pairings):
    facts = make_facts()
    fresh = topology.build_topology(facts)
    reused = topology.build_topology(facts, json.loads(json.dumps(fresh.pairing())))
    assert len(pairings) == 1 and reused.reused_pairing
    assert reused.as_report() == fresh.as_report()


def test_a_pairing_that_does_not_fit_the_facts_is_made_again(pairings):
    facts = healthy_facts()
    old = topology.build_topology(facts).pairing()
    renamed = healthy_facts()
    server = renamed["server"]["interfaces"]
    name = sorted(server)[0]
    server["wgx7"] = server.pop(name)
    server["wgx7"]["name"] = "wgx7"
    again = topology.build_topology(renamed, old)
    assert not again.reused_pairing and len(pairings) == 2
    assert again.as_report() == topology.build_topology(renamed).as_report()
    for garbage in (None, "x", {"ends": old["ends"]}, dict(old, links=[[0, 9, []]]), dict(old, links=[[0, 1, [[0, OUTSIDE_KEY, "keys"]]]])):
        assert not topology.build_topology(facts, garbage).reused_pairing


def test_the_diagnosis_reports_the_same_with_and_without_the_pairing():
    from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.diagnosis import diagnose
    facts = _odd_facts()
    pairing = topology.build_topology(facts).pairing()
    with_pairing = diagnose(facts, [probe("ok")], [], {}, NOW, pairing=pairing)
    assert with_pairing == diagnose(facts, [probe("ok")], [], {}, NOW)
