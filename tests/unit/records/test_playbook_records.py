"""The playbook's tasks call the record filters the way the tests above exercise them."""
from __future__ import annotations

from diagnosis_facts import HEALTHY_PINGS, healthy_facts, probe, run
from playbook_jinja import play_vars, render, set_fact_value
from report_schema_check import assert_valid_report

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


def _report_play_variables(reports, hostvars, remediate):
    variables = play_vars(REPORT, "localhost")
    variables.update(wg_reports=reports, wg_hosts="ends", hostvars=hostvars, wg_end_hosts=["server", "client"],
                     wg_remediate=remediate, ansible_check_mode=False)
    if remediate:
        # phases/remediate.yml notes that it ran (tags may leave it out).
        variables["wg_remediation_ran"] = True
    return variables


def test_report_tells_before_what_ran_and_after_from_the_recorded_runs():
    after = dict(run(healthy_facts(), pings=HEALTHY_PINGS), probes=[probe("ok")], pings=HEALTHY_PINGS)
    hostvars = {"server": {"wg_remedy_runs": [{"host": "server", "role": "wgdoctor.wireguard.service", "vars": {"service_interface": "wgs"},
                                               "changed": None, "failed": True, "task": "Start", "error": "unit failed"}]},
                "client": {}}
    variables = _report_play_variables({"before": run(healthy_facts()), "after": after}, hostvars, True)
    variables["wg_remediation"] = render(variables["wg_remediation"], variables)
    report = set_fact_value(REPORT, "Tell the story in one report - before, what remediation ran, after", "wg_report", variables)
    assert_valid_report(report)
    assert (report["schema"], report["now"], report["healthy"], report["status"]) == (2, "after", True, "healthy")
    assert report["remediation"] == {"check_mode": False, "remedies": [
        {"host": "server", "role": "wgdoctor.wireguard.service", "vars": {"service_interface": "wgs"}, "changed": None,
         "failed": True, "task": "Start", "error": "unit failed"}], "not_applied": []}
    assert [p["ok"] for p in report["after"]["pings"]] == [True, True]
    assert all(tunnel["handshake_fresh"] for tunnel in report["after"]["tunnels"])


def test_report_without_remediation_has_no_remediation_nor_after():
    variables = _report_play_variables({"before": run(healthy_facts())}, {"server": {}, "client": {}}, False)
    variables["wg_remediation"] = render(variables["wg_remediation"], variables)
    assert variables["wg_remediation"] is None
    report = set_fact_value(REPORT, "Tell the story in one report - before, what remediation ran, after", "wg_report", variables)
    assert_valid_report(report)
    assert set(report) == {"schema", "generated", "status", "healthy", "incomplete", "now", "before"}


def _apply_remedy_task(name):
    import os
    import yaml
    from playbook_jinja import REPO
    with open(os.path.join(REPO, "playbooks/phases/apply_remedy.yml")) as handle:
        tasks = yaml.safe_load(handle)
    [block] = tasks
    return block, next(item for item in block["rescue"] + block["always"] if item.get("name") == name)


def _set_facts(name, variables):
    block, item = _apply_remedy_task(name)
    scope = dict(block.get("vars") or {})
    scope.update(item.get("vars") or {})
    scope.update(variables)
    return dict((fact, render(value, scope)) for fact, value in item["ansible.builtin.set_fact"].items())


def test_apply_remedy_records_what_ran_and_what_failed_as_wg_remedy_runs_reads_it():
    firewall = {"role": "wgdoctor.wireguard.firewall", "host": "server", "vars": {"firewall_port": 41194, "firewall_interface": "wgs"}}
    service = {"role": "wgdoctor.wireguard.service", "host": "server", "vars": {"service_interface": "wgs"}}
    record = "Record the remedy that ran for the report"
    # The firewall remedy runs through; the service remedy fails, its rescue records the failure, then the run.
    state = {"inventory_hostname": "server"}
    state.update(_set_facts(record, dict(state, wg_remedy=firewall)))
    state.update(_set_facts("Record the failed remedy for the report", dict(
        state, wg_remedy=service, ansible_failed_task={"name": "Start wg-quick"}, ansible_failed_result={"msg": "unit failed"})))
    state.update(_set_facts(record, dict(state, wg_remedy=service)))
    runs = render("{{ hostvars | wgdoctor.wireguard.wg_remedy_runs(['server']) }}", {"hostvars": {"server": state}})
    assert [(r["role"], r["failed"], r["task"], r["error"]) for r in runs] == [
        ("wgdoctor.wireguard.firewall", False, None, None),
        ("wgdoctor.wireguard.service", True, "Start wg-quick", "unit failed")]
    assert runs[0]["vars"] == {"firewall_interface": "wgs", "firewall_port": 41194}
