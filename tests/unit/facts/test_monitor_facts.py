"""wg_facts' `monitor` fact: whether wgdoctor.wireguard.monitor runs on the host, and what its check last saw.

The state file is written by the monitor's own check (roles/monitor/files/wgdoctor-monitor, driven as its unit
test drives it), so a change of its format breaks this test, not the diagnosis in the field.
"""
from __future__ import annotations

import json
import os
import re
import sys

import pytest

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.host import facts as host_facts
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.host import monitor as wg_monitor

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "monitor"))
from test_monitor_check import OTHER, SECRETS, SERVER, Host as MonitoredHost  # noqa: E402
from test_wg_facts_module import FakeModule, gather, host, server_outputs  # noqa: E402,F401  # pylint: disable=unused-import


@pytest.fixture
def paths(tmp_path, monkeypatch):
    """Where the role installs the monitor, moved under tmp_path; nothing installed yet."""
    root = tmp_path / "monitor_root"
    installed = {"SCRIPT": root / "usr/local/sbin/wgdoctor-monitor", "TIMER_FILE": root / "etc/systemd/system/wgdoctor-monitor.timer",
                 "CRON_FILE": root / "etc/cron.d/wgdoctor-monitor", "STATE_FILE": root / "var/lib/wgdoctor-monitor/state.json"}
    for name, path in installed.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        monkeypatch.setattr(wg_monitor, name, str(path))
    return installed


def install(paths, scheduler: str = "TIMER_FILE") -> None:
    paths["SCRIPT"].write_text("#!/usr/bin/python3\n")
    paths[scheduler].write_text("# the role's\n")


def run_the_check(tmp_path, paths, failing_checks: int) -> None:
    """The monitor's own check, once healthy and then `failing_checks` times with the server not answering."""
    monitored = MonitoredHost(tmp_path / "check", state_dir=str(paths["STATE_FILE"].parent))
    monitored.check()
    monitored.answering.discard("10.99.31.1")
    for _failed in range(failing_checks):
        monitored.check()


def test_a_host_without_the_monitor_says_so_plainly(host, paths):
    facts = gather(FakeModule(host, server_outputs()))
    assert facts["monitor"] == {"installed": False, "scheduler": None, "active": None, "state_file": str(paths["STATE_FILE"]),
                                "last_run": None, "peers": [], "error": None}
    assert facts["errors"] == []


def test_the_last_state_and_failure_count_of_each_peer_come_from_the_checks_own_state_file(host, paths, tmp_path):
    install(paths)
    run_the_check(tmp_path, paths, failing_checks=2)
    monitor = gather(FakeModule(host, server_outputs()))["monitor"]
    assert (monitor["installed"], monitor["scheduler"], monitor["error"]) == (True, "systemd timer", None)
    # No systemd in this host fixture: whether the timer is active is not known, not false.
    assert monitor["active"] is None
    by_key = {peer["public_key"]: peer for peer in monitor["peers"]}
    assert set(by_key) == {SERVER, OTHER}
    server = by_key[SERVER]
    assert (server["interface"], server["state"], server["failures"], server["alerted"]) == ("wgmon", "down", 2, True)
    assert server["reasons"] and "ping" in server["reasons"][0]
    assert (by_key[OTHER]["state"], by_key[OTHER]["failures"]) == ("up", 0)
    assert monitor["last_run"] == server["last_check"] and server["failing_since"] < server["last_check"]
    text = json.dumps(monitor)
    assert not [secret for secret in SECRETS if secret in text]


def test_one_failed_check_is_failing_not_down(host, paths, tmp_path):
    install(paths, "CRON_FILE")
    run_the_check(tmp_path, paths, failing_checks=1)
    monitor = gather(FakeModule(host, server_outputs()))["monitor"]
    assert monitor["scheduler"] == "cron" and monitor["active"] is None
    server = [peer for peer in monitor["peers"] if peer["public_key"] == SERVER][0]
    assert (server["state"], server["failures"], server["alerted"]) == ("failing", 1, False)


def test_installed_before_its_first_check_has_no_peers_and_no_error(host, paths):
    install(paths)
    monitor = gather(FakeModule(host, server_outputs()))["monitor"]
    assert (monitor["installed"], monitor["peers"], monitor["last_run"], monitor["error"]) == (True, [], None, None)


def test_the_timer_state_is_read_from_systemd_when_it_runs_the_host(host, paths, monkeypatch):
    install(paths)
    monkeypatch.setattr(host_facts, "systemd_running", lambda: True)
    outputs = dict(server_outputs(), **{
        "systemctl show wgdoctor-monitor.timer -p ActiveState -p UnitFileState": (0, "ActiveState=active\nUnitFileState=enabled\n", "")})
    module = FakeModule(host, outputs, tools=("wg", "wg-quick", "wireguard-go", "ip", "ss", "sysctl", "systemctl"))
    assert gather(module)["monitor"]["active"] is True


@pytest.mark.parametrize("content, expected", [
    ('{"version": 1,\n "peers": {', r"state\.json line 2: not JSON \("),
    ("", r"state\.json line 1: not JSON"),
    ('["a list"]', r"state\.json: not a wgdoctor-monitor state file"),
    ('{"version": 7, "peers": {}}', r"state\.json: state version 7, this wg_facts reads version 1"),
    ('{"version": 1, "peers": {"x": 3, "wgmon k": {"interface": "wgmon", "public_key": "k", "failures": "many"}}}',
     r"state\.json: 1 peer entry not written by wgdoctor-monitor, left out"),
])
def test_a_garbage_state_file_is_an_error_naming_the_file_never_a_traceback(host, paths, content, expected):
    install(paths)
    paths["STATE_FILE"].write_text(content)
    facts = gather(FakeModule(host, server_outputs()))
    monitor = facts["monitor"]
    assert monitor["installed"] is True
    assert monitor["error"] and re.search(expected, monitor["error"]), monitor["error"]
    assert str(paths["STATE_FILE"]) in monitor["error"]
    # The tunnels are still checked: a monitor's broken file is no reason to call the report incomplete.
    assert facts["errors"] == []


def test_a_peer_entry_with_wrong_types_keeps_what_can_be_read(paths):
    peers, error = wg_monitor.parse_state(json.dumps({"version": 1, "peers": {"wgmon k": {
        "interface": "wgmon", "public_key": "k", "failures": "many", "alerted": "yes", "last_check": None, "reasons": "x"}}}), "state.json")
    assert error is None
    assert peers == [{"interface": "wgmon", "public_key": "k", "state": "up", "failures": 0, "alerted": False,
                      "last_check": None, "failing_since": None, "reasons": []}]


def test_an_unreadable_state_file_is_an_error_naming_it(host, paths, monkeypatch):
    install(paths)
    paths["STATE_FILE"].mkdir()  # open() fails on a directory, as it would on a file root alone may read
    monitor = gather(FakeModule(host, server_outputs()))["monitor"]
    assert monitor["error"].startswith(str(paths["STATE_FILE"]) + ": cannot read: ")
