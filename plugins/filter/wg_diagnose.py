# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side shells around the diagnosis core; documentation lives in the .yml sidecars."""
from __future__ import annotations

import time
import typing as t
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

# The diagnosis modules are imported inside the filters: Ansible loads every filter file of the collection in
# each worker process that templates any one of its filters, and compiles it from source there, so an import
# here made every such task pay for all of plugin_utils (docs/benchmarks.md, section 6).
if t.TYPE_CHECKING:
    from ansible_collections.wgdoctor.wireguard.plugins.module_utils.contracts import Report

NO_FACTS = "no ansible_facts.wireguard (wgdoctor.wireguard.wg_facts did not run or failed)"


def _as_list(value: t.Any, name: str) -> list:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    raise AnsibleFilterError("wg_diagnose: %s must be a list, got %s" % (name, type(value).__name__))


def wg_diagnose(hostvars_subset: t.Any, probes: t.Any = None, pings: t.Any = None, unreachable: t.Any = None,
                now: t.Any = None, mtu: t.Any = None, pairing: t.Any = None) -> Report:
    from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.diagnosis import diagnose
    from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.records import wireguard_facts

    if not isinstance(hostvars_subset, Mapping):
        raise AnsibleFilterError("wg_diagnose: input must map inventory hostnames to their hostvars or "
                                 "wireguard facts, got %s" % type(hostvars_subset).__name__)
    if isinstance(unreachable, Mapping):
        unreachable = dict((str(h), r) for h, r in unreachable.items())
    else:
        unreachable = dict((str(h), None) for h in _as_list(unreachable, "unreachable"))
    facts_by_host = {}
    for host, value in hostvars_subset.items():
        facts = wireguard_facts(value)
        if facts is None:
            unreachable.setdefault(str(host), NO_FACTS)
        else:
            facts_by_host[str(host)] = facts
    try:
        moment = time.time() if now is None else float(now)
    except (TypeError, ValueError):
        raise AnsibleFilterError("wg_diagnose: now must be Unix seconds")
    return diagnose(facts_by_host, _as_list(probes, "probes"), _as_list(pings, "pings"), unreachable, moment,
                    mtu_records=_as_list(mtu, "mtu"), pairing=dict(pairing) if isinstance(pairing, Mapping) else None)


def _report(value: t.Any, name: str) -> dict:
    """A report.json (schema 2, or 1 from an older run) or one diagnosis pass."""
    if not isinstance(value, Mapping) or ("findings" not in value and not isinstance(value.get("before"), Mapping)):
        raise AnsibleFilterError("%s: input must be a report from wgdoctor.wireguard.wg_diagnose" % name)
    return dict(value)


def wg_report_markdown(report: t.Any) -> str:
    from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.report import render_markdown

    return render_markdown(_report(report, "wg_report_markdown"))


def wg_report_console(report: t.Any, width: t.Any = 100) -> str:
    from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.report import render_console

    return render_console(_report(report, "wg_report_console"), width=int(width))


def wg_report_count(report: t.Any, severity: t.Any = "error") -> int:
    from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.report import count_at_or_above

    try:
        return count_at_or_above(_report(report, "wg_report_count"), str(severity))
    except ValueError as exc:
        raise AnsibleFilterError("wg_report_count: %s" % exc)


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {
            "wg_diagnose": wg_diagnose,
            "wg_report_markdown": wg_report_markdown,
            "wg_report_console": wg_report_console,
            "wg_report_count": wg_report_count,
        }
