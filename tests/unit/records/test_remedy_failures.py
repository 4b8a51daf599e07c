"""A remedy that failed on an end reaches the report: report.json's `after`, the console and report.md."""
from __future__ import annotations

import json

from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.records import after_summary, remedy_failures
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.report import render_console, render_markdown
from diagnosis_facts import healthy_facts, run

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


def test_failed_remedies_are_collected_per_end_in_host_order_without_anything_key_shaped():
    failures = failures_of_two_ends()
    assert [(f["host"], f["role"]) for f in failures] == [("hub-1", "wgdoctor.wireguard.service"),
                                                          ("spoke-2", "wgdoctor.wireguard.peer")]
    assert KEY_IN_MESSAGE not in json.dumps(failures) and "(redacted)" in failures[1]["error"]
    assert len(failures[1]["error"]) <= 500


def test_the_after_section_the_console_and_the_markdown_name_the_failed_remedy():
    after_pass = run(healthy_facts())
    summary = after_summary(after_pass, failures_of_two_ends())
    assert [f["host"] for f in summary["failed_remedies"]] == ["hub-1", "spoke-2"]
    shown = dict(after_pass, after=summary)
    console = render_console(shown, width=200)
    assert "Remedy FAILED on hub-1: wgdoctor.wireguard.service, task 'Start wg-quick'" in console
    markdown = render_markdown(shown)
    assert "## Remedies that failed" in markdown and "- spoke-2: wgdoctor.wireguard.peer" in markdown
    assert KEY_IN_MESSAGE not in console + markdown


def test_no_failure_no_section():
    after_pass = run(healthy_facts())
    shown = dict(after_pass, after=after_summary(after_pass))
    assert "FAILED" not in render_console(shown) and "Remedies that failed" not in render_markdown(shown)
