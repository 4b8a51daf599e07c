# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""report.json (schema 2) from the passes and what remediation ran, and its HTML and JUnit renderings;
documentation lives in the .yml sidecars."""
from __future__ import annotations

import typing as t
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

# Collection modules are imported inside the filters: wg_diagnose.py says why.
if t.TYPE_CHECKING:
    from ansible_collections.wgdoctor.wireguard.plugins.module_utils.contracts import Finding, Report
    from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.records import RemedyRun


def _pass(value: t.Any, filter_name: str, name: str) -> dict:
    if not isinstance(value, Mapping) or "findings" not in value:
        raise AnsibleFilterError("%s: %s must be a diagnosis pass from wgdoctor.wireguard.wg_diagnose" % (filter_name, name))
    return dict(value)


def _report(value: t.Any, filter_name: str) -> dict:
    from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.report import as_report

    if not isinstance(value, Mapping) or ("findings" not in value and not isinstance(value.get("before"), Mapping)):
        raise AnsibleFilterError("%s: input must be a report (report.json, or a pass from wgdoctor.wireguard.wg_diagnose)" % filter_name)
    return as_report(value)


def wg_report(before: t.Any, remediation: t.Any = None, after: t.Any = None, check_mode: t.Any = False,
              not_applied: t.Any = None) -> Report:
    from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.report import assemble

    if remediation is not None and not isinstance(remediation, (list, tuple)):
        raise AnsibleFilterError("wg_report: remediation must be the list wg_remedy_runs returns, or none")
    if not_applied is not None and (not isinstance(not_applied, (list, tuple)) or not all(isinstance(n, Mapping) for n in not_applied)):
        raise AnsibleFilterError("wg_report: not_applied must be the list not_applied of wg_confirm_remedies, or none")
    return assemble(_pass(before, "wg_report", "the input"), None if remediation is None else list(remediation),
                    None if after is None else _pass(after, "wg_report", "after"), bool(check_mode),
                    None if not_applied is None else list(not_applied))


def wg_remedy_runs(hostvars: t.Any, end_hosts: t.Any, result_var: str = "wg_remedy_runs") -> list[RemedyRun]:
    from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.records import remedy_runs

    if not isinstance(hostvars, Mapping):
        raise AnsibleFilterError("wg_remedy_runs: input must be hostvars, got %s" % type(hostvars).__name__)
    if not isinstance(end_hosts, (list, tuple)):
        raise AnsibleFilterError("wg_remedy_runs: end_hosts must be a list of inventory hostnames")
    return remedy_runs(hostvars, [str(h) for h in end_hosts], str(result_var))


def wg_report_findings(report: t.Any, which: str = "before") -> list[Finding]:
    full = _report(report, "wg_report_findings")
    if which not in ("before", "after", "now"):
        raise AnsibleFilterError("wg_report_findings: which is before, after or now, got %r" % (which,))
    part = full.get(full["now"] if which == "now" else which)
    return list((part or {}).get("findings") or [])


def wg_report_html(report: t.Any) -> str:
    from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.report_html import render_html

    return render_html(_report(report, "wg_report_html"))


def wg_report_junit(report: t.Any) -> str:
    from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.report_html import render_junit

    return render_junit(_report(report, "wg_report_junit"))


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {
            "wg_report": wg_report,
            "wg_remedy_runs": wg_remedy_runs,
            "wg_report_findings": wg_report_findings,
            "wg_report_html": wg_report_html,
            "wg_report_junit": wg_report_junit,
        }
