"""The monitor's last word on each end in report.json: what the schema allows, and what it refuses."""
from __future__ import annotations

import copy

from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.report import assemble
from diagnosis_facts import HEALTHY_PINGS, SERVER_KEY, healthy_facts, probe, run
from report_schema_check import assert_valid_report, schema_errors

NOT_INSTALLED = {"installed": False, "scheduler": None, "active": None, "state_file": "/var/lib/wgdoctor-monitor/state.json",
                 "last_run": None, "peers": [], "error": None}


def monitored_report():
    facts = healthy_facts()
    last_check = int(facts["client"]["clock"]["epoch"]) - 40
    facts["client"]["monitor"] = dict(NOT_INSTALLED, installed=True, scheduler="cron", last_run=last_check, peers=[{
        "interface": "wg0", "public_key": SERVER_KEY, "state": "down", "failures": 2, "alerted": True, "last_check": last_check,
        "failing_since": last_check - 60, "reasons": ["ping 10.99.0.1: no reply"]}])
    facts["server"]["monitor"] = dict(NOT_INSTALLED)
    return assemble(dict(run(facts, pings=HEALTHY_PINGS), probes=[probe("ok")], pings=HEALTHY_PINGS))


def test_a_report_with_the_monitor_on_its_tunnel_sides_matches_the_schema():
    report = monitored_report()
    assert_valid_report(report)
    sides = report["before"]["tunnels"][0]
    assert {sides["a"]["host"]: sides["a"]["monitor"]["state"], sides["b"]["host"]: sides["b"]["monitor"]["state"]} == {
        "client": "down", "server": None}


def test_the_schema_refuses_a_monitor_state_the_readers_do_not_know():
    report = monitored_report()
    broken = copy.deepcopy(report)
    broken["before"]["tunnels"][0]["a"]["monitor"]["state"] = "sleeping"
    assert any("monitor" in error for error in schema_errors(broken))
    broken = copy.deepcopy(report)
    broken["before"]["tunnels"][0]["a"]["monitor"]["failures"] = "2"
    assert any("monitor" in error for error in schema_errors(broken))


def test_advice_is_not_listed_as_work_for_a_person():
    from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.report import render_console
    report = monitored_report()
    assert "monitor_missing" in [finding["code"] for finding in report["before"]["findings"]]
    console = render_console(report)
    assert not any(line.startswith("Needs a person:") and "monitor_missing" in line for line in console.splitlines())
