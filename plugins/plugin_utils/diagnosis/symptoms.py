# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the user sees, reported with the causes found (FINDINGS.md: symptoms)."""
from __future__ import annotations

import typing as t

from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.diagnosis._common import (
    CATALOG, SYMPTOMS, Context, RuleFinding, ScopeItem, make_finding, ping_line, short_key, tunnel_scope,
)
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.topology import End, PeerEntry
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.session import REJECT_AFTER_TIME

HANDSHAKE_CAUSES = frozenset(code for code, severity in CATALOG
                             if code not in SYMPTOMS and (severity in ("critical", "error") or code == "clock_skew"))
STALE_CAUSES = frozenset(code for code, severity in CATALOG if code not in SYMPTOMS and severity != "info")
PING_CAUSES = frozenset(code for code, severity in CATALOG if code not in SYMPTOMS and severity in ("critical", "error"))


def wireguard_missing(ctx: Context) -> list[RuleFinding]:
    findings = []
    for host in sorted(ctx.facts_by_host):
        facts = ctx.facts_by_host[host] or {}
        tools = facts.get("tools") or {}
        if facts.get("implementation") not in (None, "none") and tools.get("wg"):
            continue
        evidence = ["%s: WireGuard implementation: %s" % (host, facts.get("implementation") or "none"),
                    "%s: wg tool: %s, wg-quick: %s" % (host, tools.get("wg") or "not found", bool(tools.get("wg_quick")))]
        findings.append(make_finding(
            "wireguard_missing", host,
            "%s has no WireGuard (kernel module or wireguard-go, and wireguard-tools); install it." % host,
            evidence, scope=[("host", host)] + [("end", e.id) for e in ctx.ends_of(host)]))
    return findings


def _scope_with_hosts(index: int, tunnel: dict) -> tuple[ScopeItem, ...]:
    first, second = tunnel["_ends"]
    return tunnel_scope(index, tunnel) + (("host", first.host), ("host", second.host))


def _runtime_line(end: End, entry: t.Optional[PeerEntry]) -> str:
    if end.runtime is None:
        return "%s: %s is not running" % (end.host, end.interface)
    runtime = (entry or {}).get("runtime")
    if runtime is None:
        return "%s: running %s has no such peer" % (end.host, end.interface)
    age = runtime.get("latest_handshake_age")
    return "%s: %s peer %s: latest handshake %s, %s B received, %s B sent" % (
        end.host, end.interface, short_key(runtime.get("public_key")),
        "(none)" if runtime.get("latest_handshake") is None else "%s s ago" % age,
        runtime.get("transfer_rx"), runtime.get("transfer_tx"))


def _sides(ctx: Context, tunnel: dict) -> tuple[tuple[End, t.Optional[PeerEntry]], tuple[End, t.Optional[PeerEntry]]]:
    first, second = tunnel["_ends"]
    return ((first, ctx.topology.entry(first, tunnel["a"]["peer"])),
            (second, ctx.topology.entry(second, tunnel["b"]["peer"])))


def _ages(sides: t.Iterable[tuple[End, t.Optional[PeerEntry]]]) -> list[t.Any]:
    ages = []
    for _end, entry in sides:
        runtime = (entry or {}).get("runtime") or {}
        if runtime.get("latest_handshake") is not None and runtime.get("latest_handshake_age") is not None:
            ages.append(runtime["latest_handshake_age"])
    return ages


def _symptom(ctx: Context, code: str, index: int, tunnel: dict, summary: str, evidence: t.Sequence[t.Optional[str]],
             wanted: t.Container[str]) -> RuleFinding:
    first, second = tunnel["_ends"]
    scope = _scope_with_hosts(index, tunnel)
    causes = ctx.causes(scope, wanted)
    if causes:
        summary += " It follows from %s." % ", ".join(causes)
    else:
        summary += " No check explains it; the evidence is below."
    finding = make_finding(code, first.host, summary, evidence, interface=first.interface,
                           peer=second.public_key, scope=scope)
    finding["follows_from"] = causes
    return finding


def handshake_never(ctx: Context) -> list[RuleFinding]:
    findings = []
    for index, tunnel, first, second in ctx.tunnels():
        sides = _sides(ctx, tunnel)
        if _ages(sides):
            continue
        findings.append(_symptom(
            ctx, "handshake_never", index, tunnel,
            "No handshake has ever completed between %s and %s." % (first.label(), second.label()),
            [_runtime_line(end, entry) for end, entry in sides], HANDSHAKE_CAUSES))
    return findings


def handshake_stale(ctx: Context) -> list[RuleFinding]:
    findings = []
    pinged = set((p.get("from"), p.get("to")) for p in ctx.pings)
    for index, tunnel, first, second in ctx.tunnels():
        sides = _sides(ctx, tunnel)
        ages = _ages(sides)
        if not ages or min(ages) < REJECT_AFTER_TIME:
            continue
        kept_alive = any(((entry or {}).get("runtime") or {}).get("persistent_keepalive") for _e, entry in sides)
        if not kept_alive and (first.host, second.host) not in pinged and (second.host, first.host) not in pinged:
            continue  # an idle tunnel without keepalive rekeys only when traffic is sent
        findings.append(_symptom(
            ctx, "handshake_stale", index, tunnel,
            "The last handshake between %s and %s is %d s old although traffic was sent; the session has expired." % (
                first.label(), second.label(), min(ages)),
            [_runtime_line(end, entry) for end, entry in sides], STALE_CAUSES))
    return findings


def tunnel_ping_fails(ctx: Context) -> list[RuleFinding]:
    findings: list[RuleFinding] = []
    by_pair: dict[tuple[t.Any, t.Any], list[int]] = {}
    if all(p.get("ok") for p in ctx.pings):
        return findings
    for index, tunnel, first, second in ctx.tunnels():
        by_pair.setdefault((first.host, second.host), []).append(index)
        by_pair.setdefault((second.host, first.host), []).append(index)
    for ping in ctx.pings:
        if ping.get("ok"):
            continue
        for index in by_pair.get((ping.get("from"), ping.get("to")), []):
            tunnel = ctx.topology.tunnels[index]
            target = [e for e in tunnel["_ends"] if e.host == ping.get("to")][0]
            if ping.get("address") and target.tunnel_addresses and not any(
                    a.split("/")[0] == ping["address"] for a in target.tunnel_addresses):
                continue
            sides = _sides(ctx, tunnel)
            ages = _ages(sides)
            if not ages or min(ages) >= REJECT_AFTER_TIME:
                continue  # no session: handshake_never / handshake_stale say so
            back = [p for p in ctx.pings if p.get("from") == ping.get("to") and p.get("to") == ping.get("from")]
            evidence = [ping_line(ping)]
            evidence += ["ping %s -> %s (%s): %s" % (p.get("from"), p.get("to"), p.get("address"),
                                                     "works" if p.get("ok") else "fails") for p in back]
            evidence.append("latest handshake %d s ago: the tunnel itself is up" % min(ages))
            finding = _symptom(
                ctx, "tunnel_ping_fails", index, tunnel,
                "The handshake is up but ping from %s to %s (%s) over the tunnel fails." % (
                    ping.get("from"), ping.get("to"), ping.get("address")),
                evidence, PING_CAUSES)
            source = [e for e in tunnel["_ends"] if e.host == ping.get("from")][0]
            finding.update(host=source.host, interface=source.interface, peer=target.public_key)
            findings.append(finding)
            break
    return findings


RULES = (wireguard_missing,)
SYMPTOM_RULES = (tunnel_ping_fails, handshake_never, handshake_stale)
