# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Why `wg-quick up` does not start an interface (issue #16): the causes `interface_down` follows from.

wg-quick undoes everything (`ip link delete`) when one step of `up` fails, so the user sees only
an interface that is not there. These rules read the `start` fact (docs/facts.md) of an end that
did not start and name the step that fails. None has a mechanical fix: each is a person's choice.
"""
from __future__ import annotations

import re
import typing as t

from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.diagnosis import handshake_path
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.diagnosis._common import (
    Context, RuleFinding, ScopeItem, end_scope, make_finding, short_key,
)
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.topology import End

CODES = ("dns_without_resolvconf", "listen_port_in_use", "start_endpoint_unresolvable", "interface_start_failed")
# What interface_down follows from: these, and a config wg-quick cannot read.
START_CAUSES = ("config_invalid",) + CODES
# Unit states of a start that did not complete: failed, or still retrying (an Endpoint name under
# WG_ENDPOINT_RESOLUTION_RETRIES=infinity, Debian's default, retries for ever with the link down).
NOT_STARTED = ("failed", "activating")
_PORT_ERROR = re.compile(r"address already in use|address in use", re.IGNORECASE)


def _not_started(end: End) -> bool:
    """The file exists and `wg-quick up` did not complete: no interface, or (systemd) a link that is down
    while its unit failed or is still starting. A link set down by hand is not a failed start."""
    if not (end.config or {}).get("exists"):
        return False
    if end.runtime is None:
        return True
    unit = end.iface.get("unit") or {}
    return end.runtime.get("up") is False and unit.get("active") in NOT_STARTED


def _start(end: End) -> dict:
    start = end.iface.get("start")
    return start if isinstance(start, dict) else {}


def _log_lines(end: End, pattern: t.Optional[t.Pattern[str]] = None) -> list[str]:
    log = _start(end).get("log") or {}
    lines = [line for line in log.get("lines") or [] if isinstance(line, str)]
    return [line for line in lines if pattern.search(line)] if pattern else lines


def _log_hint(end: End, pattern: t.Pattern[str]) -> list[str]:
    """The journal's last line that shows the failure itself, when the journal was read."""
    lines = _log_lines(end, pattern)
    source = (_start(end).get("log") or {}).get("source") or "log"
    return ["%s: %s" % (source, lines[-1])] if lines else []


def _skipped(ctx: Context, end: End) -> bool:
    return ctx.has("wireguard_missing", ("host", end.host)) or not _not_started(end)


def _unit_line(end: End) -> t.Optional[str]:
    unit = end.iface.get("unit") or {}
    if not unit:
        return None
    return "unit %s: %s" % (unit.get("name"), unit.get("active"))


def dns_without_resolvconf(ctx: Context) -> list[RuleFinding]:
    findings = []
    for end in ctx.topology.ends:
        start = _start(end)
        lines = start.get("dns_lines") or []
        if _skipped(ctx, end) or not lines or start.get("resolvconf"):
            continue
        path = (end.config or {}).get("path")
        evidence = ["%s:%s: %s" % (path, line.get("line"), line.get("text")) for line in lines]
        evidence.append("%s: no resolvconf on PATH: wg-quick up runs `resolvconf -a %s -m 0 -x` for DNS = and "
                        "deletes the interface when that fails" % (end.host, end.interface))
        resolvectl = start.get("resolvectl")
        if resolvectl:
            found = "%s (systemd-resolved acts as resolvconf when called by that name, but nothing links it)" % resolvectl
        else:
            found = "not found either"
        evidence.append("%s: resolvectl: %s" % (end.host, found))
        evidence += _log_hint(end, re.compile("resolvconf"))
        findings.append(make_finding(
            "dns_without_resolvconf", end.host,
            "wg-quick up fails on %s: its DNS = line (%s:%s) needs resolvconf, which %s does not have; install one "
            "(openresolv, or systemd-resolved's resolvconf) if the tunnel should set the DNS, or remove the DNS line "
            "(a server rarely needs it)." % (end.label(), path, lines[0].get("line"), end.host),
            evidence, interface=end.interface, scope=end_scope(end)))
    return findings


def _holder_text(holder: dict, port: int) -> str:
    where = "%s:%s" % (holder.get("address"), port)
    if holder.get("wireguard_interface"):
        who = "%s serving WireGuard interface %s (pid %s)" % (holder.get("process"), holder["wireguard_interface"],
                                                              holder.get("pid"))
    elif holder.get("process"):
        who = "%s (pid %s)" % (holder["process"], holder.get("pid"))
    else:
        who = "a kernel socket (no owning process: kernel WireGuard or another kernel user)"
    return "%s held by %s" % (where, who)


def listen_port_in_use(ctx: Context) -> list[RuleFinding]:
    findings = []
    for end in ctx.topology.ends:
        port = (end.config or {}).get("listen_port")
        if _skipped(ctx, end) or not port:
            continue
        # A daemon still serving this very interface is wg-quick's own leftover (a stop in progress), not a rival.
        holders = [h for h in _start(end).get("port_holders") or []
                   if isinstance(h, dict) and h.get("wireguard_interface") != end.interface]
        if not holders:
            continue
        others = [o for o in ctx.ends_of(end.host) if o is not end and (o.runtime or {}).get("listen_port") == port]
        evidence = ["%s: ss -uanp: UDP %s" % (end.host, _holder_text(h, port)) for h in holders]
        evidence += ["%s: %s runs with ListenPort %s" % (o.host, o.interface, port) for o in others]
        evidence.append("%s: %s has ListenPort = %s in %s" % (end.host, end.interface, port, (end.config or {}).get("path")))
        evidence += _log_hint(end, _PORT_ERROR)
        first = holders[0]
        if others or first.get("wireguard_interface"):
            holder = "WireGuard interface %s" % (others[0].interface if others else first["wireguard_interface"])
        else:
            holder = first.get("process") or "a kernel socket"
        findings.append(make_finding(
            "listen_port_in_use", end.host,
            "wg-quick up fails on %s: UDP %s is already held by %s (\"Address already in use\"); stop that, or give "
            "%s another ListenPort and change the peers' Endpoints to match." % (end.label(), port, holder, end.interface),
            evidence, interface=end.interface, scope=end_scope(end)))
    return findings


def _unresolved(endpoint: t.Any) -> bool:
    """A hostname Endpoint whose lookup failed: the resolver's error is the proof (a name never looked up
    has none, and the topology turns its `resolved: null` into [])."""
    return isinstance(endpoint, dict) and bool(endpoint.get("is_hostname")) and bool(endpoint.get("resolve_error"))


def start_endpoint_unresolvable(ctx: Context) -> list[RuleFinding]:
    findings = []
    for end in ctx.topology.ends:
        if _skipped(ctx, end):
            continue
        failing = [peer for peer in (end.config or {}).get("peers") or []
                   if isinstance(peer, dict) and _unresolved(peer.get("endpoint"))]
        if not failing:
            continue
        path = (end.config or {}).get("path")
        evidence = []
        scope: list[ScopeItem] = list(end_scope(end))
        for peer in failing:
            endpoint = peer["endpoint"]
            evidence.append("%s: [Peer] at %s:%s (%s): Endpoint = %s: %s" % (
                end.host, path, peer.get("line"), short_key(peer.get("public_key")), endpoint.get("raw"),
                endpoint.get("resolve_error")))
            key = peer.get("public_key")
            index = ctx.tunnel_of.get((end.id, key)) if isinstance(key, str) else None
            if index is not None:
                # The tunnel (its handshake_never follows from this), not the other end: that one may be fine.
                scope.append(("tunnel", index))
        names = [str(peer["endpoint"].get("host")) for peer in failing if peer["endpoint"].get("host")]
        if names:
            evidence += _log_hint(end, re.compile("|".join(re.escape(name) for name in names)))
        retrying = (end.iface.get("unit") or {}).get("active") == "activating"
        if retrying:
            evidence.append("%s: wg-quick@%s is still activating: wg retries the name (WG_ENDPOINT_RESOLUTION_RETRIES) "
                            "with the link down" % (end.host, end.interface))
        findings.append(make_finding(
            "start_endpoint_unresolvable", end.host,
            "wg-quick up %s on %s as a whole, not only for that peer, because Endpoint %s does not resolve; fix the "
            "DNS name or the host's resolver, or use an address." % (
                "hangs" if retrying else "fails", end.label(), failing[0]["endpoint"].get("raw")),
            evidence, interface=end.interface, peer=failing[0].get("public_key") if len(failing) == 1 else None, scope=scope))
    return findings


def interface_start_failed(ctx: Context) -> list[RuleFinding]:
    findings = []
    for end in ctx.topology.ends:
        if _skipped(ctx, end) or any(ctx.has(code, ("end", end.id)) for code in START_CAUSES if code != "interface_start_failed"):
            continue
        unit = end.iface.get("unit") or {}
        log = _start(end).get("log") or {}
        if unit:
            # Not the unit's state alone: a unit stopped by hand is `failed` too when wireguard-go outlives the
            # stop timeout. The journal tells a start that failed from one that worked and was stopped later.
            outcome = log.get("outcome")
            failed = outcome == "failed" or (outcome == "starting" and unit.get("active") == "activating")
        else:
            failed = isinstance(log.get("rc"), int) and log["rc"] != 0
        if not failed:
            continue  # stopped by hand, or nothing says why: interface_down alone
        lines = _log_lines(end)
        evidence = [_unit_line(end), "%s: %s (last %d lines, keys redacted):" % (end.host, log.get("source"), len(lines))
                    if log else "%s: no journal or dry run could be read" % end.host]
        evidence += lines
        findings.append(make_finding(
            "interface_start_failed", end.host,
            "wg-quick up fails on %s for a reason no other check names; the last lines of %s below say which step "
            "failed." % (end.label(), "its journal" if unit else "the dry run"),
            evidence, interface=end.interface, scope=end_scope(end)))
        # Every line of the log counts as evidence here: the cap would hide wg-quick's last words.
        findings[-1]["evidence"] = [line for line in evidence if line]
    return findings


def interface_down(ctx: Context) -> list[RuleFinding]:
    """handshake_path.interface_down with what stopped `wg-quick up` in `follows_from`: restarting the unit
    cannot fix those, so the service remedy is withheld while one of them stands."""
    findings = handshake_path.interface_down(ctx)
    for finding in findings:
        causes = ctx.causes(finding["_scope"], START_CAUSES)
        if not causes:
            continue
        finding["follows_from"] = causes
        if set(causes) & set(CODES):
            finding["remedy"] = None
            finding["summary"] = "%s/%s is not running because wg-quick up fails (%s); starting it again fails the " \
                "same way until that is fixed." % (finding["host"], finding["interface"], ", ".join(causes))
    return findings


RULES = (dns_without_resolvconf, listen_port_in_use, start_endpoint_unresolvable, interface_start_failed, interface_down)
