"""The report phase as ansible-playbook runs it: one report.json of schema 2 and the files wg_report_formats asks for."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from report_schema_check import assert_valid_report
from scenarios import report_phase_inputs

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
REPORT_PHASE = os.path.join(REPO, "playbooks", "phases", "report.yml")


def run_report_phase(tmp_path, formats, remediate):
    """report.yml on the controller, with the passes and the ends' recorded remedies as the earlier phases leave them."""
    inventory, reports = report_phase_inputs(tmp_path, remediate)
    # phases/remediate.yml notes wg_remediation_ran when it ran.
    extra = {"wg_reports": reports, "wg_hosts": "ends", "wg_remediate": remediate, "wg_remediation_ran": remediate,
             "wg_report_dir": str(tmp_path / "wg-report"),
             "wg_report_formats": formats}
    (tmp_path / "extra.json").write_text(json.dumps(extra))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".cache", "collections"), ANSIBLE_NOCOLOR="1")
    return subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory,
                           "-e", "@" + str(tmp_path / "extra.json"), REPORT_PHASE],
                          cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=300, check=False)


def test_the_report_phase_writes_every_format_asked_for_and_the_story_of_a_fix(tmp_path):
    result = run_report_phase(tmp_path, "json,md,html,junit", True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    files = sorted(os.listdir(tmp_path / "wg-report"))
    assert files == ["report.html", "report.json", "report.md", "report.xml"]
    report = json.loads((tmp_path / "wg-report" / "report.json").read_text())
    assert_valid_report(report)
    assert (report["now"], report["status"], report["healthy"]) == ("after", "healthy", True)
    assert report["before"]["findings"][0]["code"] == "udp_blocked_host_firewall"
    assert [(r["host"], r["role"], r["failed"]) for r in report["remediation"]["remedies"]] == \
        [("server", "wgdoctor.wireguard.firewall", False)]
    markdown = (tmp_path / "wg-report" / "report.md").read_text()
    story = [markdown.index(heading) for heading in ("## 1. What was wrong", "## 2. What was done", "## 3. What it is now")]
    assert story == sorted(story)
    assert ET.parse(tmp_path / "wg-report" / "report.xml").getroot().find("testsuite").get("failures") == "0"
    assert "AFTER remediation: HEALTHY" in result.stdout and "THE TUNNEL IS UP" in result.stdout


def test_the_default_formats_and_no_remediation(tmp_path):
    result = run_report_phase(tmp_path, ["json", "md", "html"], False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert sorted(os.listdir(tmp_path / "wg-report")) == ["report.html", "report.json", "report.md"]
    report = json.loads((tmp_path / "wg-report" / "report.json").read_text())
    assert_valid_report(report)
    assert "remediation" not in report and report["status"] == "unhealthy"


@pytest.mark.parametrize("formats", ["json,pdf"])
def test_an_unknown_format_is_refused_by_name(tmp_path, formats):
    result = run_report_phase(tmp_path, formats, False)
    assert result.returncode != 0 and "wg_report_formats: unknown pdf" in result.stdout


def _mode(path) -> int:
    return os.stat(path).st_mode & 0o777


def test_the_report_is_readable_by_its_owner_only(tmp_path):
    # The report names hosts, addresses, public keys and firewall rules: nobody else on the controller reads it.
    result = run_report_phase(tmp_path, "json,md,html,junit", True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert _mode(tmp_path / "wg-report") == 0o700
    assert dict((name, _mode(tmp_path / "wg-report" / name)) for name in os.listdir(tmp_path / "wg-report")) == \
        dict.fromkeys(["report.html", "report.json", "report.md", "report.xml"], 0o600)


def test_an_existing_report_dir_keeps_its_mode_and_old_report_files_are_tightened(tmp_path):
    # A directory the user named (it may be `.` or a shared one) is not the collection's to chmod; its files are.
    (tmp_path / "wg-report").mkdir(mode=0o755)
    os.chmod(tmp_path / "wg-report", 0o755)
    (tmp_path / "wg-report" / "report.json").write_text("{}")
    os.chmod(tmp_path / "wg-report" / "report.json", 0o644)
    result = run_report_phase(tmp_path, "json", False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert _mode(tmp_path / "wg-report") == 0o755
    assert _mode(tmp_path / "wg-report" / "report.json") == 0o600
