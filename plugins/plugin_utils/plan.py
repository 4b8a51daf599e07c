# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which probes and pings the diagnose playbook runs, from the paired ends.

A probe goes from each initiator (an end with an Endpoint for its partner) to the
address WireGuard itself would send to: the runtime endpoint when the interface
runs, else what the configured Endpoint resolves to. A ping goes both ways between
the tunnel addresses of every pair.
"""
from __future__ import annotations

import typing as t

from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.session import is_fresh
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.topology import End, Topology, build_topology


class ProbePlanItem(t.TypedDict):
    initiator: str
    initiator_interface: t.Optional[str]
    responder: str
    interface: t.Optional[str]
    peer: str
    listen_port: t.Optional[int]
    target: dict[str, t.Any]


PingPlanItem = t.TypedDict("PingPlanItem", {
    "from": str, "to": str, "address": str, "interface": t.Optional[str], "handshake_recent": bool,
})


class PassPlan(t.TypedDict):
    probes: list[ProbePlanItem]
    pings: list[PingPlanItem]
    pairing: dict[str, t.Any]  # Topology.pairing(): the diagnosis of the same pass reuses it


def _target(entry: dict) -> t.Optional[tuple[str, int]]:
    """(address, port) the initiator's WireGuard sends handshakes to, or None."""
    runtime = (entry.get("runtime") or {}).get("endpoint") or {}
    if runtime.get("host") and runtime.get("port"):
        return runtime["host"], runtime["port"]
    configured = (entry.get("config") or {}).get("endpoint") or {}
    resolved = configured.get("resolved") or []
    if resolved and configured.get("port"):
        return resolved[0], configured["port"]
    if configured.get("host") and configured.get("port") and not configured.get("is_hostname"):
        return configured["host"], configured["port"]
    return None


def _topology(facts_by_host: t.Optional[dict], topology: t.Optional[Topology]) -> Topology:
    return topology if topology is not None else build_topology(facts_by_host or {})


def probe_plan(facts_by_host: t.Optional[dict], topology: t.Optional[Topology] = None) -> list[ProbePlanItem]:
    """One probe per (initiator, responder) pair that has somewhere to send to."""
    topology = _topology(facts_by_host, topology)
    plan: list[ProbePlanItem] = []
    for tunnel in topology.tunnels:
        first, second = tunnel["_ends"]
        sides = {first.host: (first, tunnel["a"]), second.host: (second, tunnel["b"])}
        for initiator_host in tunnel["initiators"]:
            initiator, side = sides[initiator_host]
            responder = second if initiator is first else first
            entry = topology.entry(initiator, side.get("peer"))
            target = _target(entry) if entry else None
            if not responder.public_key or target is None:
                continue
            plan.append({
                "initiator": initiator.host,
                "initiator_interface": initiator.interface,
                "responder": responder.host,
                "interface": responder.interface,
                "peer": responder.public_key,
                "listen_port": responder.listen_port,
                "target": {"host": target[0], "port": target[1]},
            })
    return plan


def _tunnel_address(end: End) -> t.Optional[str]:
    for address in end.tunnel_addresses:
        return address.split("/")[0]
    return None


def _handshake_age(topology: Topology, end: End, side: dict) -> t.Any:
    entry = topology.entry(end, side.get("peer")) or {}
    return (entry.get("runtime") or {}).get("latest_handshake_age")


def ping_plan(facts_by_host: t.Optional[dict], max_handshake_age: t.Optional[float] = None,
              topology: t.Optional[Topology] = None) -> list[PingPlanItem]:
    """Both directions of every pair whose ends both have a tunnel address.

    `handshake_recent` says whether the sending end completed a handshake with its partner
    less than max_handshake_age seconds ago (by default the session's lifetime,
    session.REJECT_AFTER_TIME): pinging makes sense only then (a ping through a tunnel
    without a session proves nothing new).
    """
    topology = _topology(facts_by_host, topology)
    plan: list[PingPlanItem] = []
    for tunnel in topology.tunnels:
        first, second = tunnel["_ends"]
        for (source, side), destination in (((first, tunnel["a"]), second), ((second, tunnel["b"]), first)):
            address = _tunnel_address(destination)
            if not (address and _tunnel_address(source)):
                continue
            age = _handshake_age(topology, source, side)
            recent = is_fresh(age) if max_handshake_age is None else age is not None and age < max_handshake_age
            plan.append({"from": source.host, "to": destination.host, "address": address,
                         "interface": source.interface, "handshake_recent": recent})
    return plan


def pass_plan(facts_by_host: t.Optional[dict]) -> PassPlan:
    """The probes and the pings of one diagnosis pass, from one pairing of the ends."""
    topology = build_topology(facts_by_host or {})
    return {"probes": probe_plan(None, topology=topology), "pings": ping_plan(None, topology=topology),
            "pairing": topology.pairing()}


# ---- each end's share of the pass -----------------------------------------------------------

class CaptureItem(t.TypedDict):
    """One capture on a responder: it serves every probe aimed at `port` there."""
    responder: str
    port: int
    interfaces: list[str]


class HostWork(t.TypedDict):
    """What one end does in the probe-and-ping play, all of it on that end (no delegate_to)."""
    probe_peers: list[str]  # its interfaces that take the probe key as a temporary peer
    listeners: list[CaptureItem]  # one capture per responder port that probes are aimed at
    probes: list[ProbePlanItem]  # the probes it sends
    pings: list[PingPlanItem]  # the pings it sends (handshake recent)


def _listen_port(item: t.Mapping[str, t.Any]) -> t.Optional[int]:
    port = item.get("listen_port") or (item.get("target") or {}).get("port")
    return int(port) if port else None


def host_work(probes: t.Optional[t.Sequence[ProbePlanItem]], pings: t.Optional[t.Sequence[PingPlanItem]],
              host: str) -> HostWork:
    """`host`'s share of the pass plan, so every end works at once: each responder registers the probe
    key once per interface and runs one capture per port for every probe aimed at it, however many
    initiators probe it; each initiator sends its own probes; each end sends its own pings."""
    work: HostWork = {"probe_peers": [], "listeners": [], "probes": [], "pings": []}
    captures: dict[int, CaptureItem] = {}
    for item in probes or []:
        if item.get("initiator") == host:
            work["probes"].append(item)
        if item.get("responder") != host:
            continue
        interface = item.get("interface")
        if interface and interface not in work["probe_peers"]:
            work["probe_peers"].append(interface)
        port = _listen_port(item)
        if port is None:
            continue
        capture = captures.setdefault(port, {"responder": host, "port": port, "interfaces": []})
        if interface and interface not in capture["interfaces"]:
            capture["interfaces"].append(interface)
    work["listeners"] = [captures[port] for port in sorted(captures)]
    work["pings"] = [item for item in pings or [] if item.get("from") == host and item.get("handshake_recent")]
    return work
