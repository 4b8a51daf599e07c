# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The handshake works, the traffic hangs (issue #16): a path MTU black hole under the tunnel.

Small pings cross, so every other check is satisfied; but a packet that fills the interface MTU
becomes an encrypted UDP datagram too big for a link on the path, a router drops it, and the ICMP
"fragmentation needed" that would have told the sender never comes back (filtered, or never sent).
SSH logins, HTTPS and file transfers hang on their first full-size segment.

The evidence is the MTU records of playbooks/phases/path_mtu.yml: per direction of a tunnel whose
ping answered, the largest don't-fragment ping payload that crossed (a bisection on the sending end),
beside the interface MTU that promises more.
"""
from __future__ import annotations

import typing as t

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.contracts import MtuRecord
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.diagnosis import after_handshake
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.diagnosis._common import (
    Context, RuleFinding, make_finding, remedy, tunnel_scope,
)
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.topology import End

CODES = ("tunnel_mtu_blackhole",)
# IP + ICMP echo headers a ping payload travels under: `ping -s SIZE` fills an MTU of SIZE + header.
HEADER = {4: 28, 6: 48}


def header_of(address: t.Any) -> int:
    return HEADER[6] if ":" in str(address or "") else HEADER[4]


def _measured(record: MtuRecord) -> bool:
    """A record that says something about the MTU: the interface MTU is known and some size crossed.
    A record where not even the smallest size crossed is a tunnel that does not carry traffic at all
    (tunnel_ping_fails' business), not a black hole for big packets."""
    return isinstance(record.get("mtu"), int) and isinstance(record.get("largest"), int)


def _promised(record: MtuRecord) -> int:
    return t.cast(int, record["mtu"]) - header_of(record.get("address"))


def _records_by_direction(ctx: Context) -> dict[tuple[t.Any, t.Any, t.Any], list[MtuRecord]]:
    """(from host, from interface, to host) -> records, built once: a hub's records are looked up, not scanned."""
    by_direction: dict[tuple[t.Any, t.Any, t.Any], list[MtuRecord]] = {}
    for record in ctx.mtu:
        if isinstance(record, dict):
            by_direction.setdefault((record.get("from"), record.get("interface"), record.get("to")), []).append(record)
    return by_direction


def _record_line(record: MtuRecord) -> str:
    text = "ping -M do %s -> %s (%s) over %s: largest payload that crossed %s bytes" % (
        record.get("from"), record.get("to"), record.get("address"), record.get("interface"), record.get("largest"))
    smallest_lost = record.get("smallest_lost")
    if isinstance(smallest_lost, int):
        text += ", %d did not" % smallest_lost
    if record.get("probes") is not None:
        bound = "" if record.get("complete", True) else ", stopped at the time bound"
        text += " (%s probes in %.1f s%s)" % (record.get("probes"), float(record.get("seconds") or 0), bound)
    return text


def _underlay_line(record: MtuRecord) -> str:
    underlay = record.get("underlay")
    if not isinstance(underlay, dict):
        return "%s: the underlay path MTU was not measured" % record.get("from")
    where = "%s -> %s via %s (link MTU %s)" % (
        record.get("from"), underlay.get("address"), underlay.get("interface"), underlay.get("mtu"))
    largest = underlay.get("largest")
    if isinstance(largest, int):
        return "underlay %s: largest DF payload that crossed %d bytes, a path MTU of %d" % (
            where, largest, largest + header_of(underlay.get("address")))
    return "underlay %s: not measurable (%s)" % (where, underlay.get("error") or "no DF ping answered, ICMP filtered?")


def _end_mtu(end: End, record: t.Optional[MtuRecord]) -> t.Optional[int]:
    """The end's interface MTU: measured on it (ip link), else its MTU = line; None when neither says."""
    if record is not None and isinstance(record.get("mtu"), int):
        return t.cast(int, record["mtu"])
    configured = (end.config or {}).get("mtu")
    return configured if isinstance(configured, int) else None


def _routes_for_others(ctx: Context, end: End) -> bool:
    """An end that forwards for the hosts behind its peers (AllowedIPs beyond the tunnel, forwarding on):
    its MTU protects only what it sends itself, the TCP of the hosts it routes for needs the MSS clamped."""
    forwarding = end.facts.get("forwarding") or {}
    if forwarding.get("ipv4") is not True and forwarding.get("ipv6") is not True:
        return False
    return any(router is end for router, _routed, _scope in after_handshake._routers(ctx))  # pylint: disable=protected-access


def tunnel_mtu_blackhole(ctx: Context) -> list[RuleFinding]:
    findings: list[RuleFinding] = []
    by_direction = _records_by_direction(ctx)
    if not by_direction:
        return findings
    for index, tunnel, first, second in ctx.tunnels():
        sides = ((first, second, tunnel["a"]), (second, first, tunnel["b"]))
        mine = dict((end.id, next(iter(by_direction.get((end.host, end.interface, other.host), [])), None))
                    for end, other, _side in sides)
        measured = [r for r in mine.values() if r is not None and _measured(r)]
        short = [r for r in measured if t.cast(int, r["largest"]) < _promised(r)]
        if not short:
            continue
        crossing = min(t.cast(int, r["largest"]) for r in measured)
        header = header_of(short[0].get("address"))
        wanted = crossing + header
        evidence: list[t.Optional[str]] = []
        for record in measured:
            evidence.append("%s: %s MTU %s promises DF ping payloads up to %d bytes (MTU - %d for IPv%d ICMP)" % (
                record.get("from"), record.get("interface"), record.get("mtu"), _promised(record),
                header_of(record.get("address")), 6 if header_of(record.get("address")) == HEADER[6] else 4))
            evidence.append(_record_line(record))
        evidence += [_underlay_line(r) for r in measured]
        for end, other, side in sides:
            end_mtu = _end_mtu(end, mine[end.id])
            if end_mtu is not None and end_mtu <= wanted:
                continue
            path = (end.config or {}).get("path")
            vars_: dict[str, t.Any] = {"peer_interface": end.interface, "peer_public_key": side["peer"], "peer_mtu": wanted}
            findings.append(make_finding(
                "tunnel_mtu_blackhole", end.host,
                "Traffic between %s and %s hangs on full-size packets: the tunnel's handshake and small pings work, but "
                "no don't-fragment ping payload above %d bytes crosses while %s's MTU of %s promises %s, and no ICMP "
                "\"fragmentation needed\" comes back. Set MTU = %d in [Interface] of %s (the file and live: ip link set "
                "dev %s mtu %d)." % (
                    end.label(), other.label(), crossing, end.interface, end_mtu if end_mtu is not None else "(automatic)",
                    "%d" % (end_mtu - header) if end_mtu is not None else "more", wanted, path or end.interface,
                    end.interface, wanted),
                evidence, interface=end.interface, peer=other.public_key,
                remedy=remedy("peer", end.host, vars_) if side["peer"] else None,
                scope=tunnel_scope(index, tunnel)))
            if _routes_for_others(ctx, end):
                findings.append(_mss_finding(ctx, end, other, index, tunnel, wanted, evidence))
    return findings


def _mss_finding(ctx: Context, end: End, other: End, index: int, tunnel: dict, wanted: int,
                 evidence: list[t.Optional[str]]) -> RuleFinding:
    firewall_vars = after_handshake._firewall_vars(end, firewall_mss_clamp=True)  # pylint: disable=protected-access
    return make_finding(
        "tunnel_mtu_blackhole", end.host,
        "%s routes for the hosts behind its peers, whose TCP does not know of the tunnel's MTU of %d: clamp the TCP MSS "
        "to the path MTU for traffic forwarded through %s in the firewall %s uses." % (
            end.label(), wanted, end.interface, end.host),
        evidence + ["%s forwards for others: IP forwarding is on and its peers route %s through it" % (
            end.host, ", ".join(str(n) for r, routed, _s in after_handshake._routers(ctx)  # pylint: disable=protected-access
                                for n in routed[:3] if r is end))],
        interface=end.interface, peer=other.public_key,
        remedy=remedy("firewall", end.host, firewall_vars) if firewall_vars else None,
        scope=tunnel_scope(index, tunnel))


RULES = (tunnel_mtu_blackhole,)
