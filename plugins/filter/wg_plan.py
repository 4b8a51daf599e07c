# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that turn the ends' facts into the diagnose playbook's probe and ping plans."""
from __future__ import annotations

import typing as t

from ansible.errors import AnsibleFilterError

# Collection modules are imported inside the filters: wg_diagnose.py says why.
if t.TYPE_CHECKING:
    from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.plan import HostWork, PassPlan, PingPlanItem, ProbePlanItem


def _facts(value: t.Any, name: str) -> dict:
    if not isinstance(value, dict):
        raise AnsibleFilterError("%s expects a dict of inventory host -> ansible_facts.wireguard, got %s"
                                 % (name, type(value).__name__))
    return value


def wg_probe_plan(facts_by_host: t.Any) -> list[ProbePlanItem]:
    from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.plan import probe_plan

    return probe_plan(_facts(facts_by_host, "wg_probe_plan"))


def wg_ping_plan(facts_by_host: t.Any) -> list[PingPlanItem]:
    from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.plan import ping_plan

    return ping_plan(_facts(facts_by_host, "wg_ping_plan"))


def wg_pass_plan(facts_by_host: t.Any) -> PassPlan:
    from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.plan import pass_plan

    return pass_plan(_facts(facts_by_host, "wg_pass_plan"))


def wg_host_work(probes: t.Any, pings: t.Any, host: t.Any) -> HostWork:
    from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.plan import host_work

    for value, name in ((probes, "the input (the probe plan)"), (pings, "pings (the ping plan)")):
        if value is not None and not isinstance(value, list):
            raise AnsibleFilterError("wg_host_work: %s must be a list, got %s" % (name, type(value).__name__))
    return host_work(probes, pings, str(host))


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"wg_probe_plan": wg_probe_plan, "wg_ping_plan": wg_ping_plan, "wg_pass_plan": wg_pass_plan,
                "wg_host_work": wg_host_work}
