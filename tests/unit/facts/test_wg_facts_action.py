"""wg_facts' action plugin: the module's firewall output becomes the facts' firewall verdicts on the controller, and
the controller's clock when the facts arrived is put beside the host's."""
from __future__ import annotations

import json
import os
import sys
import time
from unittest.mock import MagicMock

import pytest
from ansible.errors import AnsibleActionFail

sys.path.insert(0, os.path.dirname(__file__))

from ansible_collections.wgdoctor.wireguard.plugins.action.wg_facts import ActionModule  # noqa: E402
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.host import facts as host_facts  # noqa: E402
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils import firewall_facts  # noqa: E402
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.firewall_facts import attach_firewall  # noqa: E402
from test_wg_facts_module import ALL_TOOLS, FakeModule, host, secrets, server_outputs  # noqa: E402,F401  # pylint: disable=unused-import

NFT_DROP = json.dumps({"nftables": [
    {"metainfo": {"version": "1.0.6", "json_schema_version": 1}},
    {"table": {"family": "inet", "name": "filter", "handle": 1}},
    {"chain": {"family": "inet", "table": "filter", "name": "input", "handle": 1, "type": "filter", "hook": "input",
               "prio": 0, "policy": "accept"}},
    {"rule": {"family": "inet", "table": "filter", "chain": "input", "handle": 2, "expr": [
        {"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}}, "right": 51831}},
        {"counter": {"packets": 6, "bytes": 888}}, {"drop": None}]}},
]})


def module_result(host) -> dict:
    """What the module prints on the host, as the controller reads it (JSON): facts and the firewall input."""
    outputs = server_outputs()
    outputs["nft -j list ruleset"] = (0, NFT_DROP, "")
    module = FakeModule(host, outputs, ALL_TOOLS + ("nft",))
    facts, firewall_input = host_facts.gather(module, host["config_dir"], None, False, 1.0)
    return json.loads(json.dumps({"changed": False, "ansible_facts": {"wireguard": facts}, "firewall_input": firewall_input}))


def action(args: dict | None = None, async_val: int = 0, returns: dict | None = None) -> tuple[ActionModule, list]:
    task = MagicMock()
    task.args, task.async_val, task.check_mode, task.action = args or {}, async_val, True, "wgdoctor.wireguard.wg_facts"
    connection = MagicMock()
    connection._shell.tmpdir = "/tmp/not-used"
    plugin = ActionModule(task, connection, MagicMock(), MagicMock(), MagicMock())
    calls = []

    def execute_module(module_name=None, module_args=None, task_vars=None, **_kwargs):
        calls.append((module_name, module_args))
        return json.loads(json.dumps(returns))

    plugin._execute_module = execute_module
    return plugin, calls


def test_the_verdicts_are_attached_and_the_firewall_input_is_not_returned(host):
    plugin, calls = action({"interfaces": ["wgF0"]}, returns=module_result(host))
    result = plugin.run(task_vars={})
    assert calls == [("wgdoctor.wireguard.wg_facts", {"interfaces": ["wgF0"]})]
    assert "firewall_input" not in result
    facts = result["ansible_facts"]["wireguard"]
    verdict = facts["interfaces"]["wgF0"]["firewall"]["input"]
    assert (verdict["verdict"], verdict["backend"], verdict["table"], verdict["chain"]) == ("drop", "nftables", "inet filter", "input")
    assert facts["firewall"]["backends"] == ["nftables"]
    assert facts["errors"] == []


def test_what_the_task_returns_is_what_the_gathering_and_the_controller_give_together(host):
    returned = module_result(host)  # one gathering for both: the clock fact differs between two
    expected = json.loads(json.dumps(returned))
    attach_firewall(expected["ansible_facts"]["wireguard"], expected.pop("firewall_input"))
    plugin, _calls = action(returns=returned)
    before = time.time()
    result = plugin.run(task_vars={})
    arrived = result["ansible_facts"]["wireguard"]["clock"].pop("controller_epoch")
    assert before - 0.01 <= arrived <= time.time() + 0.01
    assert result["ansible_facts"] == expected["ansible_facts"]


def test_no_secret_reaches_the_result(host):
    plugin, _calls = action(returns=module_result(host))
    out = json.dumps(plugin.run(task_vars={}))
    assert not [secret for secret in secrets() if secret in out]


@pytest.mark.parametrize("returned", [
    {"failed": True, "msg": "not a WireGuard interface name (1-15 of a-z A-Z 0-9 _ = + . -): wg0; rm"},
    {"unreachable": True, "msg": "Failed to connect to the host"},
])
def test_a_failed_or_unreachable_module_result_passes_through(returned):
    plugin, _calls = action(returns=returned)
    assert plugin.run(task_vars={}) == returned


def test_async_is_refused_with_the_reason():
    plugin, calls = action(async_val=30, returns={})
    with pytest.raises(AnsibleActionFail, match="does not support async"):
        plugin.run(task_vars={})
    assert calls == []


@pytest.mark.parametrize("firewall_input", [None, "garbage", {"outputs": None}, {}])
def test_a_missing_or_malformed_firewall_input_is_an_error_entry(firewall_input):
    facts = {"errors": [], "firewall": None, "interfaces": {}}
    attach_firewall(facts, firewall_input)
    assert facts["firewall"] is None
    assert facts["errors"] == ["firewall: the module returned no firewall command output"]


def test_a_reader_that_raises_is_named_by_its_type_only(monkeypatch):
    class Exploding:
        @staticmethod
        def firewall_facts(*_args):
            raise KeyError("udp dport 51831 drop # a rule's text")

    monkeypatch.setattr(firewall_facts, "reach", Exploding)
    facts = {"errors": [], "firewall": None, "interfaces": {"wgF0": {"firewall": None}}}
    attach_firewall(facts, {"outputs": {"nft": [0, "{}", ""]}, "listen_ports": {"wgF0": 51831}})
    assert facts["errors"] == ["firewall: unexpected KeyError while reading the rules"]
    assert facts["firewall"] is None and facts["interfaces"]["wgF0"]["firewall"] is None
