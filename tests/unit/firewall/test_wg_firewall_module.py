"""wg_firewall: check mode changes nothing and shows the plan; a real run carries out exactly that plan; a second run changes nothing."""
from __future__ import annotations

import json
import os
import typing as t

import pytest

from ansible_collections.wgdoctor.wireguard.plugins.modules import wg_firewall
from ansible_collections.wgdoctor.wireguard.tests.unit.module_harness import fake_commands, intercept_exits, run_module

HOST_RULESET = {"nftables": [
    {"table": {"family": "inet", "name": "filter"}},
    {"chain": {"family": "inet", "table": "filter", "name": "input", "type": "filter", "hook": "input", "prio": 0, "policy": "drop"}},
    {"table": {"family": "inet", "name": "foreign_tool"}},
    {"chain": {"family": "inet", "table": "foreign_tool", "name": "input", "type": "filter", "hook": "input", "prio": -5,
               "policy": "drop"}},
]}
BOOT_TABLES = json.dumps({"nftables": [{"table": {"family": "inet", "name": "filter", "handle": 1}}]})
CONF = "flush ruleset\ntable inet filter {\n\tchain input {\n\t\ttype filter hook input priority 0; policy drop;\n\t}\n}\n"


class FakeNft(object):
    """Just enough of nft and unshare: the live chain inet filter input, with the rules inserted into it."""

    def __init__(self, boot_rc: int = 0) -> None:
        self.rules: list[str] = []
        self.calls: list[list[str]] = []
        self.boot_rc = boot_rc
        self.warnings: list[str] = []

    def __call__(self, args: list[str], **kwargs: t.Any) -> tuple[int, str, str]:
        self.calls.append(list(args))
        if args[:2] == ["unshare", "-nm"] and args[2:] == ["true"]:
            return 0, "", ""
        if args[0] == "unshare" and "list" in args and "tables" in args:
            return (0, BOOT_TABLES, "") if self.boot_rc == 0 else (1, "", "Error: No such file or directory")
        if args[0] == "unshare":
            return 0, "", ""  # nft -c in the empty namespace
        nft = args[1:]
        if nft == ["-j", "list", "ruleset"]:
            return 0, json.dumps(HOST_RULESET), ""
        if nft[:3] == ["-a", "list", "chain"]:
            body = "".join("\t\t%s # handle %d\n" % (rule, 10 + n) for n, rule in enumerate(self.rules))
            return 0, "table inet filter {\n\tchain input {\n%s\t}\n}\n" % body, ""
        if len(nft) == 1 and nft[0].startswith("insert rule inet filter input "):
            self.rules.insert(0, nft[0][len("insert rule inet filter input "):])
            return 0, "", ""
        raise AssertionError("unexpected command %s" % args)

    def mutating(self) -> list[list[str]]:
        return [c for c in self.calls if c[0].endswith("nft") and len(c) == 2 and c[1].startswith(("insert", "delete"))]


@pytest.fixture
def nft(monkeypatch):
    intercept_exits(monkeypatch)
    fake = FakeNft()
    fake_commands(monkeypatch, fake)
    fake.warnings = []
    monkeypatch.setattr(wg_firewall.AnsibleModule, "warn", lambda self, text: fake.warnings.append(text))
    monkeypatch.setattr(wg_firewall.AnsibleModule, "get_bin_path", lambda self, name, *a, **k: name if name == "unshare" else "/usr/sbin/nft")
    return fake


def args(tmp_path, **over: t.Any) -> dict[str, t.Any]:
    conf = tmp_path / "nftables.conf"
    if not conf.exists():
        conf.write_text(CONF)
    base = {"interface": "wgsrv", "port": 51999, "conf": str(conf), "include_dir": str(tmp_path / "nftables.d"),
            "proven_chains": ["inet filter input"], "_ansible_diff": True}
    base.update(over)
    return base


def test_check_mode_shows_the_plan_and_changes_nothing(nft, tmp_path):
    ended = run_module(wg_firewall.main, args(tmp_path, _ansible_check_mode=True))
    assert not ended.failed, ended.result
    result = ended.result
    assert result["changed"] is True
    assert result["chains"] == ["inet filter input"]
    assert result["runtime_only"] == ["inet foreign_tool input"]
    assert result["inserted"] == ['inet filter input: udp dport 51999 accept comment "wgdoctor"']
    live, drop_in, conf = result["diff"]
    assert live["before"] == "" and live["after"] == 'inet filter input: udp dport 51999 accept comment "wgdoctor"\n'
    assert drop_in["before_header"].endswith("wgdoctor-wgsrv.nft")
    assert conf["after"].endswith('include "%s/*.nft"\n' % (tmp_path / "nftables.d"))
    assert any("foreign_tool" in w and "runtime" in w for w in nft.warnings)
    assert nft.mutating() == []
    assert not (tmp_path / "nftables.d").exists()
    assert (tmp_path / "nftables.conf").read_text() == CONF


def test_the_real_run_does_what_check_mode_showed_and_the_second_run_nothing(nft, tmp_path):
    shown = run_module(wg_firewall.main, args(tmp_path, _ansible_check_mode=True)).result
    done = run_module(wg_firewall.main, args(tmp_path)).result
    assert done["changed"] is True
    assert done["diff"] == shown["diff"]
    assert done["inserted"] == shown["inserted"]
    assert nft.rules == ['udp dport 51999 accept comment "wgdoctor"']
    drop_in = (tmp_path / "nftables.d" / "wgdoctor-wgsrv.nft").read_text()
    assert drop_in == shown["diff"][1]["after"]
    assert (tmp_path / "nftables.conf").read_text() == shown["diff"][2]["after"]
    assert [os.path.basename(path).startswith("nftables.conf.") for path in done["backup_files"]] == [True]
    again = run_module(wg_firewall.main, args(tmp_path)).result
    assert again["changed"] is False
    assert again["inserted"] == [] and again["diff"] == []
    assert len(nft.mutating()) == 1


def test_a_boot_config_that_does_not_load_changes_no_host_chain(nft, tmp_path):
    nft.boot_rc = 1
    result = run_module(wg_firewall.main, args(tmp_path)).result
    assert result["changed"] is False and result["persisted"] is False
    assert result["chains"] == [] and result["runtime_only"] == []
    assert any("does not load on its own" in w for w in nft.warnings)
    assert nft.mutating() == []


def test_a_proven_chain_the_plan_leaves_alone_is_said(nft, tmp_path):
    result = run_module(wg_firewall.main, args(tmp_path, proven_chains=["inet foreign_tool input"],
                                               _ansible_check_mode=True)).result
    assert result["unproven_chains"] == [{"chain": "inet foreign_tool input", "reason":
                                          "its table is not declared by the boot config: another tool creates it at runtime"}]


def test_a_bad_name_is_refused_before_any_command(nft, tmp_path):
    ended = run_module(wg_firewall.main, args(tmp_path, interface='wg0" accept'))
    assert ended.failed and "interface" in ended.result["msg"]
    assert nft.calls == []


def test_a_conf_that_is_not_utf8_is_named(nft, tmp_path):
    (tmp_path / "nftables.conf").write_bytes(b"flush ruleset\n# caf\xe9\n")
    ended = run_module(wg_firewall.main, args(tmp_path))
    assert ended.failed and "nftables.conf line 2 (byte offset 19): not UTF-8" in ended.result["msg"]
