"""Whether a remedy changed something is recorded, not left null (issue #13).

playbooks/phases/apply_remedy.yml fingerprints the state the remedy roles act on, on the host, before and after
the role; the record of the run says changed when the fingerprints differ, unchanged when they are equal, and
not known (null) in check mode or when a fingerprint could not be taken. The tests render the playbook's own
tasks (records/playbook_jinja.py) and run its own fingerprint script.
"""
from __future__ import annotations

import os
import subprocess
import sys
import typing as t

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "records"))

from playbook_jinja import REPO, render  # noqa: E402  pylint: disable=wrong-import-position

APPLY_REMEDY = os.path.join(REPO, "playbooks", "phases", "apply_remedy.yml")
RECORD = "Record the remedy that ran for the report"
FIREWALL = {"role": "wgdoctor.wireguard.firewall", "host": "server",
            "vars": {"firewall_port": 41194, "firewall_interface": "wgs", "firewall_iptables_rules_files": {}}}
CLOUD = {"role": "wgdoctor.wireguard.cloud_firewall", "host": "server", "vars": {"cloud_firewall_port": 41194}}


def _block() -> dict:
    with open(APPLY_REMEDY, encoding="utf-8") as handle:
        [block] = yaml.safe_load(handle)
    return block


def _record(variables: dict[str, t.Any]) -> list[dict]:
    """The runs recorded after one remedy, as wg_remedy_runs reads them from hostvars."""
    block = _block()
    task = next(item for item in block["always"] if item.get("name") == RECORD)
    # The block's vars and the task's, templated lazily as Ansible does, under what the run registered.
    scope: dict[str, t.Any] = {"inventory_hostname": "server", "ansible_check_mode": False}
    scope.update(block.get("vars") or {})
    scope.update(task.get("vars") or {})
    scope.update(variables)
    facts = dict((fact, render(value, scope)) for fact, value in task["ansible.builtin.set_fact"].items())
    return render("{{ hostvars | wgdoctor.wireguard.wg_remedy_runs(['server']) }}", {"hostvars": {"server": facts}})


def _fingerprints(before: str, after: str) -> dict:
    return {"wg_remedy_fingerprint_before": {"rc": 0, "stdout": before}, "wg_remedy_fingerprint_after": {"rc": 0, "stdout": after}}


def test_a_remedy_whose_fingerprints_differ_is_recorded_as_changed():
    [run] = _record(dict(_fingerprints("a" * 64, "b" * 64), wg_remedy=FIREWALL))
    assert (run["role"], run["changed"], run["failed"]) == ("wgdoctor.wireguard.firewall", True, False)


def test_a_remedy_that_left_the_state_as_it_was_is_recorded_as_unchanged():
    [run] = _record(dict(_fingerprints("c" * 64, "c" * 64), wg_remedy=FIREWALL))
    assert run["changed"] is False


def test_check_mode_and_a_fingerprint_that_could_not_be_taken_are_not_known():
    skipped = {"skipped": True, "changed": False}
    [run] = _record({"wg_remedy": FIREWALL, "ansible_check_mode": True,
                     "wg_remedy_fingerprint_before": skipped, "wg_remedy_fingerprint_after": skipped})
    assert run["changed"] is None
    [run] = _record(dict(_fingerprints("d" * 64, "sh: 1: sha256sum: not found"), wg_remedy=FIREWALL))
    assert run["changed"] is None


def test_the_cloud_firewall_remedy_is_judged_by_its_own_result_not_by_the_host():
    skipped = {"skipped": True, "changed": False}
    [run] = _record({"wg_remedy": CLOUD, "wg_remedy_fingerprint_before": skipped, "wg_remedy_fingerprint_after": skipped,
                     "cloud_firewall_result": {"changed": True, "group_id": "sg-0abc"}})
    assert run["changed"] is True
    # What an earlier cloud remedy did is forgotten before the next one runs: a run that never set it is not known.
    [run] = _record({"wg_remedy": CLOUD, "wg_remedy_fingerprint_before": skipped, "wg_remedy_fingerprint_after": skipped,
                     "cloud_firewall_result": None})
    assert run["changed"] is None


def _fingerprint(paths: list[str]) -> subprocess.CompletedProcess:
    script = _block()["vars"]["wg_remedy_fingerprint_script"]
    return subprocess.run(["sh", "-c", script, "wg-remedy-fingerprint", *paths], capture_output=True, text=True, check=False)


def test_the_fingerprint_script_sees_a_file_the_remedy_names_change_and_prints_only_a_hash(tmp_path):
    config_dir = tmp_path / "wireguard"
    config_dir.mkdir()
    secret = "cHJpdmF0ZS1rZXktdGhhdC1tdXN0LW5vdC1sZWFrMDA="
    conf = config_dir / "wgs.conf"
    conf.write_text("[Interface]\nPrivateKey = %s\nListenPort = 41194\n" % secret)
    first = _fingerprint([str(config_dir)])
    assert first.returncode == 0, first.stderr
    assert len(first.stdout.strip()) == 64 and set(first.stdout.strip()) <= set("0123456789abcdef")
    assert secret not in first.stdout + first.stderr
    conf.write_text("[Interface]\nPrivateKey = %s\nListenPort = 41195\n" % secret)
    changed = _fingerprint([str(config_dir)]).stdout
    assert changed != first.stdout
    # Nothing touched in between: the same fingerprint (the host's own state is read too; it holds still for a moment).
    assert _fingerprint([str(config_dir)]).stdout == changed


def test_the_paths_fingerprinted_are_those_the_remedy_names_and_a_remedy_naming_none_has_none():
    block = _block()
    scope = dict(block["vars"], wg_remedy={"role": "wgdoctor.wireguard.service", "host": "client",
                                           "vars": {"service_interface": "wgcli6"}})
    assert render("{{ wg_remedy_paths }}", scope) == []
    scope["wg_remedy"] = {"role": "wgdoctor.wireguard.firewall", "host": "server", "vars": {
        "firewall_port": 41194, "firewall_nftables_conf": "/etc/nftables.conf", "firewall_nftables_include_dir": "/etc/nftables.d",
        "firewall_iptables_rules_files": {"ipv4": "/etc/iptables/rules.v4", "ipv6": "/etc/iptables/rules.v6"}}}
    assert sorted(render("{{ wg_remedy_paths }}", scope)) == [
        "/etc/iptables/rules.v4", "/etc/iptables/rules.v6", "/etc/nftables.conf", "/etc/nftables.d"]
