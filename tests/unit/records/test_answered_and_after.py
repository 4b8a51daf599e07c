"""The ends that answered, the pass plan from one pairing, and what "fresh" means."""
from __future__ import annotations

from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils import plan, topology
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.records import answered_ends
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.session import REJECT_AFTER_TIME, is_fresh
from diagnosis_facts import healthy_facts


def test_ends_without_facts_are_named_with_why():
    facts = healthy_facts()
    hostvars = {
        "server": {"ansible_facts": {"wireguard": facts["server"]}, "wg_facts_result": {"changed": False}},
        "client": {"ansible_facts": {}, "wg_facts_result": {"unreachable": True, "msg": "ssh: connect to host client: No route"}},
        "db1": {},
    }
    answered = answered_ends(hostvars, ["server", "client", "db1", "not-in-hostvars"])
    assert answered["facts_by_host"] == {"server": facts["server"]}
    assert answered["unreachable"] == {"client": "ssh: connect to host client: No route",
                                       "db1": "no facts gathered (host not reached)",
                                       "not-in-hostvars": "no facts gathered (host not reached)"}


def test_the_pass_plan_pairs_once_and_equals_both_plans(monkeypatch):
    facts = healthy_facts()
    built = []
    real = plan.build_topology

    def counting(facts_by_host):
        built.append(1)
        return real(facts_by_host)
    monkeypatch.setattr(plan, "build_topology", counting)
    both = plan.pass_plan(facts)
    assert len(built) == 1
    assert both == {"probes": plan.probe_plan(facts), "pings": plan.ping_plan(facts),
                    "pairing": real(facts).pairing()}
    assert both["probes"] and all(p["handshake_recent"] for p in both["pings"])
    assert isinstance(real(facts), topology.Topology)


def test_fresh_means_younger_than_reject_after_time():
    assert REJECT_AFTER_TIME == 180
    assert [is_fresh(age) for age in (0, 179.9, 180, 500, None, True, "5")] == [True, True, False, False, False, False, False]


def test_the_ping_plan_pings_only_through_a_fresh_session():
    facts = healthy_facts()
    for host in ("server", "client"):
        facts[host]["interfaces"]["wg0"]["runtime"]["peers"][0]["latest_handshake_age"] = REJECT_AFTER_TIME
    assert [p["handshake_recent"] for p in plan.ping_plan(facts)] == [False, False]
