"""diagnose.yml through ansible-runner, the engine under AWX and Automation Platform, on the fleet lab.

The run is laid out as AWX lays out a job: a private data directory whose project holds a playbook
that imports wgdoctor.wireguard.diagnose, the inventory, the survey's answers as extra vars and the
template's forks. One spoke of a hub + six spokes fleet is broken (its firewall drops its WireGuard
port). AWX throws the private data directory away when the job ends, so what a user keeps is
asserted after it is gone: report.json in wg_report_dir, a persistent path outside it, and the
summary set_stats published, which AWX shows as the job's artifacts and hands to the next workflow
node (the `artifact_data` of the runner's playbook_on_stats event). No private key of the fleet
appears anywhere in the runner's artifacts (stdout, job events, fact cache).
"""
from __future__ import annotations

import glob
import json
import os
import shutil
import sys
import time

import ansible_runner
import jsonschema
import pytest

from conftest import REPO, lab_env
from test_fleet_lab import Fleet, running_fleet

sys.path.insert(0, os.path.join(REPO, "tests", "lab"))
import fleet  # noqa: E402  pylint: disable=wrong-import-position,wrong-import-order

SPOKES = 6
FIREWALLED_SPOKE = fleet.DIALED_SPOKE
SEVERITIES = ("critical", "error", "warning", "info")
IDENT = "wgdoctor-diagnose"


@pytest.fixture
def fleet_lab(tmp_path_factory):
    """A freshly built fleet and its inventory file (as the fleet fault matrix builds it)."""
    with running_fleet(tmp_path_factory, SPOKES, "awx-runner") as the_fleet:
        yield the_fleet


def _firewall_spoke(the_fleet: Fleet, spoke: str) -> None:
    """The spoke's nftables drops its WireGuard port; hub and spoke forget their session, so that the
    tunnel has to handshake anew and cannot."""
    the_fleet.drop_port(spoke, fleet.spoke_spec(spoke)["listen_port"])
    fleet.restart(spoke)
    the_fleet.forget_on_hub(spoke)


def _job_private_data_dir(base) -> str:
    """What AWX hands ansible-runner: project/ with the job template's playbook. The project imports the
    collection's playbook, as a user's project does with collections/requirements.yml or an EE."""
    private = base / "job"
    (private / "project").mkdir(parents=True)
    (private / "project" / "diagnose.yml").write_text(
        "---\n- name: Diagnose WireGuard\n  ansible.builtin.import_playbook: wgdoctor.wireguard.diagnose\n")
    return str(private)


def _runner_env() -> dict[str, str]:
    """The execution environment's settings: the collection on the collections path, the lab's podman
    connection. Not the checkout's ansible.cfg: an AWX project does not have it."""
    env = lab_env()
    return {"ANSIBLE_COLLECTIONS_PATH": env["ANSIBLE_COLLECTIONS_PATH"], "ANSIBLE_PIPELINING": "True",
            "CONTAINERS_CONF": env["CONTAINERS_CONF"], "PATH": env["PATH"], "ANSIBLE_NOCOLOR": "1"}


def _stats_event(artifacts: str) -> dict:
    events = []
    for path in glob.glob(os.path.join(artifacts, "job_events", "*.json")):
        with open(path, encoding="utf-8") as handle:
            event = json.load(handle)
        if event.get("event") == "playbook_on_stats":
            events.append(event)
    assert len(events) == 1, f"expected one playbook_on_stats event, got {len(events)}"
    return events[0]


def _all_text(directory: str) -> list[tuple[str, str]]:
    texts = []
    for root, _dirs, files in os.walk(directory):
        for name in files:
            path = os.path.join(root, name)
            with open(path, encoding="utf-8", errors="replace") as handle:
                texts.append((os.path.relpath(path, directory), handle.read()))
    return texts


def test_runner_diagnoses_a_fleet_and_the_job_keeps_report_and_summary(fleet_lab, tmp_path):
    secrets = fleet_lab.private_keys()
    _firewall_spoke(fleet_lab, FIREWALLED_SPOKE)

    private_data_dir = _job_private_data_dir(tmp_path)
    # Where the report goes when the job's directory is thrown away: a path the user chose, outside it.
    persistent = tmp_path / "kept" / "wg-report"
    started = time.monotonic()
    run = ansible_runner.run(private_data_dir=private_data_dir, ident=IDENT, playbook="diagnose.yml",
                             inventory=fleet_lab.inventory, forks=SPOKES + 1, envvars=_runner_env(), quiet=True,
                             extravars={"wg_hosts": "wireguard", "wg_remediate": False, "wg_fail_on": "",
                                        "wg_report_dir": str(persistent)})
    wall = time.monotonic() - started
    print(f"\n[awx-runner] diagnose.yml through ansible-runner on hub + {SPOKES} spokes, one spoke firewalled: {wall:.1f} s")
    artifacts = os.path.join(private_data_dir, "artifacts", IDENT)
    stdout = run.stdout.read()
    assert run.status == "successful" and run.rc == 0, f"{run.status} rc={run.rc}\n{stdout[-6000:]}"

    # The job's artifacts, read as AWX reads them: the stats event carries what set_stats published.
    summary = _stats_event(artifacts)["event_data"]["artifact_data"]["wg_report_summary"]
    texts = _all_text(os.path.join(private_data_dir, "artifacts"))
    for host, secret in secrets.items():
        assert secret, f"no private key read on {host}"
        leaked = [name for name, text in texts if secret in text]
        assert not leaked, f"{host}'s private key appears in the runner's artifacts: {leaked}"

    # AWX removes the job's private data directory; the report stays where the job was told to write it.
    shutil.rmtree(private_data_dir)
    with open(persistent / "report.json", encoding="utf-8") as handle:
        report = json.load(handle)
    with open(os.path.join(REPO, "plugins", "plugin_utils", "report_schema.json"), encoding="utf-8") as schema:
        jsonschema.validate(report, json.load(schema))
    assert {path.name for path in persistent.iterdir()} == {"report.json", "report.md", "report.html"}

    # The fault is found, on its spoke, and the artifacts say what report.json says.
    findings = report["before"]["findings"]
    blocked = [f for f in findings if f["code"] == "udp_blocked_host_firewall"]
    assert blocked and {f["host"] for f in blocked} == {FIREWALLED_SPOKE}, [(f["code"], f["host"]) for f in findings]
    assert report["healthy"] is False and report["now"] == "before"
    assert summary["healthy"] is False and summary["status"] == report["status"] == "unhealthy"
    assert summary["incomplete"] is report["incomplete"] and summary["now"] == "before"
    assert summary["counts"] == {severity: sum(1 for f in findings if f["severity"] == severity) for severity in SEVERITIES}
    assert summary["counts"]["error"] + summary["counts"]["critical"] >= 1
    assert summary["findings"] == [{"severity": f["severity"], "code": f["code"], "host": f["host"]} for f in findings]
    assert {"severity": blocked[0]["severity"], "code": "udp_blocked_host_firewall", "host": FIREWALLED_SPOKE} in summary["findings"]
    assert summary["unchecked"] == len(report["before"]["unchecked"])
    assert summary["report_dir"] == str(persistent)
