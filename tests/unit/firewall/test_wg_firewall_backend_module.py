# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""wg_firewall_backend: the firewall role's backend, picked from recorded command outputs by the diagnosis' readers."""
from __future__ import annotations

import json
import os
import typing as t

import pytest
import yaml

from ansible.module_utils import basic

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall import reach
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall.commands import FIREWALL_COMMANDS
from ansible_collections.wgdoctor.wireguard.plugins.modules import wg_firewall_backend
from ansible_collections.wgdoctor.wireguard.tests.unit.module_harness import intercept_exits, run_module

from fw_fixtures import FIREWALLD_COMMANDS, firewalld_probes, fixture

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
# The argv each FIREWALL_COMMANDS key runs, so a fake host answers by argv as a real one does.
ARGV_KEY = {tuple(argv): key for key, argv in FIREWALL_COMMANDS.items()}


class FakeHost(object):
    """Answers the firewall commands from recorded outputs; a command with no recording is not installed."""

    def __init__(self, outputs: dict[str, tuple[int, str, str]]) -> None:
        self.outputs = outputs
        self.environments: dict[str, dict[str, str]] = {}

    def installed(self, name: str) -> bool:
        return any(argv[0] == name for argv, key in ARGV_KEY.items() if key in self.outputs)

    def run(self, args: list[str], environ_update: t.Optional[dict[str, str]] = None, **kwargs: t.Any) -> tuple[int, str, str]:
        key = ARGV_KEY[(os.path.basename(args[0]),) + tuple(args[1:])]
        self.environments[key] = dict(environ_update or {})
        # Same binary, another subcommand without a recording (firewall-cmd): it ran and printed nothing.
        return self.outputs.get(key, (0, "", ""))


def run(monkeypatch, outputs: dict[str, t.Any], check_mode: bool = False, **params: t.Any) -> t.Any:
    host = FakeHost(outputs)
    intercept_exits(monkeypatch)
    monkeypatch.setattr(basic.AnsibleModule, "get_bin_path",
                        lambda self, name, *a, **k: "/usr/sbin/" + name if host.installed(name) else None)
    monkeypatch.setattr(basic.AnsibleModule, "run_command", lambda module, args, **kwargs: host.run(args, **kwargs))
    args = dict(params, _ansible_check_mode=check_mode)
    ended = run_module(wg_firewall_backend.main, args)
    ended.host = host
    return ended


def ok(*parts: str) -> tuple[int, str, str]:
    return (0, fixture(*parts), "")


def firewalld(scenario: str) -> dict[str, tuple[int, str, str]]:
    probe = firewalld_probes()[scenario]
    return {"firewalld_" + key: (probe["rc"][key], fixture("firewalld", "%s.%s" % (scenario, key)), probe["stderr"][key])
            for key in FIREWALLD_COMMANDS}


def nft_of(*recordings: tuple[str, ...]) -> tuple[int, str, str]:
    """One `nft -j list ruleset` listing every table of these recordings, as the kernel lists them all at once."""
    items = [{"metainfo": {"json_schema_version": 1}}]
    for parts in recordings:
        items.extend(item for item in json.loads(fixture(*parts))["nftables"] if "metainfo" not in item)
    return (0, json.dumps({"nftables": items}), "")


CASES = {
    # case: (recorded outputs, forward, backends, backend)
    "ufw active over iptables-nft": (
        {"ufw": ok("ufw", "default_deny.status"), "iptables_nft": ok("ufw", "default_deny.save")}, False, ["ufw"], "ufw"),
    "ufw inactive, native nftables": (
        {"ufw": ok("ufw", "inactive.status"), "nft": ok("nftables", "policy_drop.json")}, False, ["nftables"], "nftables"),
    "firewalld running": (firewalld("default_closed"), False, ["firewalld"], "firewalld"),
    "firewalld not running": (firewalld("not_running"), False, [], "none"),
    "nftables native chains": ({"nft": ok("nftables", "two_tables.json")}, False, ["nftables"], "nftables"),
    "iptables-nft only": (
        {"iptables_nft": ok("iptables", "policy_drop.nft.save"), "nft": ok("iptables", "policy_drop.nft.nft.json")},
        False, ["iptables-nft"], "iptables"),
    "iptables-legacy only": ({"iptables_legacy": ok("iptables", "policy_drop.legacy.save")}, False, ["iptables-legacy"], "iptables"),
    # Docker's iptables-nft chains (one INPUT accept in the recording) beside a Docker-like native table (forward, nat).
    "docker iptables-nft with a native forward table, input": (
        {"iptables_nft": ok("iptables", "docker_like.nft.save"),
         "nft": nft_of(("iptables", "docker_like.nft.nft.json"), ("backend", "docker_native.json"))},
        False, ["nftables", "iptables-nft"], "iptables"),
    "docker iptables-nft with a native forward table, forward": (
        {"iptables_nft": ok("iptables", "docker_like.nft.save"),
         "nft": nft_of(("iptables", "docker_like.nft.nft.json"), ("backend", "docker_native.json"))},
        True, ["nftables", "iptables-nft"], "nftables"),
    "nothing filters": (
        {"iptables_nft": ok("iptables", "empty.nft.save"), "iptables_legacy": ok("iptables", "empty.legacy.save"),
         "nft": ok("nftables", "empty.json"), "ufw": ok("ufw", "inactive.status")}, False, [], "none"),
    "no firewall command installed": ({}, False, [], "none"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_backend_picked_from_recorded_outputs(monkeypatch, case):
    outputs, forward, backends, backend = CASES[case]
    result = run(monkeypatch, outputs, forward=forward).result
    assert (result["backends"], result["backend"], result["changed"]) == (backends, backend, False)
    assert result["errors"] == []
    assert result["filtering"][:1] == ([] if backend == "none" else [b for b in backends if reach.ROLE_BACKEND[b] == backend][:1])
    assert len(result["evidence"]) >= len(backends)


def test_evidence_names_the_chain_that_filters_and_the_backend_passed_over(monkeypatch):
    outputs = CASES["docker iptables-nft with a native forward table, input"][0]
    result = run(monkeypatch, outputs).result
    assert result["evidence"] == ["nftables: active, but nothing of it filters the input hook",
                                  "iptables_nft: filter INPUT, 1 rule(s), policy ACCEPT"]
    forward = run(monkeypatch, outputs, forward=True).result
    assert "nft: table ip docker-bridges chain filter-FORWARD, hook forward, policy accept" in forward["evidence"]
    assert "iptables_nft: filter FORWARD, 6 rule(s), policy DROP" in forward["evidence"]


def test_check_mode_reads_the_same_and_changes_nothing(monkeypatch):
    outputs = CASES["iptables-legacy only"][0]
    real = run(monkeypatch, outputs).result
    checked = run(monkeypatch, outputs, check_mode=True).result
    assert checked == real and checked["changed"] is False


def test_every_command_runs_in_the_c_locale_ufw_included(monkeypatch):
    """ufw is Python: its gettext reads LANGUAGE before LC_ALL, so LC_ALL=C alone still translates "Status: active"."""
    ended = run(monkeypatch, CASES["ufw active over iptables-nft"][0])
    assert ended.host.environments["ufw"] == {"LC_ALL": "C", "LANGUAGE": "C"}
    assert all(env.get("LC_ALL") == "C" for env in ended.host.environments.values())


def test_unreadable_rules_are_named_and_count_as_filtering(monkeypatch):
    result = run(monkeypatch, {"nft": (0, "not json", "")}).result
    assert (result["backends"], result["backend"]) == (["nftables"], "nftables")
    assert result["errors"] and result["errors"][0].startswith("nft: ")


def test_a_failed_command_is_an_error_not_a_backend(monkeypatch):
    result = run(monkeypatch, {"iptables_legacy": (1, "", "iptables-legacy-save: permission denied")}).result
    assert result["backend"] == "none"
    assert any("permission denied" in error for error in result["errors"])


def test_a_reader_bug_fails_with_its_name_not_a_traceback(monkeypatch):
    def broken(outputs, forward=False):
        raise KeyError("chains")
    monkeypatch.setattr(reach, "active_backends", broken)
    ended = run(monkeypatch, {})
    assert ended.failed and ended.result["msg"] == "the firewall readers failed on this host's rules: KeyError: 'chains'"


def test_every_reader_name_maps_onto_a_choice_of_the_role():
    """One map (reach.ROLE_BACKEND) for the remedies' proof and the role's own pick, onto the role's choices."""
    with open(os.path.join(REPO, "roles", "firewall", "meta", "argument_specs.yml")) as handle:
        choices = yaml.safe_load(handle)["argument_specs"]["main"]["options"]["firewall_backend"]["choices"]
    assert sorted(reach.ROLE_BACKEND) == sorted(reach.BACKEND_ORDER)
    assert set(reach.ROLE_BACKEND.values()) | {"auto"} == set(choices)
    from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.diagnosis import _firewall_remedy
    assert _firewall_remedy.ROLE_BACKEND is reach.ROLE_BACKEND
