# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which remedies of a report reviewed earlier may run now: those this run's diagnosis confirms.

The saved report is what a person approved; this run's diagnosis is what is true now. A remedy runs only
when both name it: the same finding (code, host, interface, peer) with the same remedy (role, host, vars).
A saved remedy that is no longer found (fixed since) or that this run would apply with other values (another
key, port, rule) does not run, and neither does a new one nobody reviewed; each is named with the reason.
"""
from __future__ import annotations

import json
import typing as t

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.contracts import Finding, Remedy

NOT_FOUND = "the diagnosis of this run does not find it"
NOT_REVIEWED = "it is not in the report reviewed"
# `why` of a remedy not applied, for a program reading report.json (`reason` says it to a person).
WHY_NOT_FOUND = "not_found"
WHY_NOT_REVIEWED = "not_reviewed"
WHY_DIFFERS = "differs"


class NotApplied(t.TypedDict):
    code: str
    host: t.Optional[str]
    interface: t.Optional[str]
    peer: t.Optional[str]
    role: t.Optional[str]
    why: str
    reason: str
    summary: str


class RemedyReview(t.TypedDict):
    confirmed: list[Finding]
    not_applied: list[NotApplied]


def _identity(finding: t.Mapping[str, t.Any]) -> tuple[t.Any, ...]:
    return (finding.get("code"), finding.get("host"), finding.get("interface"), finding.get("peer"))


def _canonical(remedy: t.Optional[t.Mapping[str, t.Any]]) -> str:
    return json.dumps(remedy, sort_keys=True)


def _differences(saved: Remedy, fresh: Remedy) -> list[str]:
    """What differs, by name only (the values are the report's to show)."""
    names = [key for key in ("role", "host") if saved.get(key) != fresh.get(key)]
    saved_vars, fresh_vars = saved.get("vars") or {}, fresh.get("vars") or {}
    names += sorted(name for name in set(saved_vars) | set(fresh_vars)
                    if _canonical(saved_vars.get(name)) != _canonical(fresh_vars.get(name)))
    return names


def _not_applied(finding: t.Mapping[str, t.Any], why: str, reason: str) -> NotApplied:
    code, host, interface = finding.get("code"), finding.get("host"), finding.get("interface")
    where = "%s (%s)" % (host, interface) if interface else str(host)
    role = (finding.get("remedy") or {}).get("role")
    return {"code": str(code), "host": host, "interface": interface, "peer": finding.get("peer"),
            "role": None if role is None else str(role), "why": why, "reason": reason,
            "summary": "%s on %s: not applied, %s" % (code, where, reason)}


def review_remedies(fresh: t.Sequence[t.Mapping[str, t.Any]], saved: t.Sequence[t.Mapping[str, t.Any]]) -> RemedyReview:
    """`fresh`: this run's findings (their order, root causes first, is the order the remedies run in);
    `saved`: the findings of the report reviewed. Findings without a remedy play no part."""
    saved_remedies: dict[tuple[t.Any, ...], list[Remedy]] = {}
    for finding in saved:
        if finding.get("remedy"):
            saved_remedies.setdefault(_identity(finding), []).append(finding["remedy"])
    fresh_remedies: dict[tuple[t.Any, ...], list[Remedy]] = {}
    confirmed: list[Finding] = []
    not_applied: list[NotApplied] = []
    for finding in fresh:
        remedy = finding.get("remedy")
        if not remedy:
            continue
        fresh_remedies.setdefault(_identity(finding), []).append(remedy)
        reviewed = saved_remedies.get(_identity(finding))
        if not reviewed:
            not_applied.append(_not_applied(finding, WHY_NOT_REVIEWED, NOT_REVIEWED))
        elif _canonical(remedy) in set(_canonical(r) for r in reviewed):
            confirmed.append(t.cast(Finding, dict(finding)))
        else:
            not_applied.append(_not_applied(finding, WHY_DIFFERS, "this run would fix it otherwise (%s differs)"
                                            % ", ".join(_differences(reviewed[0], remedy))))
    for finding in saved:
        if finding.get("remedy") and _identity(finding) not in fresh_remedies:
            not_applied.append(_not_applied(finding, WHY_NOT_FOUND, NOT_FOUND))
    return {"confirmed": confirmed, "not_applied": not_applied}
