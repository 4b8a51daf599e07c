# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pair WireGuard ends across hosts from their facts (docs/facts.md).

An end's [Peer] PublicKey names the other end. When no host owns the key the
entry holds, the entry's Endpoint (resolved address and port) points at the
host it was meant for, which tells us that the key - not the pairing - is
wrong. Everything here is a dict lookup per peer, so a hub with 10,000 peers
costs 10,000 lookups.
"""
from __future__ import annotations

import ipaddress


class End(object):
    """One WireGuard interface on one inventory host."""

    __slots__ = ("id", "host", "interface", "facts", "iface", "config", "runtime",
                 "public_key", "listen_port", "addresses", "tunnel_addresses", "peers",
                 "duplicate_peers")

    def __init__(self, end_id, host, facts, iface):
        self.id = end_id
        self.host = host
        self.interface = _text(iface.get("name"))
        self.facts = _clean(facts, ("clock", "forwarding", "firewall", "tools"), ("addresses",))
        self.iface = _clean(iface, ("firewall", "listening", "unit", "routes"), ())
        self.config = iface.get("config") if isinstance(iface.get("config"), dict) else None
        self.runtime = iface.get("runtime") if isinstance(iface.get("runtime"), dict) else None
        runtime = self.runtime or {}
        config = self.config or {}
        # The runtime key is what the interface answers with; the file only
        # matters when the interface is down.
        self.public_key = _text(runtime.get("public_key")) or _text(config.get("public_key"))
        self.listen_port = _port(runtime.get("listen_port")) or _port(config.get("listen_port"))
        self.addresses = []
        self.tunnel_addresses = [a for a in config.get("address") or [] if isinstance(a, str)]
        self.peers = {}
        self.duplicate_peers = []
        self._merge_peers()

    def _merge_peers(self):
        for source in ("config", "runtime"):
            section = getattr(self, source) or {}
            seen = set()
            for peer in section.get("peers") or []:
                key = _text(peer.get("public_key")) if isinstance(peer, dict) else None
                if not key:
                    continue
                if key in seen:
                    self.duplicate_peers.append((source, peer))
                    continue
                seen.add(key)
                entry = self.peers.get(key)
                if entry is None:
                    entry = {"public_key": key, "config": None, "runtime": None}
                    self.peers[key] = entry
                entry[source] = _clean_peer(peer)

    def ref(self):
        return {"host": self.host, "interface": self.interface, "public_key": self.public_key}

    def label(self):
        return "%s/%s" % (self.host, self.interface)


def _clean(mapping, dict_fields, list_fields):
    """A shallow copy where each named field has its documented container type (or is None/[]),
    so a malformed fact costs that fact, not the run."""
    clean = dict(mapping)
    for field in dict_fields:
        if not isinstance(clean.get(field), dict):
            clean[field] = None
    for field in list_fields:
        value = clean.get(field)
        clean[field] = [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []
    return clean


def _clean_peer(peer):
    clean = _clean(peer, ("endpoint",), ())
    allowed = clean.get("allowed_ips")
    clean["allowed_ips"] = [p for p in allowed if isinstance(p, str)] if isinstance(allowed, list) else []
    for field in ("latest_handshake", "latest_handshake_age", "persistent_keepalive", "transfer_rx", "transfer_tx"):
        value = clean.get(field)
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            clean[field] = None
    endpoint = clean.get("endpoint")
    if endpoint is not None:
        endpoint = dict(endpoint)
        if not isinstance(endpoint.get("resolved"), list):
            endpoint["resolved"] = []
        endpoint["resolved"] = [a for a in endpoint["resolved"] if isinstance(a, str)]
        endpoint["port"] = _port(endpoint.get("port"))
        for field in ("raw", "host"):
            endpoint[field] = _text(endpoint.get(field))
        clean["endpoint"] = endpoint
    return clean


def _text(value):
    return value if isinstance(value, str) and value else None


def _port(value):
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 65536 else None


def peer_endpoint(entry):
    """The endpoint an end would send to for this peer entry: config first, then runtime."""
    config = entry.get("config")
    if config is not None:
        return config.get("endpoint")
    runtime = entry.get("runtime")
    return runtime.get("endpoint") if runtime else None


def endpoint_targets(entry):
    """All (address, port) pairs the entry's endpoint may point to."""
    targets = []
    for source in ("config", "runtime"):
        peer = entry.get(source) or {}
        endpoint = peer.get("endpoint") or {}
        port = endpoint.get("port")
        if port is None:
            continue
        hosts = list(endpoint.get("resolved") or [])
        if endpoint.get("host") and not endpoint.get("is_hostname"):
            hosts.append(endpoint.get("host"))
        for host in hosts:
            targets.append((_normal_ip(host), port))
    return targets


_NORMAL = {}


def _normal_ip(text):
    """One spelling per address (IPv6 compressed), so index lookups match."""
    normal = _NORMAL.get(text)
    if normal is None:
        stripped = str(text).strip("[]")
        try:
            normal = str(ipaddress.ip_address(stripped.split("%", maxsplit=1)[0]))
        except ValueError:
            normal = stripped
        if len(_NORMAL) < 200000:
            _NORMAL[text] = normal
    return normal


def _reachable_address(text):
    """Addresses another host could send to: not loopback, not link-local."""
    try:
        ip = ipaddress.ip_address(str(text).split("%", maxsplit=1)[0])
    except ValueError:
        return False
    return not (ip.is_loopback or ip.is_link_local)


def _host_ends(host, facts, first_id):
    interfaces = facts.get("interfaces") or {}
    wg_names = set(interfaces)
    host_addresses = [_normal_ip(a.get("address")) for a in facts.get("addresses") or []
                      if isinstance(a, dict) and isinstance(a.get("address"), str) and a.get("interface") not in wg_names
                      and _reachable_address(a["address"])]
    ends = []
    for ifname in sorted(interfaces):
        iface = dict(interfaces[ifname] or {})
        iface.setdefault("name", ifname)
        end = End(first_id + len(ends), host, facts, iface)
        end.addresses = host_addresses
        ends.append(end)
    return ends


def collect_ends(facts_by_host, malformed=None):
    """Every end of every host; a host whose facts do not have the docs/facts.md shape is
    left out and named in `malformed` (host -> exception type) instead of failing the run."""
    ends = []
    for host in sorted(facts_by_host):
        try:
            ends.extend(_host_ends(host, facts_by_host[host] or {}, len(ends)))
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            if malformed is not None:
                malformed[host] = type(exc).__name__
    return ends


class Topology(object):
    """Ends, the tunnels between them, and peers that belong to no inventory host."""

    def __init__(self, facts_by_host):
        self.malformed = {}
        self.ends = collect_ends(facts_by_host, self.malformed)
        self.by_key = {}
        self.by_address = {}
        self._index()
        self.tunnels = []
        self.outside = []
        self._links = {}
        self._pair()

    def _index(self):
        for end in self.ends:
            if end.public_key:
                self.by_key.setdefault(end.public_key, []).append(end)
            for address in end.addresses:
                self.by_address.setdefault(address, []).append(end)

    def owner(self, key, not_end=None):
        for end in self.by_key.get(key) or ():
            if end is not not_end:
                return end
        return None

    def _endpoint_owner(self, end, entry):
        for address, port in endpoint_targets(entry):
            candidates = [e for e in self.by_address.get(address) or () if e is not end]
            exact = [e for e in candidates if e.listen_port == port]
            if exact:
                return exact[0]
            # Address right, port wrong: still the intended end (listen_port_mismatch).
            if len(candidates) == 1:
                return candidates[0]
        return None

    def _link(self, end, other, key, how):
        pair = (min(end.id, other.id), max(end.id, other.id))
        link = self._links.get(pair)
        if link is None:
            link = {}
            self._links[pair] = link
        if end.id not in link:
            link[end.id] = (key, how)
            return True
        return False

    def _pair(self):
        unowned = []
        for end in self.ends:
            for key, entry in end.peers.items():
                other = self.owner(key, not_end=end)
                if other is not None:
                    self._link(end, other, key, "keys")
                else:
                    unowned.append((end, key, entry))
        leftovers = []
        for end, key, entry in unowned:
            other = self._endpoint_owner(end, entry)
            if other is None or not self._link(end, other, key, "endpoint"):
                leftovers.append((end, key, entry))
        claimed = self._claim_by_allowed_ips(leftovers)
        for end, key, entry in leftovers:
            if (end.id, key) in claimed:
                continue
            endpoint = peer_endpoint(entry) or {}
            self.outside.append({"host": end.host, "interface": end.interface, "public_key": key,
                                 "endpoint": endpoint.get("raw")})
        for pair in sorted(self._links):
            self.tunnels.append(self._tunnel(pair, self._links[pair]))

    def _claim_by_allowed_ips(self, leftovers):
        """An end whose entry for its partner holds a key nobody owns, and has no Endpoint:
        find that entry by the partner's tunnel address in AllowedIPs or by where it roamed from."""
        by_end = {}
        for end, key, entry in leftovers:
            index = by_end.setdefault(end.id, {})
            peer = entry.get("config") or entry.get("runtime") or {}
            for prefix in peer.get("allowed_ips") or []:
                if prefix.endswith("/32") or prefix.endswith("/128"):
                    index.setdefault(_normal_ip(prefix.split("/")[0]), key)
            runtime_endpoint = (entry.get("runtime") or {}).get("endpoint") or {}
            if runtime_endpoint.get("host"):
                index.setdefault(_normal_ip(runtime_endpoint["host"]), key)
        claimed = set()
        for pair, link in self._links.items():
            for end_id in pair:
                other_id = pair[1] if end_id == pair[0] else pair[0]
                if end_id in link or end_id not in by_end:
                    continue
                other = self.ends[other_id]
                index = by_end[end_id]
                candidates = [a.split("/")[0] for a in other.tunnel_addresses] + other.addresses
                for address in candidates:
                    key = index.get(_normal_ip(address))
                    if key is not None and (end_id, key) not in claimed:
                        link[end_id] = (key, "allowed_ips")
                        claimed.add((end_id, key))
                        break
        return claimed

    def _tunnel(self, pair, link):
        first, second = self.ends[pair[0]], self.ends[pair[1]]
        initiators = [end for end in (first, second) if self._initiates(end, link)]
        if len(initiators) == 1 and initiators[0] is second:
            first, second = second, first
        sides = []
        for end in (first, second):
            key, how = link.get(end.id, (None, None))
            side = end.ref()
            side["peer"] = key
            side["peer_matched_by"] = how
            sides.append(side)
        hows = [side["peer_matched_by"] for side in sides if side["peer_matched_by"]]
        return {
            "a": sides[0],
            "b": sides[1],
            "matched_by": "keys" if all(h == "keys" for h in hows) else "endpoint",
            "initiators": [end.host for end in (first, second) if end in initiators],
            "responder": second.host if initiators else None,
            "_ends": (first, second),
        }

    @staticmethod
    def _initiates(end, link):
        key = link.get(end.id, (None, None))[0]
        if key is None:
            return False
        endpoint = peer_endpoint(end.peers[key]) or {}
        return bool(endpoint.get("raw") or endpoint.get("host"))

    def entry(self, end, key):
        return end.peers.get(key) if key else None

    def as_report(self):
        tunnels = []
        for tunnel in self.tunnels:
            tunnels.append(dict((k, v) for k, v in tunnel.items() if not k.startswith("_")))
        return {"tunnels": tunnels, "outside": list(self.outside)}


def build_topology(facts_by_host: dict) -> Topology:
    """Pair the ends found in facts_by_host ({inventory host: ansible_facts.wireguard})."""
    return Topology(facts_by_host)


def pair_ends(facts_by_host: dict) -> dict:
    """Plain-data view: {"tunnels": [...], "outside": [...]} (see docs/findings.md)."""
    return build_topology(facts_by_host).as_report()
