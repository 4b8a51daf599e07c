# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The handshake completes, but does traffic flow? (FINDINGS.md: after the handshake)."""
from __future__ import annotations

import typing as t

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.contracts import Remedy
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall.primitives import masquerade_covers
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.diagnosis._common import (
    Context, IPNetwork, RuleFinding, ScopeItem, address_ip, address_value, end_scope, firewall_line, make_finding, network,
    peer_value, remedy, short_key, span, tunnel_scope, within,
)
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.diagnosis._firewall_remedy import early_policy_block, proven_firewall_vars
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.topology import End, PeerEntry

# An end that forwards for its partners: the networks it routes for them, and the scope of its findings.
Router = t.Tuple[End, t.List[IPNetwork], t.Set[ScopeItem]]

BLOCKING = ("drop", "reject")


def _allowed_ips(entry: t.Optional[PeerEntry]) -> list[str]:
    return list(peer_value(entry, "allowed_ips") or [])


def allowed_ips_missing_peer_address(ctx: Context) -> list[RuleFinding]:
    findings = []
    for index, tunnel, end, other, entry in ctx.directions():
        if entry is None or not other.tunnel_addresses:
            continue
        allowed = _allowed_ips(entry)
        spans = [s for s in (span(p) for p in allowed) if s is not None]
        values = [(a, v) for a, v in ((a, address_value(a)) for a in other.tunnel_addresses) if v is not None]
        unrouted = [(a, v) for a, v in values if not within(v, spans)]
        if not unrouted:
            continue
        if len(unrouted) < len(values):
            # A family the entry does not route at all is a choice (IPv4-only tunnel), not a mistake.
            families = set(s[0] for s in spans)
            unrouted = [(a, v) for a, v in unrouted if v[0] in families]
            if not unrouted:
                continue
        missing = [ip for ip in (address_ip(a) for a, _v in unrouted) if ip is not None]
        wanted = ["%s/%d" % (ip, 32 if ip.version == 4 else 128) for ip in missing]
        findings.append(make_finding(
            "allowed_ips_missing_peer_address", end.host,
            "%s's AllowedIPs for %s (%s) do not cover %s's tunnel address %s, so its packets are dropped; add %s." % (
                end.label(), other.host, ", ".join(allowed) or "none", other.host,
                ", ".join(str(ip) for ip in missing), ", ".join(wanted)),
            ["%s: %s peer %s AllowedIPs = %s" % (end.host, end.interface, short_key(entry["public_key"]), ", ".join(allowed) or "(none)"),
             "%s: %s Address = %s" % (other.host, other.interface, ", ".join(other.tunnel_addresses))],
            interface=end.interface, peer=other.public_key,
            remedy=remedy("peer", end.host, {"peer_interface": end.interface, "peer_public_key": entry["public_key"],
                                             "peer_allowed_ips": allowed + wanted}),
            scope=tunnel_scope(index, tunnel)))
    return findings


def _overlaps(claims: list[tuple[str, str]]) -> list[tuple[str, str, str, str]]:
    """Overlapping (prefix, key) claims of different peers, in one sweep over sorted ranges."""
    found = []
    for version in (4, 6):
        ranges = []
        for prefix, key in claims:
            prefix_span = span(prefix)
            if prefix_span is not None and prefix_span[0] == version:
                ranges.append((prefix_span[1], -prefix_span[3], prefix_span[2], prefix, key))
        ranges.sort()
        cover = None
        for start, _neg_len, last, prefix, key in ranges:
            if cover is not None and start <= cover[2] and key != cover[4]:
                found.append((cover[3], cover[4], prefix, key))
            if cover is None or last > cover[2] or key == cover[4] and last >= cover[2]:
                cover = (start, _neg_len, last, prefix, key)
    return found


def allowed_ips_overlap(ctx: Context) -> list[RuleFinding]:
    findings = []
    for end in ctx.topology.ends:
        claims = []
        for key, entry in end.peers.items():
            for prefix in _allowed_ips(entry):
                claims.append((prefix, key))
        overlaps = _overlaps(claims)
        if not overlaps:
            continue
        first = overlaps[0]
        findings.append(make_finding(
            "allowed_ips_overlap", end.host,
            "On %s, peers %s and %s both claim %s/%s; WireGuard routes it to the last one set. Give each prefix to one peer." % (
                end.label(), short_key(first[1]), short_key(first[3]), first[0], first[2]),
            ["%s: %s peer %s AllowedIPs %s overlaps peer %s AllowedIPs %s" % (
                end.host, end.interface, short_key(k1), p1, short_key(k2), p2) for p1, k1, p2, k2 in overlaps],
            interface=end.interface, peer=first[3], scope=end_scope(end)))
    return findings


def no_route_for_allowed_ips(ctx: Context) -> list[RuleFinding]:
    findings = []
    for end in ctx.topology.ends:
        routes = end.iface.get("routes") or {}
        if not routes or end.runtime is None:
            continue
        bad = []
        for key, entry in end.peers.items():
            for prefix in _allowed_ips(entry):
                if prefix not in routes:
                    continue  # not collected: unknown, not wrong
                route = routes[prefix]
                if route is None or route.get("dev") != end.interface:
                    bad.append((prefix, route))
        if not bad:
            continue
        table = (end.config or {}).get("table")
        evidence = ["%s: %s goes %s" % (end.host, prefix, "nowhere (no route)" if route is None else "via dev %s%s (table %s)" % (
            route.get("dev"), " gateway %s" % route["via"] if route.get("via") else "", route.get("table")))
            for prefix, route in bad]
        if table == "off":
            evidence.insert(0, "%s: Table = off in %s: wg-quick adds no routes" % (end.host, (end.config or {}).get("path")))
        findings.append(make_finding(
            "no_route_for_allowed_ips", end.host,
            "On %s, %d AllowedIPs prefix(es) are not routed into %s (first: %s); add the routes or remove the more specific ones." % (
                end.host, len(bad), end.interface, bad[0][0]),
            evidence, interface=end.interface, scope=end_scope(end)))
    return findings


def _routed_for_others(end: End, other_entry: PeerEntry) -> list[IPNetwork]:
    """Prefixes the partner sends into this end that are neither its address nor its tunnel subnet:
    a full tunnel or a site behind it, which this end must forward."""
    own = [s for s in (span(a) for a in end.tunnel_addresses) if s is not None]
    routed = []
    for prefix in _allowed_ips(other_entry):
        prefix_span = span(prefix)
        if prefix_span is None:
            continue
        if any(o[0] == prefix_span[0] and o[1] <= prefix_span[1] and prefix_span[2] <= o[2] for o in own):
            continue
        net = network(prefix)
        if net is not None:
            routed.append(net)
    return routed


def _routers(ctx: Context) -> list[Router]:
    """[(end, routed networks, scope)] for every end that forwards for its partners."""
    if "routers" not in ctx.memo:
        ctx.memo["routers"] = _find_routers(ctx)
    return ctx.memo["routers"]


def _find_routers(ctx: Context) -> list[Router]:
    routers: dict[int, Router] = {}
    for index, tunnel, end, other, entry in ctx.directions():
        side = tunnel["b"] if end is tunnel["_ends"][0] else tunnel["a"]
        other_entry = ctx.topology.entry(other, side["peer"])
        if other_entry is None:
            continue
        routed = _routed_for_others(end, other_entry)
        if not routed:
            continue
        item = routers.setdefault(end.id, (end, [], set(end_scope(end))))
        item[1].extend(n for n in routed if n not in item[1])
        item[2].update(tunnel_scope(index, tunnel))
    return [routers[k] for k in sorted(routers)]


def ip_forward_disabled(ctx: Context) -> list[RuleFinding]:
    findings = []
    for end, routed, scope in _routers(ctx):
        forwarding = end.facts.get("forwarding") or {}
        off = [v for v in (4, 6) if any(n.version == v for n in routed) and forwarding.get("ipv%d" % v) is False]
        if not off:
            continue
        findings.append(make_finding(
            "ip_forward_disabled", end.host,
            "%s routes %s for its peers but IP forwarding is off; enable it." % (
                end.host, ", ".join(str(n) for n in routed[:3])),
            ["%s: net.ipv%s forwarding = 0" % (end.host, "4.ip_forward" if v == 4 else "6.conf.all.forwarding") for v in off]
            + ["peers send %s into %s" % (", ".join(str(n) for n in routed[:5]), end.label())],
            interface=end.interface,
            remedy=remedy("ip_forwarding", end.host, {"ip_forwarding_ipv4": 4 in off or forwarding.get("ipv4") is not False,
                                                      "ip_forwarding_ipv6": 6 in off}),
            scope=scope))
    return findings


def _listen_port(end: End) -> t.Optional[int]:
    """The UDP port the end's socket listens on (else its configured ListenPort): the firewall role opens it."""
    return (end.iface.get("listening") or {}).get("port") or end.listen_port


def _firewall_vars(end: End, **variables: t.Any) -> t.Optional[dict[str, t.Any]]:
    """A firewall remedy's variables: the role acts on the tunnel's interface and port, so both are
    named; without a known port there is nothing to name and no remedy (never the role's default)."""
    port = _listen_port(end)
    if port is None:
        return None
    return dict({"firewall_interface": end.interface, "firewall_port": port}, **variables)


def _forward_verdict(end: End) -> dict[str, t.Any]:
    return (end.iface.get("firewall") or {}).get("forward") or (end.facts.get("firewall") or {}).get("forward") or {}


def forward_chain_blocks(ctx: Context) -> list[RuleFinding]:
    findings = []
    for end, routed, scope in _routers(ctx):
        verdict = _forward_verdict(end)
        if verdict.get("verdict", verdict.get("policy")) not in BLOCKING:
            continue
        line = firewall_line(dict(verdict, chain=verdict.get("chain") or "forward",
                                  verdict=verdict.get("verdict", verdict.get("policy"))))
        summary = "%s's firewall drops forwarded traffic in or out of %s; " % (end.host, end.interface)
        evidence = [line, "peers send %s into %s" % (", ".join(str(n) for n in routed[:5]), end.label())]
        action = _firewall_remedy(end, firewall_forward=True, **proven_firewall_vars(end, verdict, "forward"))
        early = early_policy_block(verdict, _listen_port(end), end.interface)
        if early is not None:
            # The role's own policy would come after this one: a remedy that changes the host and forwards nothing.
            summary += early.summary
            evidence.insert(1, "%s: %s" % (end.host, early.advice))
            action = None
        else:
            summary += "allow forwarding for the tunnel."
        findings.append(make_finding("forward_chain_blocks", end.host, summary, evidence, interface=end.interface, remedy=action,
                                     scope=scope))
    return findings


def _firewall_remedy(end: End, **variables: t.Any) -> t.Optional[Remedy]:
    firewall_vars = _firewall_vars(end, **variables)
    return remedy("firewall", end.host, firewall_vars) if firewall_vars else None


def _ipv4_uplink(end: End) -> t.Optional[str]:
    """The device of the IPv4 default route, from the `uplinks` fact (docs/facts.md): the one answer
    to where this host's traffic leaves. Facts without it (an older wg_facts) name no uplink."""
    for uplink in end.facts.get("uplinks") or []:
        if uplink.get("family") == 4 and uplink.get("interface"):
            return uplink["interface"]
    return None


def nat_masquerade_missing(ctx: Context) -> list[RuleFinding]:
    findings = []
    for end, routed, scope in _routers(ctx):
        if not any(n.prefixlen <= 1 and n.version == 4 for n in routed):
            continue  # only a full-tunnel gateway must hide its peers behind its own address
        subnets = [n for n in (network(a) for a in end.tunnel_addresses) if n is not None and n.version == 4]
        masquerade = (end.facts.get("firewall") or {}).get("masquerade") or []
        uplink = _ipv4_uplink(end)
        # The firewall package's own answer: the source must hold the subnet (a negated one must not)
        # and the rule must leave by the uplink.
        if any(masquerade_covers(masquerade, str(subnet), uplink) for subnet in subnets) or \
                (not subnets and any(not m.get("source") for m in masquerade)):
            continue
        source = str(subnets[0]) if subnets else None
        summary = "%s forwards its peers' Internet traffic but does not masquerade %s out of %s; " % (
            end.host, source or "the tunnel subnet", uplink or "its uplink")
        evidence = ["peers send %s into %s" % (", ".join(str(n) for n in routed[:5]), end.label()),
                    "%s: no masquerade/SNAT rule for %s (%d rule(s) seen: %s)" % (
                        end.host, source, len(masquerade), "; ".join(str(m.get("rule")) for m in masquerade[:3]) or "none"),
                    None if uplink else "%s: no IPv4 default route in its facts, so no uplink to masquerade out of" % end.host]
        action = _firewall_remedy(end, firewall_masquerade_source=source, firewall_masquerade_interface=uplink,
                                  **proven_firewall_vars(end, _forward_verdict(end), "forward")) if source and uplink else None
        early = early_policy_block(_forward_verdict(end), _listen_port(end), end.interface)
        if early is not None:
            # The masquerade rides on the same role run as the forwarding: the forwarded packets are dropped before it.
            summary += ("the forwarded packets never reach a masquerade: %s" % early.summary)
            evidence.insert(1, "%s: %s" % (end.host, early.advice))
            action = None
        else:
            summary += "add a masquerade rule."
        findings.append(make_finding("nat_masquerade_missing", end.host, summary, evidence, interface=end.interface, remedy=action,
                                     scope=scope))
    return findings


RULES = (allowed_ips_missing_peer_address, allowed_ips_overlap, no_route_for_allowed_ips,
         ip_forward_disabled, forward_chain_blocks, nat_masquerade_missing)
