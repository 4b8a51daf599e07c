# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The firewall role's firewalld plan as it was in Jinja (firewalld.yml, firewalld_policy.yml, firewalld_plan.j2),
run on recorded firewall-cmd outputs, to show where it and the Python plan differ."""
from __future__ import annotations

import os
import typing as t

import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall import firewalld as fw_firewalld

# roles/firewall/tasks/firewalld_policy.yml and templates/firewalld_plan.j2 as of commit 9a5f991, verbatim, in
# fixtures/firewalld_plan/old_firewalld_policy.yml.txt and old_firewalld_plan.j2.txt.
OLD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "firewalld_plan")


def _tasks():
    with open(os.path.join(OLD, "old_firewalld_policy.yml.txt")) as handle:
        tasks = yaml.safe_load(handle)
    with open(os.path.join(OLD, "old_firewalld_plan.j2.txt")) as handle:
        template = handle.read()
    plan_vars = next(task for task in tasks if task["name"] == "Plan the zone, the policy and the bindings")["vars"]
    refuse_vars = next(task for task in tasks if task["name"] == "Refuse a reload that would drop runtime-only settings")["vars"]
    return plan_vars, refuse_vars, template


def _names(text: str) -> str:
    return " ".join(fw_firewalld.parse_zones(text)["zones"])


def _policy_block(text: str, policy: str) -> list[str]:
    lines, inside = [], False
    for line in text.splitlines():
        if line and not line[0].isspace():
            inside = line.split()[0] == policy
        if inside:
            lines.append(line)
    return lines


def _result(item: str, zone: str) -> dict[str, t.Any]:
    return {"item": item, "rc": 0 if zone else 2, "stdout": zone or "no zone"}


def plan(role_vars: dict[str, t.Any], recorded: t.Callable[[str, str], str], name: str) -> dict[str, t.Any]:
    """{"permanent": [args], "runtime": [args], "reload": bool, "refused": [what a reload would drop]}."""
    plan_vars, refuse_vars, template = _tasks()
    interface = role_vars["interface"]
    default = recorded(name, "default_zone").strip()
    runtime = fw_firewalld.parse_zones(recorded(name, "zones"), default)
    permanent = fw_firewalld.parse_zones(recorded(name, "permanent_zones"), default)
    active = fw_firewalld.parse_active_zones(recorded(name, "active_zones"))

    def bound(zones, item):
        return next((z for z, zone in zones["zones"].items() if item in zone.get("interfaces", [])), "") or \
            next((z for z, b in (active.items() if zones is runtime else []) if item in b.get("interfaces", [])), "")

    uplinks = [u for u in dict.fromkeys(role_vars["uplinks"] + [role_vars["masquerade_interface"]]) if u and u != interface]
    policy_uplinks = [u for u in dict.fromkeys(role_vars["forward_uplinks"] + [role_vars["masquerade_interface"]]) if u and u != interface]
    policy = "wgdfw-" + interface
    variables: dict[str, t.Any] = {
        "firewall_interface": interface, "firewall_forward": role_vars["forward"],
        "firewall_forward_source_list": role_vars["forward_sources"], "firewall_masquerade_source": role_vars["masquerade_source"],
        "firewall_firewalld_wg_zone": "wgd-" + interface, "firewall_firewalld_policy": policy,
        "firewall_firewalld_bound": {u: bound(runtime, u) for u in uplinks + [interface]},
        "firewall_firewalld_effective": {u: bound(runtime, u) or default for u in uplinks + [interface]},
        "firewall_firewalld_reads": {"results": [
            {"stdout": _names(recorded(name, "permanent_zones"))}, {"stdout": _names(recorded(name, "zones"))},
            {"stdout": _names(recorded(name, "permanent_policies"))}, {"stdout": _names(recorded(name, "policies"))},
            {"stdout_lines": _policy_block(recorded(name, "permanent_policies"), policy)}]},
        "firewall_firewalld_permanent_zone_of": {"results": [_result(i, bound(permanent, i)) for i in [interface] + policy_uplinks]},
    }

    def render(expression: str) -> t.Any:
        return Templar(loader=DataLoader(), variables=variables).template(trust_as_template(expression))

    for key, expression in plan_vars.items():
        variables[key] = render(expression)
    changes = yaml.safe_load(render(template) or "") or []
    reload = str(variables["firewall_firewalld_reload"]).strip() == "True"
    refused: list[str] = []
    if reload:
        variables["firewall_firewalld_config_reads"] = {"results": [
            {"stdout_lines": recorded(name, what).splitlines()} for what in (
                "zones", "permanent_zones", "policies", "permanent_policies", "direct", "permanent_direct", "ipsets", "permanent_ipsets")]}
        for key, expression in refuse_vars.items():
            variables[key] = render(expression)
        refused = variables["firewall_firewalld_runtime_only"]
    return {"permanent": [c["args"] for c in changes if c["args"]],
            "runtime": [c["args"] for c in changes if c["runtime"]] if not reload else [],
            "reload": reload, "refused": refused}
