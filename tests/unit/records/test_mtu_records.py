"""MTU records (issue #16): from wg_path_mtu's registered results to the diagnosis and into a valid report.json."""
from __future__ import annotations

from diagnosis_facts import HEALTHY_PINGS, NOW, healthy_facts, probe
import os

import yaml
from playbook_jinja import REPO, render
from report_schema_check import assert_valid_report

from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.diagnosis import diagnose
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.records import mtu_records
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.report import assemble

PLAN = {"from": "client", "to": "server", "address": "10.99.0.1", "interface": "wg0", "handshake_recent": True}
MEASURED = {"changed": False, "mtu": 1420, "header": 28, "largest": 1212, "smallest_lost": 1213, "probes": 14, "seconds": 4.1,
            "complete": True, "error": None, "item": PLAN,
            "underlay": {"address": "198.51.100.10", "interface": "eth0", "mtu": 1500, "largest": None,
                         "error": "no don't-fragment ping to 198.51.100.10 was answered (ICMP filtered?)"}}


def test_a_measurement_becomes_a_record_with_the_plan_items_ends():
    [record] = mtu_records([MEASURED])
    assert (record["from"], record["to"], record["address"], record["interface"]) == ("client", "server", "10.99.0.1", "wg0")
    assert (record["mtu"], record["largest"], record["smallest_lost"]) == (1420, 1212, 1213)
    assert record["underlay"]["interface"] == "eth0"
    assert "changed" not in record and "item" not in record


def test_async_status_results_find_the_plan_item_one_level_down():
    job = {"ansible_job_id": "j1.2", "started": 1, "finished": 0, "item": PLAN}
    [record] = mtu_records([dict(MEASURED, item=job, finished=1)])
    assert (record["from"], record["to"], record["largest"]) == ("client", "server", 1212)


def test_a_search_not_started_gives_no_record():
    skipped = {"skipped": True, "item": PLAN}
    assert mtu_records([skipped, "junk"]) == []
    assert mtu_records(None) == []


def test_a_search_that_gave_no_size_is_a_record_that_says_why_and_claims_none():
    """Started (its ping answered) but no size came back: the report must say it was not measured, not stay silent."""
    unreachable = {"unreachable": True, "msg": "no route", "item": PLAN}
    failed = {"failed": True, "msg": "ping: not found", "item": PLAN}
    job = {"ansible_job_id": "j1.3", "started": 1, "finished": 0, "item": dict(PLAN, **{"from": "server", "to": "client"})}
    timed_out = {"failed": True, "finished": 0, "attempts": 80, "msg": "", "item": job}
    records = mtu_records([unreachable, failed, timed_out])
    assert [(r["from"], r["largest"], r["complete"]) for r in records] == [("client", None, False)] * 2 + [("server", None, False)]
    assert [r["error"] for r in records] == ["the search gave no result: no route", "the search gave no result: ping: not found",
                                             "the search gave no result: it had not finished when the playbook stopped waiting"]
    assert all(r["mtu"] is None and r["interface"] == "wg0" for r in records)


def test_the_report_carries_the_records_and_matches_the_schema():
    records = mtu_records([MEASURED, dict(MEASURED, item=dict(PLAN, **{"from": "server", "to": "client", "address": "10.99.0.2"}),
                                          underlay=None)])
    before = dict(diagnose(healthy_facts(), [probe("ok")], HEALTHY_PINGS, {}, NOW, mtu_records=records),
                  probes=[], pings=HEALTHY_PINGS, mtu=records)
    report = assemble(before)
    assert report["before"]["mtu"] == records
    assert "tunnel_mtu_blackhole" in [f["code"] for f in report["before"]["findings"]]
    assert_valid_report(report)


def _phase_task(name):
    with open(os.path.join(REPO, "playbooks", "phases", "path_mtu.yml")) as handle:
        return [task for task in yaml.safe_load(handle) if task["name"] == name][0]


def test_the_playbook_filter_assembles_the_records():
    task = _phase_task("Assemble the MTU records")
    value = render(task["ansible.builtin.set_fact"]["wg_mtu"],
                   {"wg_path_mtu_results": {"results": [MEASURED, {"skipped": True, "item": PLAN}]}})
    assert [r["largest"] for r in value] == [1212]


def test_only_directions_whose_ping_answered_are_measured():
    task = _phase_task("Start the search for the largest don't-fragment ping through each tunnel whose ping answered")
    answered = {"rc": 0, "item": PLAN}
    lost = {"rc": 1, "item": dict(PLAN, **{"from": "server"})}
    not_run = {"skipped": True, "item": dict(PLAN, **{"from": "other"})}
    items = render(task["loop"], {"wg_ping_results": {"results": [answered, lost, not_run]}})
    assert items == [PLAN]
    assert task["wgdoctor.wireguard.wg_path_mtu"]["interface"] == "{{ item.interface }}"
