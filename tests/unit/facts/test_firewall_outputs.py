"""host/runner.firewall_outputs: what runs on the host to read its firewall."""
from __future__ import annotations

import pytest

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall.commands import FIREWALL_COMMANDS
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.host.runner import Host, firewall_outputs

ZONE_QUERIES = ["firewalld_default_zone", "firewalld_active_zones", "firewalld_zones"]


class Runner:
    """Every firewall tool installed; firewall-cmd --state answers as given, everything else rc 0."""

    def __init__(self, state: tuple) -> None:
        self.state = state
        self.ran: list = []

    def get_bin_path(self, name: str):
        return "/usr/sbin/" + name

    def run_command(self, args, data=None, environ_update=None):
        self.ran.append(args)
        if args[1:] == ["--state"]:
            return self.state
        return 0, "", ""


def test_firewalld_zones_are_not_listed_when_firewalld_does_not_run():
    runner = Runner((252, "not running\n", ""))
    outputs = firewall_outputs(Host(runner))
    assert outputs["firewalld_state"] == (252, "not running\n", "")
    assert {name: outputs[name] for name in ZONE_QUERIES} == {name: None for name in ZONE_QUERIES}
    assert [args for args in runner.ran if args[0].endswith("firewall-cmd")] == [["/usr/sbin/firewall-cmd", "--state"]]


@pytest.mark.parametrize("state", [(0, "running\n", "")])
def test_every_firewall_command_runs_when_firewalld_runs(state):
    runner = Runner(state)
    outputs = firewall_outputs(Host(runner))
    assert sorted(outputs) == sorted(FIREWALL_COMMANDS)
    assert all(outputs[name] == (0, "", "") for name in ZONE_QUERIES)
    assert len(runner.ran) == len(FIREWALL_COMMANDS)


def test_without_firewall_cmd_nothing_of_firewalld_runs():
    class NoFirewalld(Runner):
        def get_bin_path(self, name):
            return None if name == "firewall-cmd" else super().get_bin_path(name)

    runner = NoFirewalld((0, "running\n", ""))
    outputs = firewall_outputs(Host(runner))
    assert all(outputs[name] is None for name in ["firewalld_state"] + ZONE_QUERIES)
    assert not [args for args in runner.ran if "firewall-cmd" in args[0]]
