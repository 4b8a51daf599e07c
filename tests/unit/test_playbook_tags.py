"""diagnose.yml runs by phase with tags (issue #13): facts, probe, diagnose, remediate, report.

`ansible-playbook --list-tasks` with the tags a user would give says which tasks run; a whole run still lists
every task. What the tags leave out of a pass is filled in by phases/diagnose_unprobed.yml: its Jinja is
rendered here as the playbook renders it.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "records"))

from playbook_jinja import render  # noqa: E402  pylint: disable=wrong-import-position

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
UNPROBED = os.path.join(REPO, "playbooks", "phases", "diagnose_unprobed.yml")

FACTS = "Read configs, runtime state, firewall and system of this end"
PROBE = "Send a handshake initiation"
DIAGNOSE = "Diagnose"
FROM_FACTS = "Diagnose from the facts alone, the diagnosis of the pass having been left out by the tags"
NOT_PROBED = "Say that no handshake probe was sent and no ping ran, as the tags left them out"
REMEDIATE = "Apply each remedy of this end through its role, in report order"
REPORT = "Show the report"


@pytest.fixture(scope="module")
def inventory(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("tags") / "inventory.ini"
    path.write_text("[wireguard]\nserver ansible_connection=local\nclient ansible_connection=local\n")
    return str(path)


def listed(inventory: str, *tag_args: str) -> list[str]:
    """The names of the tasks diagnose.yml would run with these tag arguments, in order."""
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".cache", "collections"), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run([ANSIBLE_PLAYBOOK, "-i", inventory, os.path.join(REPO, "playbooks", "diagnose.yml"),
                           "--list-tasks", *tag_args], env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return [line.strip().split("\t")[0] for line in proc.stdout.splitlines()
            if line.startswith("      ") and "\tTAGS: " in line]


def has(tasks: list[str], name: str) -> bool:
    return any(task.startswith(name) for task in tasks)


def test_a_whole_run_still_runs_every_phase(inventory):
    tasks = listed(inventory)
    for name in (FACTS, PROBE, DIAGNOSE, FROM_FACTS, NOT_PROBED, REMEDIATE, REPORT):
        assert has(tasks, name), name
    # The "after" pass too: two diagnosis passes around the remediation.
    assert tasks.count(FACTS) == 2 and tasks.count(DIAGNOSE) == 2


def test_tags_facts_gathers_only(inventory):
    assert listed(inventory, "--tags", "facts") == [FACTS, FACTS]


def test_tags_facts_and_report_report_from_the_facts_without_probing_nor_remediating(inventory):
    tasks = listed(inventory, "--tags", "facts,report")
    assert has(tasks, FACTS) and has(tasks, FROM_FACTS) and has(tasks, NOT_PROBED) and has(tasks, REPORT)
    assert not has(tasks, PROBE) and DIAGNOSE not in tasks and not has(tasks, REMEDIATE)


def test_skip_tags_probe_sends_no_probe_but_diagnoses_remediates_and_reports(inventory):
    tasks = listed(inventory, "--skip-tags", "probe")
    assert not has(tasks, PROBE)
    for name in (FACTS, NOT_PROBED, REMEDIATE, REPORT):
        assert has(tasks, name), name


def test_skip_tags_remediate_applies_no_remedy(inventory):
    tasks = listed(inventory, "--skip-tags", "remediate")
    assert not has(tasks, REMEDIATE)
    # Only the "before" pass is left: the "after" pass verifies a remediation.
    assert tasks.count(FACTS) == 1 and tasks.count(DIAGNOSE) == 1 and has(tasks, PROBE) and has(tasks, REPORT)


def _unprobed_play() -> dict:
    import yaml
    with open(UNPROBED, encoding="utf-8") as handle:
        [play] = yaml.safe_load(handle)
    return play


@pytest.mark.parametrize("run_tags, skip_tags, probes_ran", [
    (["all"], [], True),
    (["facts", "diagnose", "report"], [], True),
    (["facts", "report"], [], False),
    (["all"], ["probe"], False),
    (["all"], ["remediate"], True),
])
def test_the_pass_knows_whether_the_tags_let_the_probes_run(run_tags, skip_tags, probes_ran):
    play = _unprobed_play()
    scope = dict(play["vars"], ansible_run_tags=run_tags, ansible_skip_tags=skip_tags)
    assert render("{{ wg_probes_ran | bool }}", scope) is probes_ran


def test_a_pass_without_probes_is_incomplete_and_says_why():
    play = _unprobed_play()
    [task] = [item for item in play["tasks"] if item["name"] == NOT_PROBED]
    healthy = {"healthy": True, "incomplete": False, "unchecked": [], "findings": [], "tunnels": []}
    reports = render(task["ansible.builtin.set_fact"]["wg_reports"], {"wg_reports": {"before": healthy}, "wg_phase": "before"})
    before = reports["before"]
    assert (before["healthy"], before["incomplete"]) == (False, True)
    assert [u["host"] for u in before["unchecked"]] == [None] and "probe phase was left out" in before["unchecked"][0]["what"]


def test_the_report_tells_no_remediation_the_tags_left_out():
    import yaml
    with open(os.path.join(REPO, "playbooks", "phases", "report.yml"), encoding="utf-8") as handle:
        [play] = yaml.safe_load(handle)
    scope = dict(play["vars"], wg_remediate=True, hostvars={"server": {}}, wg_end_hosts=["server"])
    assert render("{{ wg_remediation }}", scope) is None
    assert render("{{ wg_remediation }}", dict(scope, wg_remediation_ran=True)) == []
