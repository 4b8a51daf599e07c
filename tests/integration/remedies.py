"""After a remediation run: the remedies it applied, applied again through their roles, change nothing.

One home for the idempotence check of the lab tests (the single-tunnel fault matrix, the fleet remediation
proof): generic over the lab object (anything with Lab's `playbook`) and the hosts whose PLAY RECAP must say
changed=0.
"""
from __future__ import annotations

import json
import typing as t


def _recap_changed(output: str, host: str) -> int:
    """changed= of `host`'s PLAY RECAP line in an ansible-playbook output."""
    for line in output.splitlines():
        words = line.split()
        if words[:1] == [host] and len(words) > 2 and words[1] == ":":
            return int(next(w for w in words if w.startswith("changed=")).split("=")[1])
    raise AssertionError(f"no PLAY RECAP line for {host}")


def assert_second_run_changes_nothing(lab: t.Any, report: dict, tmp_path, hosts: t.Sequence[str]) -> str:
    """The remedies the run applied, applied again through their roles with the same variables, change nothing.
    (A second diagnose.yml or remediate.yml would find nothing to fix and apply nothing: it would prove less, and
    take two diagnosis passes.)

    `report` is the remediation run's report.json; every remedy must be on one of `hosts`, and each of `hosts` must
    report changed=0. Returns the run's output (for the secret checks of the caller)."""
    remedies = report["remediation"]["remedies"]
    assert remedies, f"the run applied no remedy: {report['remediation']}"
    elsewhere = sorted({remedy["host"] for remedy in remedies} - set(hosts))
    # A remedy on a host outside the play would be skipped by its `when` and prove nothing.
    assert not elsewhere, f"remedies on hosts this check does not cover: {elsewhere}"
    tasks = [{"name": f"Apply remedy {number} again ({remedy['role']} on {remedy['host']})",
              "ansible.builtin.include_role": {"name": remedy["role"]},
              "vars": remedy["vars"], "when": f"inventory_hostname == {json.dumps(remedy['host'])}"}
             for number, remedy in enumerate(remedies)]
    playbook = tmp_path / "again.yml"
    playbook.write_text(json.dumps([{"name": "The same remedies again", "hosts": ",".join(hosts), "gather_facts": False,
                                     "tasks": tasks}], indent=1))
    again = lab.playbook(str(playbook), "--diff")
    for host in hosts:
        assert _recap_changed(again.stdout, host) == 0, f"the second run changed {host}:\n{again.stdout[-4000:]}"
    return again.stdout
