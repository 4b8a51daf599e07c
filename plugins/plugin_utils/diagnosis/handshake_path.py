# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Can an initiation reach a listening responder? (FINDINGS.md: handshake path)."""
from __future__ import annotations

import typing as t

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.contracts import Remedy
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.diagnosis._common import (
    Context, RuleFinding, ScopeItem, address_ip, end_scope, firewall_line, make_finding, probe_line, remedy, short_key, tunnel_scope,
    tunnels_through_line,
)
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.diagnosis._firewall_remedy import early_policy_block, proven_firewall_vars
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.session import is_fresh
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.topology import End, PeerEntry, endpoint_targets, peer_endpoint

BLOCKING = ("drop", "reject")
# Outcomes that prove an initiation reached the socket and was answered.
ANSWERED = ("ok", "auth_failed", "cookie")


def host_unreachable(ctx: Context) -> list[RuleFinding]:
    findings = []
    for host in sorted(ctx.unreachable):
        reason = ctx.unreachable[host] or "no reason given"
        findings.append(make_finding(
            "host_unreachable", host,
            "%s could not be reached, so its side of every tunnel is unchecked; fix access and run again." % host,
            ["ansible: %s" % reason,
             "not checked on %s: WireGuard facts, firewall, listening socket, probes to and from it" % host,
             "peers of other hosts that may be %s are listed as outside the inventory" % host],
            scope=[("host", host)]))
    return findings


def config_invalid(ctx: Context) -> list[RuleFinding]:
    findings = []
    for end in ctx.topology.ends:
        errors = (end.config or {}).get("parse_errors") or []
        if not errors:
            continue
        first = errors[0]
        findings.append(make_finding(
            "config_invalid", end.host,
            "%s does not parse the way wg-quick reads it (%s:%s: %s); fix the file by hand." % (
                end.label(), first.get("file"), first.get("line"), first.get("reason")),
            ["%s:%s: %s" % (e.get("file"), e.get("line"), e.get("reason")) for e in errors],
            interface=end.interface, scope=end_scope(end)))
    return findings


def interface_down(ctx: Context) -> list[RuleFinding]:
    findings = []
    for end in ctx.topology.ends:
        if ctx.has("wireguard_missing", ("host", end.host)):
            continue
        runtime = end.runtime
        if runtime is not None and runtime.get("up", True):
            continue
        config = end.config or {}
        if not config.get("exists"):
            continue  # an interface named on the command line with neither file nor runtime: nothing expected
        unit = end.iface.get("unit") or {}
        evidence = []
        if config.get("exists"):
            evidence.append("%s: %s exists" % (end.host, config.get("path")))
        evidence.append("%s: %s" % (end.host, "no %s interface runs" % end.interface if runtime is None
                                    else "%s is down" % end.interface))
        if unit:
            evidence.append("unit %s: %s (enabled: %s)" % (unit.get("name"), unit.get("active"), unit.get("enabled")))
        evidence += [line for line in (tunnels_through_line(ctx, end),) if line]
        findings.append(make_finding(
            "interface_down", end.host,
            "%s is not running; start and enable wg-quick@%s." % (end.label(), end.interface),
            evidence, interface=end.interface,
            remedy=remedy("service", end.host, {"service_interface": end.interface}), scope=end_scope(end)))
    return findings


def _responders(ctx: Context) -> t.Iterator[tuple[End, set[ScopeItem]]]:
    """Ends that others must be able to reach: responders of a tunnel, ends with probes
    aimed at them, or ends holding a peer without an Endpoint (that peer has to initiate)."""
    scopes: dict[int, set[ScopeItem]] = {}
    for index, tunnel, first, second in ctx.tunnels():
        if tunnel["responder"] is not None:
            scopes.setdefault(second.id, set()).update(tunnel_scope(index, tunnel))
    for end in ctx.topology.ends:
        if end.id in scopes:
            continue
        if ctx.probes_to(end) or any(not (peer_endpoint(e) or {}).get("raw") and not (peer_endpoint(e) or {}).get("host")
                                     for e in end.peers.values()):
            scopes[end.id] = set(end_scope(end))
    for end_id in sorted(scopes):
        end = ctx.topology.ends[end_id]
        scopes[end_id].update(end_scope(end))
        yield end, scopes[end_id]


def _arrival_families(ctx: Context, end: End) -> list[int]:
    """The IP versions initiations reach end over: its probes' targets, else the addresses its
    initiators' Endpoints point at; IPv4 when nothing says."""
    memo = ctx.memo.setdefault("arrival_families", {})
    if end.id in memo:
        return memo[end.id]
    hosts = [(p.get("target") or {}).get("host") for p in ctx.probes_to(end)]
    if not any(hosts):
        for key in end.peers:
            index = ctx.tunnel_of.get((end.id, key))
            if index is None:
                continue
            first, second = ctx.topology.tunnels[index]["_ends"]
            initiator = second if first.id == end.id else first
            entry = ctx.topology.entry(initiator, end.public_key)
            hosts += [host for host, _port in endpoint_targets(entry)] if entry else []
    found = {ip.version for ip in (address_ip(str(host).strip("[]")) for host in hosts if host) if ip is not None}
    memo[end.id] = sorted(found) or [4]
    return memo[end.id]


def _input_verdict(ctx: Context, end: End) -> t.Optional[dict]:
    """The host firewall's verdict on UDP to the listen port in the family the initiators use (facts:
    `input` for IPv4, `input_ipv6`); over both, the family whose packets are blocked, noted as `family`."""
    firewall = end.iface.get("firewall") or {}
    verdicts: list[tuple[int, dict]] = []
    for family in _arrival_families(ctx, end):
        verdict = firewall.get("input_ipv6" if family == 6 else "input")
        if isinstance(verdict, dict):
            verdicts.append((family, verdict))
    if not verdicts:
        return None
    family, verdict = next((item for item in verdicts if item[1].get("verdict") in BLOCKING), verdicts[0])
    return dict(verdict, family=family)


def _down(ctx: Context, end: End) -> bool:
    return ctx.has("interface_down", ("end", end.id)) or ctx.has("wireguard_missing", ("host", end.host))


def port_not_listening(ctx: Context) -> list[RuleFinding]:
    findings = []
    for end, scope in _responders(ctx):
        if _down(ctx, end):
            continue
        listening = end.iface.get("listening") or {}
        verdict = _input_verdict(ctx, end) or {}
        port = listening.get("port") or end.listen_port
        # A probe sent to another port (the initiator's Endpoint port is wrong) says nothing about
        # this one: that is listen_port_mismatch, not an empty port.
        refused = [p for p in ctx.probes_to(end) if p.get("outcome") == "refused"
                   and (port is None or (p.get("target") or {}).get("port") in (None, port))]
        if verdict.get("verdict") == "reject":
            refused = []  # the firewall's REJECT sends the ICMP error, not an empty port
        if listening.get("bound") is not False and not refused:
            continue
        evidence = []
        if listening.get("bound") is False:
            evidence.append("%s: nothing bound to UDP %s (socket table)" % (end.host, port))
        evidence += [probe_line(p) + " - ICMP port unreachable" for p in refused]
        findings.append(make_finding(
            "port_not_listening", end.host,
            "Nothing listens on UDP %s on %s; restart wg-quick@%s." % (port, end.host, end.interface),
            evidence, interface=end.interface,
            remedy=remedy("service", end.host, {"service_interface": end.interface}), scope=scope))
    return findings


def udp_blocked_host_firewall(ctx: Context) -> list[RuleFinding]:
    findings = []
    named: set[int] = set()
    for end, scope in _responders(ctx):
        verdict = _input_verdict(ctx, end)
        if not verdict or verdict.get("verdict") not in BLOCKING:
            continue
        probes = ctx.probes_to(end)
        if any(p.get("outcome") in ANSWERED for p in probes):
            continue  # a probe got through: the rule does not apply to the path in use
        port = (end.iface.get("listening") or {}).get("port") or end.listen_port
        ipv6 = verdict["family"] == 6
        named.add(end.id)
        evidence = ["%s%s" % (firewall_line(verdict), " for IPv6, the family its initiators reach it over" if ipv6 else "")]
        evidence += [probe_line(p) for p in probes]
        evidence[1:1] = [line for line in (tunnels_through_line(ctx, end),) if line]  # before the probes: evidence is capped
        if any(p.get("arrived") for p in probes):
            evidence.append("the initiations reached %s's network interface, so %s's own firewall discarded them" % (
                end.host, end.host))
        summary = "%s's firewall (%s) %ss incoming %sUDP %s, so initiations never reach WireGuard; " % (
            end.host, verdict.get("backend") or "host firewall", verdict.get("verdict"), "IPv6 " if ipv6 else "", port)
        variables = dict({"firewall_port": port, "firewall_interface": end.interface}, **proven_firewall_vars(end, verdict, "input"))
        action: t.Optional[Remedy] = remedy("firewall", end.host, variables)
        early = early_policy_block(verdict, port)
        if early is not None:
            # The role opens the port in the zone, which this policy overrides: a remedy that changes something and fixes nothing.
            summary += early.summary
            evidence[1:1] = ["%s: %s" % (end.host, early.advice)]
            action = None
        else:
            summary += "open the port."
        findings.append(make_finding("udp_blocked_host_firewall", end.host, summary, evidence, interface=end.interface,
                                     remedy=action, scope=scope))
    return findings + _initiators_blocking_replies(ctx, named)


def _waiting_initiations(ctx: Context, end: End) -> list[tuple[int, dict, End, PeerEntry]]:
    """(tunnel index, tunnel, other end, end's entry for it) of each tunnel `end` initiates (it has an Endpoint for the
    other) whose handshake is not fresh on either side: the initiations that wait for a response."""
    waiting = []
    for index, tunnel, first, second in ctx.tunnels():
        if end.id not in (first.id, second.id):
            continue
        other = second if first.id == end.id else first
        entry = ctx.topology.entry(end, (tunnel["a"] if first.id == end.id else tunnel["b"])["peer"])
        endpoint = peer_endpoint(entry) if entry else None
        if entry is None or not endpoint or not (endpoint.get("raw") or endpoint.get("host")):
            continue
        back = ctx.topology.entry(other, (tunnel["b"] if first.id == end.id else tunnel["a"])["peer"])
        if any(is_fresh(((side or {}).get("runtime") or {}).get("latest_handshake_age")) for side in (entry, back)):
            continue  # the responses got in: whatever the reply verdict says, it is not the path in use
        waiting.append((index, tunnel, other, entry))
    return waiting


def _reply_verdict(end: End, entries: t.Iterable[PeerEntry]) -> t.Optional[dict]:
    """The host firewall's verdict on a reply (conntrack established) to the listen port, from the family of the
    responders' Endpoints (facts `input_reply` / `input_reply_ipv6`); over both, the family whose replies are blocked."""
    firewall = end.iface.get("firewall") or {}
    hosts = [host for entry in entries for host, _port in endpoint_targets(entry)]
    families: list[int] = sorted({ip.version for ip in (address_ip(str(host).strip("[]")) for host in hosts) if ip is not None}) or [4]
    verdicts: list[tuple[int, dict]] = []
    for version in families:
        found = firewall.get("input_reply_ipv6" if version == 6 else "input_reply")
        if isinstance(found, dict):
            verdicts.append((version, found))
    if not verdicts:
        return None  # facts of an older wg_facts: only the NEW question was asked, and it says nothing about replies
    family, verdict = next((item for item in verdicts if item[1].get("verdict") in BLOCKING), verdicts[0])
    return dict(verdict, family=family)


def _initiators_blocking_replies(ctx: Context, named: t.Container[int]) -> list[RuleFinding]:
    """An initiator sends from its listen port, so the responses come back to that port as replies to what it sent.
    A firewall that accepts established traffic first lets them in whatever it does with NEW packets to the port; one
    that drops the port statelessly discards every response. Named on the initiator, once per end."""
    findings = []
    for end in ctx.topology.ends:
        if end.id in named or end.listen_port is None or _down(ctx, end):
            continue
        waiting = _waiting_initiations(ctx, end)
        if not waiting:
            continue
        verdict = _reply_verdict(end, [entry for _index, _tunnel, _other, entry in waiting])
        if not verdict or verdict.get("verdict") not in BLOCKING:
            continue
        port = end.listen_port
        ipv6 = verdict["family"] == 6
        others = sorted({other.host for _index, _tunnel, other, _entry in waiting})
        probes = [p for _index, _tunnel, other, _entry in waiting for p in ctx.probes_to(other) if p.get("initiator") == end.host]
        evidence = ["%s%s" % (firewall_line(verdict), " for IPv6 replies" if ipv6 else ""),
                    "%s: %s sends its initiations from UDP %s, so the responses from %s come back to that port as replies "
                    "(conntrack established), and this verdict is for such a reply" % (end.host, end.interface, port, ", ".join(others))]
        evidence += [probe_line(p) for p in probes]
        if any(p.get("outcome") in ANSWERED for p in probes):
            evidence.append("the probe from an ephemeral port of %s was answered: the way to %s is open, the responses to UDP %s "
                            "are what is lost" % (end.host, ", ".join(others), port))
        fixed = (end.config or {}).get("listen_port")
        action: t.Optional[Remedy] = None
        if fixed == port:
            summary = ("%s's firewall (%s) %ss the handshake responses to %s's listen port UDP %s, so %s never completes a "
                       "handshake it starts; open the port." % (
                           end.host, verdict.get("backend") or "host firewall", verdict.get("verdict"), end.interface, port,
                           end.label()))
            action = remedy("firewall", end.host, dict({"firewall_port": port, "firewall_interface": end.interface},
                                                       **proven_firewall_vars(end, verdict, "input")))
        else:
            evidence.append("%s has no fixed ListenPort%s: UDP %s is the kernel's pick and changes at the next start" % (
                end.host, " in %s" % (end.config or {}).get("path") if (end.config or {}).get("path") else "", port))
            summary = ("%s's firewall (%s) %ss the handshake responses to %s's listen port UDP %s, so %s never completes a "
                       "handshake it starts; set a fixed ListenPort and open it in the firewall." % (
                           end.host, verdict.get("backend") or "host firewall", verdict.get("verdict"), end.interface, port,
                           end.label()))
        scope: list[ScopeItem] = list(end_scope(end))
        for index, tunnel, _other, _entry in waiting:
            scope.extend(tunnel_scope(index, tunnel))
        findings.append(make_finding("udp_blocked_host_firewall", end.host, summary, evidence, interface=end.interface,
                                     remedy=action, scope=scope))
    return findings


def udp_blocked_upstream(ctx: Context) -> list[RuleFinding]:
    findings = []
    for end, scope in _responders(ctx):
        verdict = _input_verdict(ctx, end) or {}
        if verdict.get("verdict") in BLOCKING or _down(ctx, end):
            continue
        if any(ctx.has("stale_endpoint", item) for item in scope):
            continue  # the probe went to an old address: stale_endpoint already says so
        probes = ctx.probes_to(end)
        lost = [p for p in probes if p.get("outcome") == "timeout" and p.get("arrived") == 0]
        if not lost or any(p.get("outcome") in ANSWERED for p in probes if p.get("vantage") != "controller"):
            continue
        port = end.listen_port
        evidence = [firewall_line(verdict) if verdict else "%s: no host firewall verdict blocks UDP %s" % (end.host, port)]
        evidence += [probe_line(p) for p in probes]
        evidence.append("capture on %s saw none of the probe's initiations: they were lost before its interface" % end.host)
        if any(p.get("vantage") == "controller" and p.get("outcome") in ANSWERED for p in probes):
            evidence.append("the controller's probe got through: the filter sits on the initiator's side of the path")
        targets = set((p.get("target") or {}).get("host") for p in lost)
        foreign = sorted(t for t in targets if t and t not in end.addresses)
        if foreign and end.addresses:
            evidence.append("%s is not an address of %s (%s): NAT/port forward in front of it, or a wrong address" % (
                ", ".join(foreign), end.host, ", ".join(end.addresses)))
        findings.append(make_finding(
            "udp_blocked_upstream", end.host,
            "UDP %s to %s is dropped before it reaches the host (cloud security group, router or provider filter); "
            "allow it there." % (port, end.host),
            evidence, interface=end.interface, scope=scope))
    return findings


def listen_port_mismatch(ctx: Context) -> list[RuleFinding]:
    findings = []
    for index, tunnel, end, other, entry in ctx.directions():
        endpoint = peer_endpoint(entry) if entry else None
        if entry is None or not endpoint or endpoint.get("port") is None or other.listen_port is None:
            continue
        if endpoint["port"] == other.listen_port:
            continue
        fixed = (other.config or {}).get("listen_port")
        evidence = ["%s: %s peer %s Endpoint = %s" % (end.host, end.interface, short_key(entry["public_key"]), endpoint.get("raw")),
                    "%s: %s listens on UDP %s" % (other.host, other.interface, other.listen_port)]
        action: t.Optional[Remedy] = remedy("peer", end.host, {
            "peer_interface": end.interface, "peer_public_key": entry["public_key"],
            "peer_endpoint": "%s:%s" % (endpoint.get("host"), other.listen_port)})
        summary = "%s sends to port %s but %s listens on %s; set the Endpoint port to %s." % (
            end.label(), endpoint["port"], other.label(), other.listen_port, other.listen_port)
        if fixed is None and (other.config or {}).get("exists"):
            evidence.append("%s has no ListenPort in %s: the port is random and changes on restart" % (
                other.host, (other.config or {}).get("path")))
            summary = "%s has no fixed ListenPort (now %s) while %s expects %s; set ListenPort = %s on %s." % (
                other.label(), other.listen_port, end.label(), endpoint["port"], endpoint["port"], other.host)
            action = None
        findings.append(make_finding(
            "listen_port_mismatch", end.host, summary, evidence, interface=end.interface,
            peer=other.public_key, remedy=action, scope=tunnel_scope(index, tunnel)))
    return findings


def endpoint_unresolvable(ctx: Context) -> list[RuleFinding]:
    findings = []
    for end in ctx.topology.ends:
        # An end the name kept from starting: start_endpoint_unresolvable already names it and what it did.
        if ctx.has("start_endpoint_unresolvable", ("end", end.id)):
            continue
        for key, entry in end.peers.items():
            endpoint = (entry.get("config") or {}).get("endpoint") or {}
            if not endpoint.get("is_hostname"):
                continue
            if endpoint.get("resolved") and not endpoint.get("resolve_error"):
                continue
            index = ctx.tunnel_of.get((end.id, key))
            scope = end_scope(end) if index is None else tunnel_scope(index, ctx.topology.tunnels[index])
            findings.append(make_finding(
                "endpoint_unresolvable", end.host,
                "%s cannot resolve its peer's Endpoint %s; fix the DNS name or use an address." % (
                    end.label(), endpoint.get("raw")),
                ["%s: resolving %s: %s" % (end.host, endpoint.get("host"), endpoint.get("resolve_error") or "no address")],
                interface=end.interface, peer=key, scope=scope))
    return findings


def missing_endpoint(ctx: Context) -> list[RuleFinding]:
    findings = []
    for index, tunnel, first, second in ctx.tunnels():
        if tunnel["initiators"]:
            continue
        # A [Peer] that did not parse has lost its Endpoint with it: config_invalid says why.
        if any((end.config or {}).get("parse_errors") for end in (first, second)):
            continue
        evidence = []
        for end, other, side in ((first, second, tunnel["a"]), (second, first, tunnel["b"])):
            if side["peer"]:
                evidence.append("%s: %s peer %s has no Endpoint" % (end.host, end.interface, short_key(side["peer"])))
        findings.append(make_finding(
            "missing_endpoint", first.host,
            "Neither %s nor %s has an Endpoint for the other, so nobody can start the handshake; "
            "give the client an Endpoint for the server." % (first.label(), second.label()),
            evidence, interface=first.interface, peer=second.public_key, scope=tunnel_scope(index, tunnel)))
    return findings


RULES = (host_unreachable, config_invalid, interface_down, missing_endpoint, endpoint_unresolvable)
PATH_RULES = (listen_port_mismatch, port_not_listening, udp_blocked_host_firewall, udp_blocked_upstream)
