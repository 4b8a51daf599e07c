"""The playbook's tasks call the record filters the way the tests above exercise them."""
from __future__ import annotations

from diagnosis_facts import HEALTHY_PINGS, healthy_facts, probe, run
from playbook_jinja import play_vars, render, set_fact_value

PASS = "playbooks/phases/diagnose_pass.yml"
REPORT = "playbooks/phases/report.yml"


def test_collect_task_takes_facts_from_hostvars_and_names_the_ends_without():
    facts = healthy_facts()
    hostvars = {"server": {"ansible_facts": {"wireguard": facts["server"]}},
                "client": {"wg_facts_result": {"unreachable": True, "msg": "UNREACHABLE! no route to client"}}}
    variables = {"hostvars": hostvars, "wg_end_hosts": ["server", "client"]}
    task = "Collect the facts of the ends that answered, and why the others did not"
    assert set_fact_value(PASS, task, "wg_facts_by_host", variables) == {"server": facts["server"]}
    assert set_fact_value(PASS, task, "wg_unreachable", variables) == {"client": "UNREACHABLE! no route to client"}


def test_plan_task_gives_both_plans():
    facts = healthy_facts()
    task = "Plan the probes and pings from one pairing of the ends"
    probes = set_fact_value(PASS, task, "wg_probes_planned", {"wg_facts_by_host": facts})
    pings = set_fact_value(PASS, task, "wg_pings_planned", {"wg_facts_by_host": facts})
    assert [(p["initiator"], p["responder"]) for p in probes] == [("client", "server")]
    assert sorted((p["from"], p["to"]) for p in pings) == [("client", "server"), ("server", "client")]


def test_no_probe_ran_when_the_probe_block_was_skipped():
    skipped = {"changed": False, "skipped": True, "skip_reason": "Conditional result was False"}
    variables = {"wg_probe_results": skipped, "wg_listen_results": skipped, "wg_controller_probe_results": skipped,
                 "wg_ping_results": {"results": []}}
    assert set_fact_value(PASS, "Assemble probe and ping records", "wg_probes", variables) == []


def test_report_after_section_comes_from_the_after_summary():
    after = dict(run(healthy_facts(), pings=HEALTHY_PINGS), probes=[probe("ok")], pings=HEALTHY_PINGS)
    variables = play_vars(REPORT, "localhost")
    variables["wg_reports"] = {"before": run(healthy_facts()), "after": after}
    variables["wg_hosts"] = "ends"
    variables["hostvars"] = {"server": {"wg_remedy_failures": [{"host": "server", "role": "wgdoctor.wireguard.service",
                                                               "task": "Start", "error": "unit failed"}]}, "client": {}}
    variables["wg_end_hosts"] = ["server", "client"]
    section = render(variables["wg_after_section"], variables)
    assert set(section) == {"after"}
    assert section["after"]["healthy"] is True and section["after"]["ping"]["client -> server (10.99.0.1)"] is True
    assert section["after"]["failed_remedies"] == [{"host": "server", "role": "wgdoctor.wireguard.service",
                                                    "task": "Start", "error": "unit failed"}]
    variables["wg_reports"] = {"before": run(healthy_facts())}
    assert render(variables["wg_after_section"], variables) == {}
