"""What remediation ran reaches the report: report.json's `remediation`, the console and report.md."""
from __future__ import annotations

import json

from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.records import remedy_failures, remedy_runs
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.report import assemble, render_console, render_markdown
from diagnosis_facts import SERVER_KEY, healthy_facts, run
from report_schema_check import assert_valid_report

# Key-shaped, as a careless error message could quote it (not a key of any test host).
KEY_IN_MESSAGE = "kH2xXgAZvGXfzYDfjUvV3pP7ugB3mQ3Y8oKJmA8Lm0Q="


def failures_of_two_ends():
    hostvars = {
        "hub-1": {"wg_remedy_failures": [{"host": "hub-1", "role": "wgdoctor.wireguard.service", "task": "Start wg-quick",
                                          "error": "Job for wg-quick@wg-hub.service failed"}]},
        "spoke-2": {"wg_remedy_failures": [{"host": "spoke-2", "role": "wgdoctor.wireguard.peer", "task": "Set the key",
                                            "error": "wg set failed for " + KEY_IN_MESSAGE + " " + "x" * 900}]},
        "spoke-3": {},
    }
    return remedy_failures(hostvars, ["hub-1", "spoke-3", "spoke-2", "gone"])


def runs_of_three_ends():
    """As apply_remedy.yml records them: every remedy that ran, the failed ones with their task and error."""
    hostvars = {
        "hub-1": {"wg_remedy_runs": [
            {"host": "hub-1", "role": "wgdoctor.wireguard.firewall", "changed": None, "failed": False,
             "vars": {"firewall_port": 41194, "firewall_interface": "wg-hub", "firewall_backend": None}},
            {"host": "hub-1", "role": "wgdoctor.wireguard.service", "vars": {"service_interface": "wg-hub"}, "changed": None,
             "failed": True, "task": "Start wg-quick", "error": "Job for wg-quick@wg-hub.service failed"}]},
        "spoke-2": {"wg_remedy_runs": [
            {"host": "spoke-2", "role": "wgdoctor.wireguard.peer", "changed": True, "failed": True, "task": "Set the key",
             "vars": {"peer_interface": "wg-spoke", "peer_new_public_key": SERVER_KEY, "peer_preshared_key": KEY_IN_MESSAGE},
             "error": "wg set failed for " + KEY_IN_MESSAGE + " " + "x" * 900}]},
        "spoke-3": {"wg_remedy_runs": "garbage"},
    }
    return remedy_runs(hostvars, ["hub-1", "spoke-3", "spoke-2", "gone"])


def test_failed_remedies_are_collected_per_end_in_host_order_without_anything_key_shaped():
    failures = failures_of_two_ends()
    assert [(f["host"], f["role"]) for f in failures] == [("hub-1", "wgdoctor.wireguard.service"),
                                                          ("spoke-2", "wgdoctor.wireguard.peer")]
    assert KEY_IN_MESSAGE not in json.dumps(failures) and "(redacted)" in failures[1]["error"]
    assert len(failures[1]["error"]) <= 500


def test_every_remedy_that_ran_is_collected_in_host_order_with_secrets_redacted():
    runs = runs_of_three_ends()
    assert [(r["host"], r["role"], r["failed"]) for r in runs] == [
        ("hub-1", "wgdoctor.wireguard.firewall", False), ("hub-1", "wgdoctor.wireguard.service", True),
        ("spoke-2", "wgdoctor.wireguard.peer", True)]
    assert runs[0]["task"] is None and runs[0]["error"] is None and runs[0]["changed"] is None
    assert runs[2]["changed"] is True
    # A public key is shown whole; a variable whose name says secret is not, nor a key-shaped error.
    assert runs[2]["vars"]["peer_new_public_key"] == SERVER_KEY
    assert runs[2]["vars"]["peer_preshared_key"] == "(redacted)"
    assert KEY_IN_MESSAGE not in json.dumps(runs) and len(runs[2]["error"]) <= 500


def test_the_remediation_section_the_console_and_the_markdown_name_what_ran_and_what_failed():
    report = assemble(run(healthy_facts()), runs_of_three_ends(), run(healthy_facts()))
    assert_valid_report(report)
    assert [r["host"] for r in report["remediation"]["remedies"] if r["failed"]] == ["hub-1", "spoke-2"]
    console = render_console(report, width=200)
    assert "  hub-1: wgdoctor.wireguard.service service_interface=wg-hub -> FAILED in task 'Start wg-quick'" in console
    assert "  hub-1: wgdoctor.wireguard.firewall firewall_interface=wg-hub firewall_port=41194 -> ran" in console
    markdown = render_markdown(report)
    assert "## 2. What was done" in markdown
    assert "| spoke-2 | wgdoctor.wireguard.peer |" in markdown and "FAILED in task 'Set the key'" in markdown
    assert KEY_IN_MESSAGE not in console + markdown


def test_a_schema_1_report_with_failed_remedies_is_still_read():
    old = dict(run(healthy_facts()), after={"healthy": True, "incomplete": False, "unchecked": [], "findings": [],
                                            "handshake": {}, "ping": {}, "probes": [], "failed_remedies": failures_of_two_ends()})
    console = render_console(old, width=200)
    assert "  hub-1: wgdoctor.wireguard.service -> FAILED in task 'Start wg-quick'" in console


def test_no_remediation_no_section():
    report = assemble(run(healthy_facts()))
    assert_valid_report(report)
    assert "remediation" not in report and "after" not in report
    assert "REMEDIATION" not in render_console(report) and "What was done" not in render_markdown(report)
