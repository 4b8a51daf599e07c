"""What a remediation run did not apply is in the report, with why (issue #11): a saved remedy this run's
diagnosis does not confirm (-e wg_apply_report), a finding no role fixes (needs a person), a remedy that failed.
report.json carries them in `remediation.not_applied`; report.md and report.html list them as work left."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from report_schema_check import assert_valid_report, schema_errors

from ansible_collections.wgdoctor.wireguard.plugins.filter.wg_confirm_remedies import wg_confirm_remedies
from ansible_collections.wgdoctor.wireguard.plugins.filter.wg_report import wg_report
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.report import render_console, render_markdown
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.report_html import render_html

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
PORT = 47123
GENERATED = "2026-11-29T14:00:00Z"


def _finding(code, host, interface, remedy=None, severity="critical", peer=None):
    return {"code": code, "severity": severity, "host": host, "interface": interface, "peer": peer,
            "summary": "%s on %s" % (code, host), "evidence": ["seen on %s" % host], "remedy": remedy, "follows_from": []}


def _remedy(role, host, **variables):
    return {"role": "wgdoctor.wireguard." + role, "host": host, "vars": variables}


FIREWALL = _finding("udp_blocked_host_firewall", "hub", "wghub",
                    _remedy("firewall", "hub", firewall_port=PORT, firewall_interface="wghub", firewall_backend="nftables"))
# Saved when the report was reviewed; fixed by hand since, so this run does not find it.
SPOKE_DOWN = _finding("interface_down", "spoke1", "wgspoke", _remedy("service", "spoke1", service_interface="wgspoke"))
# No role of the collection installs WireGuard: a person does.
MISSING = _finding("wireguard_missing", "spoke2", None)
SYMPTOM = _finding("handshake_never", "hub", "wghub", severity="error", peer="SPOKEKEY")
ADVICE = _finding("monitor_missing", "hub", "wghub", severity="info")


def _pass(findings, healthy=False):
    return {"generated": GENERATED, "healthy": healthy, "incomplete": False, "unchecked": [], "findings": findings,
            "tunnels": [], "outside_peers": [], "probes": [], "pings": [], "mtu": []}


def _run(remedy, failed=False):
    run = {"host": remedy["host"], "role": remedy["role"], "vars": remedy["vars"], "changed": True, "failed": failed}
    if failed:
        run.update(changed=None, task="Load the nftables ruleset", error="nft: Could not process rule")
    return run


def remediated_report(failed=False):
    """A run with -e wg_apply_report: the saved report had the firewall and spoke1's interface; this run
    finds the firewall (confirmed, applied), wireguard missing on spoke2 (no remedy), and no longer spoke1."""
    before = _pass([FIREWALL, MISSING, SYMPTOM, ADVICE])
    review = wg_confirm_remedies(before["findings"], [FIREWALL, SPOKE_DOWN])
    assert [f["code"] for f in review["confirmed"]] == ["udp_blocked_host_firewall"]
    after = _pass([MISSING] if not failed else [FIREWALL, MISSING, SYMPTOM])
    return wg_report(before, [_run(FIREWALL["remedy"], failed)], after, False, review["not_applied"])


def test_report_json_names_the_unconfirmed_saved_remedy_and_the_one_that_needs_a_person():
    report = remediated_report()
    assert_valid_report(report)
    not_applied = report["remediation"]["not_applied"]
    assert [dict((k, n[k]) for k in ("host", "code", "interface", "peer", "role", "why")) for n in not_applied] == [
        {"host": "spoke1", "code": "interface_down", "interface": "wgspoke", "peer": None, "role": "wgdoctor.wireguard.service",
         "why": "not_found"},
        {"host": "spoke2", "code": "wireguard_missing", "interface": None, "peer": None, "role": None, "why": "needs_a_person"}]
    assert not_applied[0]["reason"] == "the diagnosis of this run does not find it"
    assert "docs/findings.md" in not_applied[1]["reason"] and "by hand" in not_applied[1]["reason"]
    # The symptom follows from a cause listed on its own, advice is no work: neither is listed.
    assert "handshake_never" not in json.dumps(not_applied) and "monitor_missing" not in json.dumps(not_applied)


def test_report_md_and_html_list_what_was_not_applied_and_why():
    report = remediated_report()
    markdown = render_markdown(report)
    story = markdown.split("## 2. What was done", 1)[1].split("## 3.", 1)[0]
    not_confirmed = story.split("### Not applied", 1)[1].split("###", 1)[0]
    assert "`interface_down` on spoke1 (wgspoke)" in not_confirmed and "the diagnosis of this run does not find it" in not_confirmed
    by_hand = story.split("### Needs a person", 1)[1]
    assert "`wireguard_missing` on spoke2" in by_hand and "docs/findings.md" in by_hand
    page = render_html(report)
    listed = page.split('id="not-applied"', 1)[1].split("</ul>", 1)[0]
    assert "interface_down" in listed and "spoke1" in listed and "wgspoke" in listed and "does not find it" in listed
    listed = page.split('id="needs-a-person"', 1)[1].split("</ul>", 1)[0]
    assert "wireguard_missing" in listed and "spoke2" in listed and "docs/findings.md" in listed


def test_without_remediation_report_md_and_html_list_what_needs_a_person():
    report = wg_report(_pass([FIREWALL, MISSING, SYMPTOM, ADVICE]))
    assert "remediation" not in report
    markdown = render_markdown(report)
    assert "## Needs a person" in markdown and "- `wireguard_missing` on spoke2" in markdown.split("## Needs a person", 1)[1]
    assert "udp_blocked_host_firewall on" not in markdown.split("## Needs a person", 1)[1]
    listed = render_html(report).split('id="needs-a-person"', 1)[1].split("</ul>", 1)[0]
    assert "wireguard_missing" in listed and "udp_blocked_host_firewall" not in listed and "handshake_never" not in listed


def test_the_console_keeps_its_line():
    console = render_console(remediated_report(), width=200)
    assert "Needs a person: wireguard_missing on spoke2" in console
    assert ("Not applied: interface_down on spoke1 (wgspoke) [wgdoctor.wireguard.service]: the diagnosis of this run does not find it"
            in console)


def test_a_failed_remedy_is_in_report_json_with_its_task_and_error_and_listed_as_work_left():
    report = remediated_report(failed=True)
    assert_valid_report(report)
    assert [(r["host"], r["role"], r["failed"], r["task"], r["error"]) for r in report["remediation"]["remedies"]] == [
        ("hub", "wgdoctor.wireguard.firewall", True, "Load the nftables ruleset", "nft: Could not process rule")]
    assert "FAILED in task 'Load the nftables ruleset'" in render_markdown(report)
    assert "FAILED in task" in render_html(report)


def test_without_a_saved_report_only_the_work_for_a_person_is_listed():
    before = _pass([FIREWALL, MISSING, SYMPTOM])
    report = wg_report(before, [_run(FIREWALL["remedy"])], _pass([MISSING]), False)
    assert [(n["code"], n["why"]) for n in report["remediation"]["not_applied"]] == [("wireguard_missing", "needs_a_person")]
    assert_valid_report(report)


def test_an_older_report_without_not_applied_still_matches_the_schema():
    report = remediated_report()
    del report["remediation"]["not_applied"]
    assert schema_errors(report) == []
    broken = json.loads(json.dumps(remediated_report()))
    broken["remediation"]["not_applied"][0]["why"] = "forgot"
    assert any("not_applied" in error for error in schema_errors(broken))


def test_the_report_phase_hands_the_review_of_remediate_yml_over(tmp_path):
    """report.yml as ansible-playbook runs it, with wg_remedy_review as remediate.yml leaves it on localhost."""
    before = _pass([FIREWALL, MISSING, SYMPTOM])
    review = wg_confirm_remedies(before["findings"], [FIREWALL, SPOKE_DOWN])
    inventory = {"all": {"children": {"ends": {"hosts": {
        "hub": {"ansible_connection": "local", "wg_remedy_runs": [_run(FIREWALL["remedy"])]},
        "spoke1": {"ansible_connection": "local"}, "spoke2": {"ansible_connection": "local"}}}}}}
    (tmp_path / "inventory.json").write_text(json.dumps(inventory))
    extra = {"wg_reports": {"before": before, "after": _pass([MISSING])}, "wg_hosts": "ends", "wg_remediate": True,
             "wg_remediation_ran": True, "wg_remedy_review": review, "wg_report_dir": str(tmp_path / "wg-report"),
             "wg_report_formats": ["json"]}
    (tmp_path / "extra.json").write_text(json.dumps(extra))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".cache", "collections"), ANSIBLE_NOCOLOR="1")
    result = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(tmp_path / "inventory.json"),
                             "-e", "@" + str(tmp_path / "extra.json"), os.path.join(REPO, "playbooks", "phases", "report.yml")],
                            cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads((tmp_path / "wg-report" / "report.json").read_text())
    assert_valid_report(report)
    assert [(n["code"], n["host"], n["why"]) for n in report["remediation"]["not_applied"]] == [
        ("interface_down", "spoke1", "not_found"), ("wireguard_missing", "spoke2", "needs_a_person")]
