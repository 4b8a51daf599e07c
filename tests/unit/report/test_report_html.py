"""report.html draws each tunnel's handshake path from the evidence; report.xml gives CI a testcase per tunnel."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.wgdoctor.wireguard.plugins.filter.wg_report import FilterModule
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.report import COUNTER_NOTE
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.report_html import (
    BLOCKED, OPEN_BROKEN, PASSED, UNKNOWN, render_html, render_junit, tunnel_path,
)
from scenarios import SCENARIOS, fleet
from ansible.errors import AnsibleFilterError


def path_of(name):
    report = SCENARIOS[name]()
    part = report[report["now"]]
    return tunnel_path(part, part["tunnels"][0])


def statuses(path):
    return dict((hop["key"], hop["status"]) for hop in path["hops"])


def test_a_healthy_tunnel_passes_every_hop():
    path = path_of("healthy")
    assert path["status"] == "healthy" and path["died_at"] is None
    assert set(statuses(path).values()) == {PASSED}


def test_a_host_firewall_drop_blocks_the_responders_firewall_after_the_packets_reached_its_nic():
    path = path_of("host-firewall")
    hops = statuses(path)
    assert [hops[k] for k in ("initiator", "initiator_firewall", "network", "responder_address")] == [PASSED] * 4
    assert hops["responder_firewall"] == BLOCKED and path["hops"][path["died_at"]]["key"] == "responder_firewall"
    assert hops["wireguard"] == UNKNOWN and hops["reply"] == UNKNOWN
    detail = path["hops"][path["died_at"]]["detail"]
    assert "nftables: inet filter/input verdict drop by rule 'udp dport 51820 drop'" in detail and COUNTER_NOTE in detail


def test_packets_lost_upstream_die_in_the_network_between():
    path = path_of("upstream")
    hops = statuses(path)
    assert hops["initiator"] == PASSED and hops["network"] == BLOCKED
    assert path["hops"][path["died_at"]]["key"] == "network"
    assert hops["responder_address"] == UNKNOWN and hops["responder_firewall"] == UNKNOWN


def test_a_wrong_key_dies_at_wireguard_which_does_not_know_it():
    path = path_of("wrong-key")
    assert path["hops"][path["died_at"]]["key"] == "wireguard"
    assert "key known: no" in path["hops"][path["died_at"]]["detail"]
    assert statuses(path)["responder_address"] == PASSED


def test_the_page_needs_no_network_and_escapes_what_it_shows():
    report = SCENARIOS["host-firewall-remediated"]()
    report["before"]["findings"][0]["summary"] = "<script>alert(1)</script> & more"
    page = render_html(report)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page), "the page loads something from the network"
    assert "@import" not in page and "url(" not in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in page
    story = [page.index(marker) for marker in ('id="before"', 'id="remediation"', 'id="after"')]
    assert story == sorted(story), "what was wrong, what was done, what it is now"
    ids = re.findall(r' id="([^"]+)"', page)
    assert len(ids) == len(set(ids)), "the before and after tables share no element id"


def test_a_fleet_of_50_is_a_filterable_table_broken_first_and_collapsed():
    page = render_html(fleet(50, broken_every=7))
    rows = re.findall(r'<tr class="tunnel( open)?" data-status="(\w+)"', page)
    assert len(rows) == 50
    states = [state for _open, state in rows]
    assert states == sorted(states, key=lambda s: s != "broken") and states.count("broken") == 8
    assert not any(opened for opened, _state in rows), "more than %d broken tunnels start collapsed" % OPEN_BROKEN
    assert '<input class="q" type="search"' in page and "function wgFilter" in page


def test_junit_has_a_testcase_per_tunnel_and_failures_carry_the_codes():
    suite = ET.fromstring(render_junit(fleet(50, broken_every=7))).find("testsuite")
    cases = suite.findall("testcase")
    assert len(cases) == 50 and suite.get("failures") == "8" and suite.get("tests") == "50"
    failed = [case for case in cases if case.find("failure") is not None]
    assert failed[0].get("name") == "spoke-00/wg-hub <-> hub/wg-s00"
    assert failed[0].find("failure").get("message") == "udp_blocked_host_firewall handshake_never"


def test_junit_says_the_verdict_now_and_an_incomplete_diagnosis_is_an_error():
    fixed = ET.fromstring(render_junit(SCENARIOS["host-firewall-remediated"]())).find("testsuite")
    assert (fixed.get("tests"), fixed.get("failures"), fixed.get("errors")) == ("1", "0", "0")
    incomplete = ET.fromstring(render_junit(SCENARIOS["incomplete"]())).find("testsuite")
    assert incomplete.get("errors") == "1"
    names = [case.get("name") for case in incomplete.findall("testcase")]
    assert "client host_unreachable" in names and "everything was checked" in names


def test_the_filters_refuse_what_is_no_report():
    filters = FilterModule().filters()
    for name in ("wg_report_html", "wg_report_junit", "wg_report_findings"):
        with pytest.raises(AnsibleFilterError, match="must be a report"):
            filters[name]({"schema": 2})
    with pytest.raises(AnsibleFilterError, match="diagnosis pass"):
        filters["wg_report"]({"schema": 2, "before": {}})
    assert filters["wg_report_findings"](SCENARIOS["host-firewall-remediated"]()) == \
        SCENARIOS["host-firewall"]()["before"]["findings"]
    assert filters["wg_report_findings"](SCENARIOS["host-firewall-remediated"](), "now") == []


def test_every_cause_in_the_catalog_has_its_hop_on_the_drawn_path():
    # A new finding code without a hop would be drawn nowhere: the path would say "passed" around it.
    from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.diagnosis._common import CATALOG, SYMPTOMS
    from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.report_html import HOP_OF_CODE, OFF_PATH_CODES
    without_hop = [code for code, _severity in CATALOG if code not in HOP_OF_CODE and code not in SYMPTOMS and code not in OFF_PATH_CODES]
    # Only advice may stay off the path: a cause that can stop a handshake must be drawn where it does.
    assert all(dict(CATALOG)[code] == "info" for code in OFF_PATH_CODES)
    assert without_hop == []
