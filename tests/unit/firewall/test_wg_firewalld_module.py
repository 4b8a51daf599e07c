# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""wg_firewalld: check mode changes nothing and shows the plan; a real run carries out exactly that plan and checks that
firewalld holds it; a second run changes nothing. firewall-cmd answers with the outputs recorded on the lab server."""
from __future__ import annotations

import os
import typing as t

import pytest

from ansible_collections.wgdoctor.wireguard.plugins.modules import wg_firewalld
from ansible_collections.wgdoctor.wireguard.tests.unit.module_harness import fake_commands, intercept_exits, run_module

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "firewalld_plan")
ARGS = {"interface": "wg0", "port": 51820, "uplinks": ["eth0"], "forward": True, "forward_sources": ["10.99.0.0/24"],
        "forward_uplinks": ["eth0"], "masquerade_source": "10.99.0.0/24", "masquerade_interface": "eth0"}
READS = {("--state",): "state", ("--get-default-zone",): "default_zone", ("--get-active-zones",): "active_zones",
         ("--list-all-zones",): "zones", ("--list-all-policies",): "policies", ("--direct", "--get-all-rules"): "direct",
         ("--get-ipsets",): "ipsets"}


class FakeFirewallCmd(object):
    """firewall-cmd reading one recorded state; after `--reload` (or the last change, without a reload) the state `then`."""

    def __init__(self, state: str, then: str | None = None, edit: t.Callable[[str, str], str] | None = None) -> None:
        self.state, self.then, self.edit = state, then, edit
        self.calls: list[list[str]] = []
        self.running = True

    def __call__(self, args: list[str], **kwargs: t.Any) -> tuple[int, str, str]:
        assert args[0] == "/usr/bin/firewall-cmd", args
        command = args[1:]
        self.calls.append(command)
        permanent = command[:1] == ["--permanent"]
        key = tuple(command[1:] if permanent else command)
        if key in READS:
            if key == ("--state",) and not self.running:
                return 252, "", "not running\n"
            what = ("permanent_" if permanent and key != ("--state",) else "") + READS[key]
            with open(os.path.join(FIXTURES, "%s.%s" % (self.state, what))) as handle:
                text = handle.read()
            return 0, self.edit(what, text) if self.edit else text, ""
        if command == ["--reload"] and self.then:
            self.state = self.then
        return 0, "success\n", ""

    def mutating(self) -> list[list[str]]:
        return [c for c in self.calls if tuple(c[1:] if c[:1] == ["--permanent"] else c) not in READS]


@pytest.fixture
def firewall_cmd(monkeypatch):
    intercept_exits(monkeypatch)

    def install(*args: t.Any, **kwargs: t.Any) -> FakeFirewallCmd:
        fake = FakeFirewallCmd(*args, **kwargs)
        fake_commands(monkeypatch, fake)
        return fake
    return install


def test_check_mode_shows_the_plan_and_changes_nothing(firewall_cmd):
    fake = firewall_cmd("fresh")
    out = run_module(wg_firewalld.main, dict(ARGS, _ansible_check_mode=True, _ansible_diff=True))
    assert not out.failed and out.result["changed"]
    assert fake.mutating() == []
    assert out.result["reload"] and out.result["changes"][-1] == "firewall-cmd --reload"
    assert "permanent: + zone public: port 51820/udp" in out.result["changes"]
    diff = out.result["diff"]
    assert "runtime: zone wgd-wg0: interface wg0" in diff["after"] and "wgd-wg0" not in diff["before"]
    assert "(runtime after firewall-cmd --reload)" in diff["after_header"]


def test_a_real_run_makes_exactly_the_planned_changes_and_a_second_run_none(firewall_cmd):
    firewall_cmd("fresh")
    check = run_module(wg_firewalld.main, dict(ARGS, _ansible_check_mode=True))
    fake = firewall_cmd("fresh", then="converged")
    out = run_module(wg_firewalld.main, dict(ARGS))
    assert not out.failed, out.result
    assert out.result["changes"] == check.result["changes"]
    assert fake.mutating()[-1] == ["--reload"]
    assert all(c[0] == "--permanent" for c in fake.mutating()[:-1]), "before the reload only the permanent configuration changes"
    assert ["--permanent", "--zone=wgd-wg0", "--change-interface=wg0"] in fake.mutating()
    again = firewall_cmd("converged")
    second = run_module(wg_firewalld.main, dict(ARGS, _ansible_diff=True))
    assert not second.failed and not second.result["changed"] and "diff" not in second.result
    assert again.mutating() == []


def test_a_rule_missing_at_runtime_only_is_added_at_runtime_only(firewall_cmd):
    fake = firewall_cmd("policy_rule_removed_at_runtime", then=None)
    out = run_module(wg_firewalld.main, dict(ARGS))
    # The fake still reads the same state afterwards: the module notices the change did not take.
    assert out.failed and "does not hold what was changed" in out.result["msg"]
    assert fake.mutating() == [["--policy=wgdfw-wg0", '--add-rich-rule=rule family="ipv4" source address="10.99.0.0/24" accept']]


def test_a_reload_that_would_drop_a_runtime_only_setting_is_refused_before_any_change(firewall_cmd):
    def extra_port(what: str, text: str) -> str:
        return text.replace("  ports: 51820/udp", "  ports: 51820/udp 8443/tcp") if what == "zones" else text
    fake = firewall_cmd("port_open_runtime_only", edit=extra_port)
    out = run_module(wg_firewalld.main, dict(ARGS))
    assert out.failed and "zone public: ports 8443/tcp" in out.result["msg"] and "Nothing was changed" in out.result["msg"]
    assert fake.mutating() == []


def test_firewalld_not_running_is_said_plainly(firewall_cmd):
    fake = firewall_cmd("fresh")
    fake.running = False
    out = run_module(wg_firewalld.main, dict(ARGS, _ansible_check_mode=True))
    assert out.failed and "firewalld does not run" in out.result["msg"]


def test_bad_input_fails_before_any_command(firewall_cmd):
    fake = firewall_cmd("fresh")
    out = run_module(wg_firewalld.main, dict(ARGS, interface="wg0 --reload"))
    assert out.failed and "interface" in out.result["msg"] and fake.calls == []
