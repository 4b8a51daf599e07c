# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Facts in, findings out: the report of FINDINGS.md from every end's wg_facts, the probes and the pings."""
from __future__ import annotations

import datetime
import typing as t

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.contracts import (
    Finding, MtuRecord, PingRecord, ProbeRecord, Report, Tunnel, Unchecked,
)
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.diagnosis import (
    after_handshake, cloud, endpoint, handshake_path, keys, mtu, startup, symptoms,
)
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.diagnosis import prevention
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.diagnosis._common import (
    CATALOG, CATALOG_RANK, SEVERITY, SEVERITY_RANK, SYMPTOMS, Context, RuleFinding,
)
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.topology import Topology, build_topology

SCHEMA = 1

# Execution order, not report order: a rule may stay silent when an earlier one already
# explains the same end (port_not_listening after interface_down, upstream after stale_endpoint).
RULES = (
    (handshake_path.host_unreachable, symptoms.wireguard_missing, handshake_path.config_invalid)
    # Why wg-quick up fails, then interface_down with those causes in follows_from.
    + startup.RULES
    + keys.RULES
    + (handshake_path.missing_endpoint, handshake_path.endpoint_unresolvable)
    + endpoint.RULES
    + cloud.RULES
    + handshake_path.PATH_RULES
    + cloud.AFTER_PATH_RULES
    + endpoint.ADVICE_RULES
    + after_handshake.RULES
    + mtu.RULES
    + symptoms.SYMPTOM_RULES
    + prevention.RULES
)

CODES = tuple(code for code, _severity in CATALOG)


def _sort_key(finding: RuleFinding) -> tuple:
    return (SEVERITY_RANK[finding["severity"]], finding["code"] in SYMPTOMS, CATALOG_RANK[finding["code"]],
            finding["host"] or "", finding["interface"] or "", finding["peer"] or "")


def _public(finding: RuleFinding) -> Finding:
    """The finding as the report shows it: the rules' private keys dropped in place (the rules are
    done with it, and a copy of each of a hub's ten thousand findings would only feed the collector)."""
    for key in [k for k in finding if k.startswith("_")]:
        del finding[key]
    if finding["code"] in SYMPTOMS:
        finding.setdefault("follows_from", [])
    return t.cast(Finding, finding)


def _follow_key_fixes(findings: list[Finding]) -> None:
    """Remedies run in report order, so after a key correction the entry answers to its new key:
    later remedies for the same entry must name it by that key."""
    renamed: dict[tuple[t.Any, t.Any, t.Any], str] = {}
    for finding in findings:
        remedy = finding.get("remedy") or {}
        variables = remedy.get("vars") or {}
        if variables.get("peer_new_public_key"):
            renamed[(remedy["host"], variables.get("peer_interface"), variables["peer_public_key"])] = \
                variables["peer_new_public_key"]
    if not renamed:
        return
    for finding in findings:
        remedy = finding.get("remedy") or {}
        variables = remedy.get("vars") or {}
        if variables.get("peer_new_public_key"):
            continue
        for key_var, if_var in (("peer_public_key", "peer_interface"), ("keepalive_peer", "keepalive_interface")):
            new = renamed.get((remedy.get("host"), variables.get(if_var), variables.get(key_var)))
            if new:
                variables[key_var] = new


def _tunnels(ctx: Context) -> list[Tunnel]:
    tunnels: list[t.Any] = []
    for tunnel in ctx.topology.as_report()["tunnels"]:
        tunnels.append(tunnel)
    for tunnel, (_index, raw, first, second) in zip(tunnels, ctx.tunnels()):
        ages = []
        for end, side in ((first, raw["a"]), (second, raw["b"])):
            runtime = (ctx.topology.entry(end, side["peer"]) or {}).get("runtime") or {}
            age = runtime.get("latest_handshake_age")
            if runtime.get("latest_handshake") is not None and isinstance(age, (int, float)):
                ages.append(age)
        tunnel["latest_handshake_age"] = min(ages) if ages else None
        # What wgdoctor.wireguard.monitor on each end last said of the other (None: its facts do not say).
        tunnel["a"] = dict(tunnel["a"], monitor=prevention.side_monitor(first, raw["a"]["peer"]))
        tunnel["b"] = dict(tunnel["b"], monitor=prevention.side_monitor(second, raw["b"]["peer"]))
    return tunnels


def _unmeasured(mtu_records: list[MtuRecord]) -> list[Unchecked]:
    """The don't-fragment searches that gave no size (records.mtu_records keeps why in `error`)."""
    unmeasured = [record for record in mtu_records
                  if isinstance(record, dict) and record.get("largest") is None and record.get("mtu") is None and record.get("error")]
    return [{"host": record.get("from"), "what": "the largest packet through %s to %s (%s): %s" % (
        record.get("interface"), record.get("to"), record.get("address"), record.get("error"))} for record in unmeasured]


def _unchecked(facts_by_host: dict, unreachable: dict[str, t.Optional[str]], topology: Topology) -> list[Unchecked]:
    unchecked: list[Unchecked] = []
    for host in sorted(unreachable):
        unchecked.append({"host": host, "what": "everything on this host: %s" % (unreachable[host] or "unreachable")})
    for host in sorted(topology.malformed):
        unchecked.append({"host": host, "what": "its WireGuard interfaces: the facts do not have the expected shape (%s)" %
                          topology.malformed[host]})
    for host in sorted(facts_by_host):
        errors = (facts_by_host[host] or {}).get("errors")
        for error in errors if isinstance(errors, list) else []:
            unchecked.append({"host": host, "what": str(error)})
    return unchecked


def _normalise_unreachable(unreachable: t.Any) -> dict[str, t.Optional[str]]:
    if not unreachable:
        return {}
    if isinstance(unreachable, dict):
        return dict((str(host), None if reason is None else str(reason)) for host, reason in unreachable.items())
    return dict((str(host), None) for host in unreachable)


def diagnose(facts_by_host: dict, probes: t.Optional[list[ProbeRecord]], pings: t.Optional[list[PingRecord]],
             unreachable: t.Any, now: float, mtu_records: t.Optional[list[MtuRecord]] = None,
             pairing: t.Optional[dict] = None) -> Report:
    """The report: {"schema": 1, "generated", "tunnels", "outside_peers", "unchecked", "findings",
    "incomplete", "healthy"}.

    facts_by_host maps an inventory hostname to its ansible_facts.wireguard (docs/facts.md);
    unreachable maps a hostname to why it could not be reached (a list of names also works).
    A report with anything in `unchecked` (a host not reached, facts of the wrong shape, a check
    that crashed) is `incomplete` and never `healthy`: what was not looked at cannot be vouched for.
    mtu_records are the don't-fragment bisections through the tunnels (playbooks/phases/path_mtu.yml).
    """
    unreachable = _normalise_unreachable(unreachable)
    for host, facts in (facts_by_host or {}).items():
        if not isinstance(facts, dict) or not isinstance(facts.get("interfaces") or {}, dict):
            unreachable.setdefault(str(host), "its wireguard facts are malformed (not the docs/facts.md shape)")
    facts_by_host = dict((h, f) for h, f in (facts_by_host or {}).items() if h not in unreachable)
    topology = build_topology(facts_by_host, pairing)
    ctx = Context(topology, facts_by_host, probes, pings, unreachable, now)
    ctx.mtu = list(mtu_records or [])
    failed: list[Unchecked] = []
    for rule in RULES:
        try:
            ctx.add(rule(ctx))
        except (AttributeError, KeyError, TypeError, ValueError, IndexError) as exc:
            # Facts from an older or broken wg_facts must cost one check, not the whole report.
            failed.append({"host": None, "what": "check %s could not run on these facts (%s)" % (
                rule.__name__, type(exc).__name__)})
    findings = [_public(f) for f in sorted(ctx.findings, key=_sort_key)]
    _follow_key_fixes(findings)
    unchecked = _unchecked(facts_by_host, unreachable, topology) + _unmeasured(ctx.mtu) + failed
    generated = datetime.datetime.fromtimestamp(now, tz=datetime.timezone.utc).replace(microsecond=0)
    report = {
        "schema": SCHEMA,
        "generated": generated.isoformat().replace("+00:00", "Z"),
        "tunnels": _tunnels(ctx),
        "outside_peers": topology.outside,
        "unchecked": unchecked,
        "findings": findings,
        "incomplete": bool(unchecked),
        "healthy": not unchecked and not any(SEVERITY[f["code"]] in ("critical", "error") for f in findings),
    }
    return t.cast(Report, report)
