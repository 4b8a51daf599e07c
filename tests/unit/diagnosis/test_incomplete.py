"""A check that crashes makes the report incomplete, never healthy (issue #11, honest diagnosis)."""
from __future__ import annotations

import pytest

from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils import diagnosis
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.diagnosis import handshake_path
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.report import render_console, render_markdown
from diagnosis_facts import HEALTHY_PINGS, codes, run


def crashing(rule):
    def udp_blocked_host_firewall(ctx):
        raise KeyError("verdict")
    assert rule.__name__ == udp_blocked_host_firewall.__name__
    return udp_blocked_host_firewall


@pytest.fixture
def firewall_check_crashes(monkeypatch):
    rules = tuple(crashing(rule) if rule is handshake_path.udp_blocked_host_firewall else rule
                  for rule in diagnosis.RULES)
    assert rules != diagnosis.RULES
    monkeypatch.setattr(diagnosis, "RULES", rules)


def test_a_crashed_firewall_check_makes_the_report_incomplete_not_healthy(facts, firewall_check_crashes):
    report = run(facts, pings=HEALTHY_PINGS)
    assert codes(report) == []
    assert report["unchecked"] == [{"host": None, "what": "check udp_blocked_host_firewall could not run on these facts (KeyError)"}]
    assert report["incomplete"] is True
    assert report["healthy"] is False


def test_console_and_markdown_say_incomplete_and_what_was_not_checked(facts, firewall_check_crashes):
    report = run(facts, pings=HEALTHY_PINGS)
    console = render_console(report)
    assert console.splitlines()[0].endswith("NOT HEALTHY, INCOMPLETE: no findings, 1 thing not checked")
    assert "Not checked: check udp_blocked_host_firewall could not run on these facts (KeyError)" in console
    markdown = render_markdown(report)
    assert "**NOT HEALTHY, INCOMPLETE: no findings, 1 thing not checked**" in markdown
    assert "- check udp_blocked_host_firewall could not run on these facts (KeyError)" in markdown


def test_an_unreachable_end_makes_the_report_incomplete(facts):
    del facts["client"]
    report = run(facts, unreachable={"client": "UNREACHABLE! ssh: connect to host client port 22: No route to host"})
    assert report["incomplete"] is True and report["healthy"] is False


def test_a_complete_clean_report_is_healthy_and_not_incomplete(facts):
    report = run(facts, pings=HEALTHY_PINGS)
    assert (report["unchecked"], report["incomplete"], report["healthy"]) == ([], False, True)
    assert render_console(report).splitlines()[0].endswith("HEALTHY: no findings")
