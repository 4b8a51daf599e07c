"""One loop over a host's remedies in report order, passing each remedy's vars as they are (issue #11 items 3, 4)."""
from __future__ import annotations

import os
import re

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.wgdoctor.wireguard.plugins.filter.wg_remedies import role_defaults, wg_remedies

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
PHASES = os.path.join(REPO, "playbooks", "phases")
ROLES_WITH_REMEDIES = ("peer", "service", "firewall", "ip_forwarding", "keepalive", "cloud_firewall")


def remedy(role: str, host: str, **variables) -> dict:
    return {"role": "wgdoctor.wireguard." + role, "host": host, "vars": variables}


def test_remedies_keep_report_order_across_roles():
    findings = [
        {"code": "interface_down", "remedy": remedy("service", "hub", service_interface="wghub")},
        {"code": "udp_blocked_host_firewall", "remedy": remedy("firewall", "hub", firewall_port=51999, firewall_interface="wghub")},
        {"code": "handshake_never", "remedy": None},
        {"code": "preshared_key_mismatch", "remedy": remedy("peer", "hub", peer_interface="wghub", peer_public_key="K")},
        {"code": "peer_missing", "remedy": remedy("peer", "spoke", peer_interface="wgspoke", peer_public_key="H")},
    ]
    assert [r["role"] for r in wg_remedies(findings, "hub")] == [
        "wgdoctor.wireguard.service", "wgdoctor.wireguard.firewall", "wgdoctor.wireguard.peer"]
    assert [r["vars"]["peer_interface"] for r in wg_remedies(findings, "spoke")] == ["wgspoke"]


def test_a_remedy_named_twice_runs_once():
    same = remedy("service", "hub", service_interface="wghub")
    assert len(wg_remedies([{"remedy": same}, {"remedy": dict(same)}], "hub")) == 1


def test_remedy_vars_win_over_the_role_defaults_and_the_rest_are_the_role_defaults():
    [applied] = wg_remedies([{"remedy": remedy("firewall", "hub", firewall_port=51999, firewall_interface="wghub")}], "hub")
    assert applied["vars"]["firewall_port"] == 51999 and applied["vars"]["firewall_interface"] == "wghub"
    assert applied["vars"]["firewall_backend"] == role_defaults("wgdoctor.wireguard.firewall")["firewall_backend"]


def test_firewall_remedies_of_one_interface_run_as_one():
    """forward_chain_blocks and nat_masquerade_missing on one hub are two findings with two firewall remedies. Run apart,
    --check planned the second from the state before the first, so it showed changes the real run never makes (the
    firewalld zone and policy twice): found in the lab on a firewalld hub. One role run with both says it once."""
    base = dict(firewall_backend="firewalld", firewall_interface="fwhub5", firewall_port=44517, firewall_forward_uplinks=["eth0"])
    findings = [
        {"code": "udp_blocked_host_firewall",
         "remedy": remedy("firewall", "hub", firewall_backend="firewalld", firewall_interface="wg0", firewall_port=51820)},
        {"code": "ip_forward_disabled", "remedy": remedy("ip_forwarding", "hub", ip_forwarding_ipv4=True)},
        {"code": "forward_chain_blocks", "remedy": remedy("firewall", "hub", firewall_forward=True, **base)},
        {"code": "nat_masquerade_missing",
         "remedy": remedy("firewall", "hub", firewall_masquerade_interface="eth0", firewall_masquerade_source="10.95.0.0/24", **base)},
    ]
    applied = wg_remedies(findings, "hub")
    assert [(r["role"].split(".")[-1], r["vars"].get("firewall_interface")) for r in applied] == [
        ("firewall", "wg0"), ("ip_forwarding", None), ("firewall", "fwhub5")]
    merged = applied[2]["vars"]
    assert merged["firewall_forward"] is True and merged["firewall_masquerade_source"] == "10.95.0.0/24"
    assert merged["firewall_masquerade_interface"] == "eth0" and merged["firewall_forward_uplinks"] == ["eth0"]
    assert applied[0]["vars"]["firewall_forward"] is False, "the wg0 remedy took another interface's forwarding"


def test_firewall_remedies_that_disagree_run_apart():
    first = remedy("firewall", "hub", firewall_backend="firewalld", firewall_interface="wghub", firewall_port=51999, firewall_forward=True)
    second = remedy("firewall", "hub", firewall_backend="nftables", firewall_interface="wghub", firewall_port=51999,
                    firewall_masquerade_interface="eth0", firewall_masquerade_source="10.9.0.0/24")
    assert [r["vars"]["firewall_backend"] for r in wg_remedies([{"remedy": first}, {"remedy": second}], "hub")] == ["firewalld", "nftables"]


def test_a_role_outside_the_collection_is_refused():
    with pytest.raises(AnsibleFilterError):
        wg_remedies([{"remedy": remedy("../../etc", "hub")}], "hub")
    with pytest.raises(AnsibleFilterError):
        wg_remedies([{"remedy": {"role": "community.general.thing", "host": "hub", "vars": {}}}], "hub")


def _load(name: str):
    with open(os.path.join(PHASES, name)) as handle:
        return yaml.safe_load(handle)


def _include_role_task() -> dict:
    [block] = _load("apply_remedy.yml")
    # Beside it in the block only the fingerprint before the role and the reset of cloud_firewall_result.
    [task] = [item for item in block["block"] if "ansible.builtin.include_role" in item]
    return task


def test_one_include_role_takes_the_remedy_role_and_every_role_variable_as_it_is():
    task = _include_role_task()
    assert task["ansible.builtin.include_role"]["name"] == "{{ wg_remedy.role }}"
    options = set()
    for role in ROLES_WITH_REMEDIES:
        with open(os.path.join(REPO, "roles", role, "meta", "argument_specs.yml")) as handle:
            options.update(yaml.safe_load(handle)["argument_specs"]["main"]["options"])
    assert set(task["vars"]) == options
    for name, value in task["vars"].items():
        assert value == "{{ wg_remedy.vars.%s }}" % name, "the playbook adds something of its own to %s: %s" % (name, value)


def test_every_role_a_remedy_can_name_is_passed_by_the_loop():
    code_roles = set()
    diagnosis = os.path.join(REPO, "plugins", "plugin_utils", "diagnosis")
    for filename in os.listdir(diagnosis):
        if filename.endswith(".py"):
            with open(os.path.join(diagnosis, filename)) as handle:
                code_roles.update(re.findall(r'remedy\("([a-z_]+)"', handle.read()))
    assert code_roles and code_roles <= set(ROLES_WITH_REMEDIES)


def test_the_remediation_phase_invents_no_name_port_or_default_of_its_own():
    for name in ("remediate.yml", "apply_remedy.yml"):
        with open(os.path.join(PHASES, name)) as handle:
            text = handle.read()
        assert "wg0" not in text and "51820" not in text, name
        assert not re.search(r"wg_remedy\.vars\.[a-z_]+\s*\|\s*default", text), name
    [play] = [p for p in _load("remediate.yml") if p["name"] == "Apply the remedies on each end"]
    [loop_task] = play["tasks"]
    assert loop_task["loop"] == "{{ wg_remedy_findings | wgdoctor.wireguard.wg_remedies(inventory_hostname) }}"
    assert loop_task["ansible.builtin.include_tasks"] == "apply_remedy.yml"
