"""Every report the cases produce matches the JSON Schema the collection ships, and says what *now* is."""
from __future__ import annotations

import json

import pytest

from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.report import as_report, count_at_or_above, render_json
from report_schema_check import SCHEMA, assert_valid_report, schema_errors
from scenarios import SCENARIOS, fleet, healthy_pass, host_firewall_pass


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_case_matches_the_shipped_schema(name):
    assert_valid_report(SCENARIOS[name]())


def test_a_fleet_matches_the_schema():
    assert_valid_report(fleet())


def test_the_schema_refuses_what_a_reader_would_trip_on():
    report = SCENARIOS["host-firewall-remediated"]()
    assert schema_errors(report) == []
    assert schema_errors(dict(report, schema=1)) != []
    assert schema_errors(dict(report, healthy=False)) != [], "status healthy with healthy false"
    assert schema_errors(dict(report, now="before")) != [], "an after section the verdict ignores"
    no_after = dict(report)
    del no_after["after"]
    assert schema_errors(no_after) != [], "now says after without one"
    assert any("findings" in e for e in schema_errors(dict(report, before=dict(report["before"], findings=[{"code": "x"}]))))


def test_healthy_and_status_mean_now_after_remediation():
    fixed = SCENARIOS["host-firewall-remediated"]()
    assert (fixed["now"], fixed["status"], fixed["healthy"]) == ("after", "healthy", True)
    assert fixed["before"]["healthy"] is False and fixed["before"]["findings"][0]["code"] == "udp_blocked_host_firewall"
    assert count_at_or_above(fixed, "warning") == 0
    still = SCENARIOS["remedy-failed"]()
    assert (still["status"], still["healthy"]) == ("unhealthy", False) and count_at_or_above(still, "critical") >= 1


def test_check_mode_keeps_the_verdict_of_before():
    shown = SCENARIOS["check-mode"]()
    assert shown["now"] == "before" and "after" not in shown and shown["remediation"]["check_mode"] is True
    assert shown["status"] == "unhealthy"


def test_incomplete_is_its_own_status_unless_something_known_is_broken():
    assert SCENARIOS["incomplete"]()["status"] == "unhealthy"  # host_unreachable is critical itself
    assert SCENARIOS["incomplete-after"]()["incomplete"] is True and SCENARIOS["incomplete-after"]()["healthy"] is False
    quiet = dict(healthy_pass(), unchecked=[{"host": None, "what": "check clock_skew could not run (KeyError)"}])
    report = as_report(quiet)
    assert (report["status"], report["healthy"], report["incomplete"]) == ("incomplete", False, True)
    assert_valid_report(report)


def test_a_diagnosis_pass_and_a_schema_1_report_are_read_as_schema_2():
    old = dict(host_firewall_pass(), after={"healthy": True, "incomplete": False, "unchecked": [], "findings": [],
                                            "handshake": {}, "ping": {}, "probes": [], "failed_remedies": []})
    report = as_report(old)
    assert_valid_report(report)
    assert report["now"] == "after" and report["healthy"] is True and report["remediation"]["remedies"] == []


def test_the_schema_ships_in_the_collection_and_is_valid_json_schema():
    assert SCHEMA["properties"]["schema"] == {"const": 2}
    assert json.loads(render_json(SCENARIOS["healthy"]()))["schema"] == 2
