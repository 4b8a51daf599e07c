# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""After the fix, prevention: does anything watch a tunnel that carries traffic? (FINDINGS.md: monitor_missing).

The facts' `monitor` (docs/facts.md) says whether wgdoctor.wireguard.monitor runs on an end and what its
check last saw of each peer; `side_monitor` puts that on each side of a tunnel for the report. The
finding only suggests the role: it carries no remedy, so `wg_remediate=true` never installs it unasked.
"""
from __future__ import annotations

import typing as t

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.contracts import SideMonitor
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.diagnosis._common import (
    Context, RuleFinding, end_scope, make_finding, short_key, tunnel_scope,
)
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.session import is_fresh
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.topology import End, PeerEntry

MONITOR_ROLE = "wgdoctor.wireguard.monitor"


def monitor_facts(end: End) -> t.Optional[dict]:
    """The end's `monitor` fact, None when its wg_facts did not say (older) or said something malformed."""
    monitor = end.facts.get("monitor")
    if not isinstance(monitor, dict) or not isinstance(monitor.get("installed"), bool):
        return None
    return monitor


def watched(monitor: t.Mapping[str, t.Any]) -> bool:
    """Installed, and something (a systemd timer, cron) runs the check."""
    return bool(monitor.get("installed")) and bool(monitor.get("scheduler"))


def side_monitor(end: End, peer_key: t.Optional[str]) -> t.Optional[SideMonitor]:
    """What the monitor on `end` last said of the peer `peer_key` (a tunnel side's `monitor`)."""
    monitor = monitor_facts(end)
    if monitor is None:
        return None
    side: SideMonitor = {"installed": monitor["installed"], "scheduler": monitor.get("scheduler"), "state": None,
                         "failures": None, "last_check_age": None, "error": monitor.get("error")}
    if not monitor["installed"]:
        return side
    for peer in monitor.get("peers") or []:
        if isinstance(peer, dict) and peer.get("interface") == end.interface and peer.get("public_key") == peer_key:
            side["state"] = peer.get("state")
            side["failures"] = peer.get("failures")
            epoch = (end.facts.get("clock") or {}).get("epoch")
            if isinstance(peer.get("last_check"), int) and isinstance(epoch, (int, float)):
                # The host's clock on both sides of the difference: a skewed controller changes nothing.
                side["last_check_age"] = max(0, int(epoch) - peer["last_check"])
            break
    return side


def _traffic(entry: t.Optional[PeerEntry], other_entry: t.Optional[PeerEntry]) -> t.Optional[str]:
    """Why the tunnel counts as carrying traffic, or None: a fresh handshake seen from either end, or a
    completed handshake and bytes both ways on this end's counters."""
    for candidate in (entry, other_entry):
        runtime = (candidate or {}).get("runtime") or {}
        if is_fresh(runtime.get("latest_handshake_age")):
            return "latest handshake %s s ago" % runtime["latest_handshake_age"]
    runtime = (entry or {}).get("runtime") or {}
    received, sent = runtime.get("transfer_rx"), runtime.get("transfer_tx")
    if runtime.get("latest_handshake") is not None and isinstance(received, int) and isinstance(sent, int) \
            and received > 0 and sent > 0:
        return "%d bytes received, %d sent" % (received, sent)
    return None


def monitor_missing(ctx: Context) -> list[RuleFinding]:
    """One finding per end without a running monitor that carries traffic on at least one tunnel."""
    carrying: dict[int, list[tuple[int, dict, End, End, str]]] = {}
    ends: dict[int, End] = {}
    for index, tunnel, end, other, entry in ctx.directions():
        monitor = monitor_facts(end)
        if monitor is None or watched(monitor):
            continue
        side = tunnel["b"] if end is tunnel["_ends"][0] else tunnel["a"]
        why = _traffic(entry, ctx.topology.entry(other, side["peer"]))
        if why:
            carrying.setdefault(end.id, []).append((index, tunnel, end, other, why))
            ends[end.id] = end
    findings = []
    for end_id, tunnels in sorted(carrying.items()):
        end = ends[end_id]
        monitor = monitor_facts(end) or {}
        others = [other for _index, _tunnel, _end, other, _why in tunnels]
        if monitor.get("installed"):
            state = "the monitor's check is installed but neither a systemd timer nor cron runs it"
        else:
            state = "no %s check (timer or cron job) is installed" % MONITOR_ROLE
        evidence = ["%s: %s peer %s (%s): %s" % (end.host, end.interface, other.host, short_key(other.public_key), why)
                    for _index, _tunnel, _end, other, why in tunnels]
        evidence.append("%s: %s" % (end.host, state))
        scope = list(end_scope(end))
        for index, tunnel, _end, _other, _why in tunnels:
            scope += tunnel_scope(index, tunnel)
        findings.append(make_finding(
            "monitor_missing", end.host,
            "%s carries traffic to %s and nothing watches it: the %s role alerts once after consecutive failed checks, "
            "before users notice (not installed by wg_remediate; add it to the play that manages %s)." % (
                end.label(), ", ".join(sorted(set(other.host for other in others))), MONITOR_ROLE, end.host),
            evidence, interface=end.interface, peer=others[0].public_key if len(others) == 1 else None,
            remedy=None, scope=scope))
    return findings


RULES = (monitor_missing,)
