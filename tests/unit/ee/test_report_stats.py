"""The report's summary as AWX gets it: set_stats in the report phase, read from ansible-runner's events.

The report phase runs through ansible-runner (the engine under AWX) with the passes the earlier phases
leave (tests/unit/report/scenarios.py); the summary is the `artifact_data` of the playbook_on_stats
event, which AWX shows as the job's artifacts and hands to the next workflow node. The fleet lab test
(tests/integration/test_awx_runner_lab.py) runs the whole playbook this way.
"""
from __future__ import annotations

import json
import os
import sys
import typing as t

import ansible_runner

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
# The report tests' scenarios, and the diagnosis fixtures they are made of.
sys.path.insert(0, os.path.join(REPO, "tests", "unit", "diagnosis"))
sys.path.insert(0, os.path.join(REPO, "tests", "unit", "report"))
from scenarios import report_phase_inputs  # noqa: E402  pylint: disable=wrong-import-position

REPORT_PHASE = os.path.join(REPO, "playbooks", "phases", "report.yml")
SEVERITIES = ("critical", "error", "warning", "info")


def run_report_phase(tmp_path, remediate: bool, fail_on: str = "") -> tuple[t.Any, dict, dict]:
    """(the runner's result, report.json, the published summary)."""
    (tmp_path / "job" / "project").mkdir(parents=True)
    inventory, reports = report_phase_inputs(tmp_path, remediate)
    report_dir = tmp_path / "kept" / "wg-report"
    run = ansible_runner.run(
        private_data_dir=str(tmp_path / "job"), playbook=REPORT_PHASE, inventory=inventory, quiet=True,
        extravars={"wg_reports": reports, "wg_hosts": "ends", "wg_remediate": remediate, "wg_remediation_ran": remediate,
                   "wg_report_dir": str(report_dir), "wg_report_formats": "json", "wg_fail_on": fail_on},
        envvars={"ANSIBLE_COLLECTIONS_PATH": os.path.join(REPO, ".cache", "collections"), "ANSIBLE_NOCOLOR": "1",
                 "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")})
    stats = [event for event in run.events if event["event"] == "playbook_on_stats"]
    assert len(stats) == 1, run.stdout.read()[-3000:]
    report = json.loads((report_dir / "report.json").read_text())
    return run, report, stats[0]["event_data"]["artifact_data"]["wg_report_summary"]


def _expected(report: dict, report_dir: str) -> dict:
    now = report[report["now"]]
    return {"status": report["status"], "healthy": report["healthy"], "incomplete": report["incomplete"], "now": report["now"],
            "counts": {severity: sum(1 for f in now["findings"] if f["severity"] == severity) for severity in SEVERITIES},
            "findings": [{"severity": f["severity"], "code": f["code"], "host": f["host"]} for f in now["findings"]],
            "unchecked": len(now["unchecked"]), "report_dir": report_dir}


def test_the_summary_after_remediation_is_the_verification_s(tmp_path):
    run, report, summary = run_report_phase(tmp_path, remediate=True)
    assert run.status == "successful", run.stdout.read()[-3000:]
    assert summary == _expected(report, str(tmp_path / "kept" / "wg-report"))
    assert (summary["now"], summary["status"], summary["healthy"]) == ("after", "healthy", True)
    # The finding remediation fixed is in report.json's `before`, not in what remains.
    assert "udp_blocked_host_firewall" in [f["code"] for f in report["before"]["findings"]]
    assert "udp_blocked_host_firewall" not in [f["code"] for f in summary["findings"]]


def test_a_job_failed_by_wg_fail_on_carries_the_summary(tmp_path):
    run, report, summary = run_report_phase(tmp_path, remediate=False, fail_on="error")
    assert run.status == "failed" and run.rc != 0
    assert summary == _expected(report, str(tmp_path / "kept" / "wg-report"))
    assert summary["healthy"] is False and summary["counts"]["error"] + summary["counts"]["critical"] >= 1
    assert {"code": "udp_blocked_host_firewall", "host": "server"}.items() <= \
        next(f for f in summary["findings"] if f["code"] == "udp_blocked_host_firewall").items()
