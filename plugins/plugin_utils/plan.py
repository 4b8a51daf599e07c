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

from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.topology import build_topology


def _target(entry):
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


def probe_plan(facts_by_host):
    """One probe per (initiator, responder) pair that has somewhere to send to."""
    topology = build_topology(facts_by_host or {})
    plan = []
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


def _tunnel_address(end):
    for address in end.tunnel_addresses:
        return address.split("/")[0]
    return None


def _handshake_age(topology, end, side):
    entry = topology.entry(end, side.get("peer")) or {}
    return (entry.get("runtime") or {}).get("latest_handshake_age")


def ping_plan(facts_by_host, max_handshake_age=180):
    """Both directions of every pair whose ends both have a tunnel address.

    `handshake_recent` says whether the sending end completed a handshake with its
    partner less than max_handshake_age seconds ago: pinging makes sense only then
    (a ping through a tunnel without a session proves nothing new).
    """
    topology = build_topology(facts_by_host or {})
    plan = []
    for tunnel in topology.tunnels:
        first, second = tunnel["_ends"]
        for (source, side), destination in (((first, tunnel["a"]), second), ((second, tunnel["b"]), first)):
            address = _tunnel_address(destination)
            if not (address and _tunnel_address(source)):
                continue
            age = _handshake_age(topology, source, side)
            plan.append({"from": source.host, "to": destination.host, "address": address,
                         "interface": source.interface,
                         "handshake_recent": age is not None and age < max_handshake_age})
    return plan
