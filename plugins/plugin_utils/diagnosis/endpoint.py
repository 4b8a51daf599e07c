# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Does the initiator send to where the responder is now? (FINDINGS.md: endpoint, DNS, NAT)."""
from __future__ import annotations

import typing as t

from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.diagnosis._common import (
    Context, RuleFinding, is_public, make_finding, peer_value, remedy, short_key, tunnel_scope,
)
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.topology import End, PeerEntry
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.session import is_fresh

KEEPALIVE_INTERVAL = 25


def _connected(entry: t.Optional[PeerEntry], other_entry: t.Optional[PeerEntry]) -> bool:
    """A handshake under REJECT_AFTER_TIME seen from either side."""
    for candidate in (entry, other_entry):
        if is_fresh(((candidate or {}).get("runtime") or {}).get("latest_handshake_age")):
            return True
    return False


def _initiations(ctx: Context) -> t.Iterator[tuple[int, dict, End, End, PeerEntry, t.Optional[PeerEntry]]]:
    """(index, tunnel, initiator end, responder end, initiator's entry, responder's entry)."""
    for index, tunnel, end, other, entry in ctx.directions():
        if entry is None or end.host not in tunnel["initiators"]:
            continue
        endpoint = peer_value(entry, "endpoint") or {}
        if not (endpoint.get("raw") or endpoint.get("host")):
            continue
        side = tunnel["b"] if end is tunnel["_ends"][0] else tunnel["a"]
        yield index, tunnel, end, other, entry, ctx.topology.entry(other, side["peer"])


def stale_endpoint(ctx: Context) -> list[RuleFinding]:
    findings = []
    for index, tunnel, end, other, entry, other_entry in _initiations(ctx):
        held = (entry.get("runtime") or {}).get("endpoint") or {}
        configured = (entry.get("config") or {}).get("endpoint") or {}
        if not held.get("host") or not configured:
            continue
        failed_pings = [p for p in ctx.pings if p.get("from") == end.host and p.get("to") == other.host and not p.get("ok")]
        # A session that still carries pings is not stale; one whose pings die is, however recent its handshake.
        if _connected(entry, other_entry) and not failed_pings:
            continue
        current = list(configured.get("resolved") or [])
        if not configured.get("is_hostname") and configured.get("host"):
            current.append(configured["host"])
        if held["host"] in current or held["host"] in other.addresses:
            continue
        now_at = [a for a in current if a in other.addresses] or current
        if not now_at:
            continue
        evidence = ["%s: %s sends to %s (runtime endpoint of peer %s)" % (
            end.host, end.interface, held.get("raw"), short_key(entry["public_key"]))]
        if configured.get("is_hostname"):
            evidence.append("%s: %s resolves to %s now" % (end.host, configured.get("host"), ", ".join(current)))
        evidence.append("%s's addresses: %s" % (other.host, ", ".join(other.addresses) or "unknown"))
        evidence += ["ping from %s to %s (%s) through the tunnel failed" % (p["from"], p["to"], p.get("address"))
                     for p in failed_pings]
        variables = {"peer_interface": end.interface, "peer_public_key": entry["public_key"]}
        if configured.get("is_hostname"):
            variables["peer_reresolve"] = True
        else:
            variables["peer_endpoint"] = "%s:%s" % (now_at[0], configured.get("port") or other.listen_port)
        findings.append(make_finding(
            "stale_endpoint", end.host,
            "%s still sends to %s's old address %s; %s is at %s now." % (
                end.label(), other.host, held.get("host"), other.host, ", ".join(now_at)),
            evidence, interface=end.interface, peer=other.public_key,
            remedy=remedy("peer", end.host, variables), scope=tunnel_scope(index, tunnel)))
    return findings


def hostname_endpoint_not_reresolved(ctx: Context) -> list[RuleFinding]:
    findings = []
    for index, tunnel, end, other, entry, other_entry in _initiations(ctx):
        configured = (entry.get("config") or {}).get("endpoint") or {}
        if not configured.get("is_hostname") or end.iface.get("reresolve"):
            continue
        findings.append(make_finding(
            "hostname_endpoint_not_reresolved", end.host,
            "%s's Endpoint %s is a hostname resolved only once at start; re-resolve it periodically." % (
                end.label(), configured.get("raw")),
            ["%s: %s peer %s Endpoint = %s" % (end.host, end.interface, short_key(entry["public_key"]), configured.get("raw")),
             "%s: no re-resolution (reresolve-dns timer, NetworkManager) found for %s" % (end.host, end.interface)],
            interface=end.interface, peer=other.public_key,
            remedy=remedy("keepalive", end.host, {"keepalive_interface": end.interface, "keepalive_peer": entry["public_key"],
                                                  "keepalive_reresolve": True}),
            scope=tunnel_scope(index, tunnel)))
    return findings


def _nat_evidence(end: End, other: End, entry: PeerEntry, other_entry: t.Optional[PeerEntry]) -> list[str]:
    evidence = []
    seen_from = ((other_entry or {}).get("runtime") or {}).get("endpoint") or {}
    if seen_from.get("host") and end.addresses and seen_from["host"] not in end.addresses:
        evidence.append("%s sees %s's packets coming from %s, not from %s's addresses (%s)" % (
            other.host, end.host, seen_from.get("raw"), end.host, ", ".join(end.addresses)))
    endpoint = peer_value(entry, "endpoint") or {}
    targets = list(endpoint.get("resolved") or []) + [endpoint.get("host")]
    if end.addresses and not any(is_public(a) for a in end.addresses) and any(is_public(t) for t in targets if t):
        evidence.append("%s has only private addresses (%s) and reaches %s at a public address (%s)" % (
            end.host, ", ".join(end.addresses), other.host, endpoint.get("raw")))
    return evidence


def nat_without_keepalive(ctx: Context) -> list[RuleFinding]:
    findings = []
    for index, tunnel, end, other, entry, other_entry in _initiations(ctx):
        if peer_value(entry, "persistent_keepalive"):
            continue
        evidence = _nat_evidence(end, other, entry, other_entry)
        if not evidence:
            continue
        evidence.append("%s: %s peer %s has no PersistentKeepalive" % (end.host, end.interface, short_key(entry["public_key"])))
        findings.append(make_finding(
            "nat_without_keepalive", end.host,
            "%s sits behind NAT without PersistentKeepalive, so %s loses the way back once the NAT mapping expires; "
            "set PersistentKeepalive = %d." % (end.label(), other.host, KEEPALIVE_INTERVAL),
            evidence, interface=end.interface, peer=other.public_key,
            remedy=remedy("keepalive", end.host, {"keepalive_interface": end.interface, "keepalive_peer": entry["public_key"],
                                                  "keepalive_interval": KEEPALIVE_INTERVAL}),
            scope=tunnel_scope(index, tunnel)))
    return findings


def dynamic_ip_bare_endpoint(ctx: Context) -> list[RuleFinding]:
    findings = []
    for index, tunnel, end, other, entry, other_entry in _initiations(ctx):
        configured = (entry.get("config") or {}).get("endpoint") or {}
        if configured.get("is_hostname") or not configured.get("host"):
            continue
        dynamic = [a for a in other.facts.get("addresses") or []
                   if a.get("address") == configured["host"] and a.get("dynamic")]
        if not dynamic:
            continue
        findings.append(make_finding(
            "dynamic_ip_bare_endpoint", end.host,
            "%s reaches %s at the bare address %s, which %s got by DHCP; use a DDNS name and re-resolve it." % (
                end.label(), other.host, configured["host"], other.host),
            ["%s: %s peer %s Endpoint = %s" % (end.host, end.interface, short_key(entry["public_key"]), configured.get("raw")),
             "%s: %s on %s is dynamic (DHCP lease)" % (other.host, configured["host"], dynamic[0].get("interface"))],
            interface=end.interface, peer=other.public_key, scope=tunnel_scope(index, tunnel)))
    return findings


RULES = (stale_endpoint,)
ADVICE_RULES = (nat_without_keepalive, hostname_endpoint_not_reresolved, dynamic_ip_bare_endpoint)
