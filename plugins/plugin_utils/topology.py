# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pair WireGuard ends across hosts from their facts (docs/facts.md).

An end's [Peer] PublicKey names the other end. When no host owns the key the
entry holds, the entry's Endpoint (resolved address and port) points at the
host it was meant for, which tells us that the key - not the pairing - is
wrong. Everything here is a dict lookup per peer, so a hub with 10,000 peers
costs 10,000 lookups, and facts that already have their documented shape are read
in place, not copied (a hub's facts are hundreds of thousands of small dicts).
"""
from __future__ import annotations

import functools
import ipaddress
import socket
import typing as t

# Distinct addresses a pass normalises: a 10,000-peer hub has some 30,000; the bound keeps a
# long-lived controller process (AWX, ansible-runner) from growing with every inventory it saw.
ADDRESS_CACHE_SIZE = 1 << 16
PEER_NUMBERS = ("latest_handshake", "latest_handshake_age", "persistent_keepalive", "transfer_rx", "transfer_tx")
PeerEntry = t.Dict[str, t.Any]  # {"public_key", "config": peer or None, "runtime": peer or None}


class End:
    """One WireGuard interface on one inventory host."""

    __slots__ = ("id", "host", "interface", "facts", "iface", "config", "runtime",
                 "public_key", "listen_port", "addresses", "tunnel_addresses", "peers",
                 "duplicate_peers")

    def __init__(self, end_id: int, host: str, facts: dict, iface: dict) -> None:
        self.id = end_id
        self.host = host
        self.interface: t.Optional[str] = _text(iface.get("name"))
        self.facts: dict = _clean(facts, ("clock", "forwarding", "firewall", "tools"), ("addresses",))
        self.iface: dict = _clean(iface, ("firewall", "listening", "unit", "routes"), ())
        self.config: t.Optional[dict] = iface.get("config") if isinstance(iface.get("config"), dict) else None
        self.runtime: t.Optional[dict] = iface.get("runtime") if isinstance(iface.get("runtime"), dict) else None
        runtime = self.runtime or {}
        config = self.config or {}
        # The runtime key is what the interface answers with; the file only
        # matters when the interface is down.
        self.public_key: t.Optional[str] = _text(runtime.get("public_key")) or _text(config.get("public_key"))
        self.listen_port: t.Optional[int] = _port(runtime.get("listen_port")) or _port(config.get("listen_port"))
        self.addresses: list[str] = []
        addresses = config.get("address") or []
        # The file's own list when it is well-formed: read-only here, and one object fewer per end.
        self.tunnel_addresses: list[str] = addresses if isinstance(addresses, list) and all(
            isinstance(a, str) for a in addresses) else [a for a in addresses if isinstance(a, str)]
        self.peers: dict[str, PeerEntry] = {}
        self.duplicate_peers: t.Sequence[tuple[str, dict]] = ()  # a list once there is one
        self._merge_peers()

    def _merge_peers(self) -> None:
        for source in ("config", "runtime"):
            section = getattr(self, source) or {}
            seen = set()
            for peer in section.get("peers") or []:
                key = _text(peer.get("public_key")) if isinstance(peer, dict) else None
                if not key:
                    continue
                if key in seen:
                    self.duplicate_peers = list(self.duplicate_peers) + [(source, peer)]
                    continue
                seen.add(key)
                entry = self.peers.get(key)
                if entry is None:
                    entry = {"public_key": key, "config": None, "runtime": None}
                    self.peers[key] = entry
                entry[source] = _clean_peer(peer)

    def ref(self) -> dict[str, t.Any]:
        return {"host": self.host, "interface": self.interface, "public_key": self.public_key}

    def label(self) -> str:
        return "%s/%s" % (self.host, self.interface)


def _clean(mapping: dict, dict_fields: tuple[str, ...], list_fields: tuple[str, ...]) -> dict:
    """`mapping` where each named field has its documented container type (or is None/[]), so a
    malformed fact costs that fact, not the run: the mapping itself when it has that shape already
    (read-only from here on), else a shallow copy with the bad fields replaced."""
    if _has_shape(mapping, dict_fields, list_fields):
        return mapping
    clean = dict(mapping)
    for field in dict_fields:
        if not isinstance(clean.get(field), dict):
            clean[field] = None
    for field in list_fields:
        value = clean.get(field)
        clean[field] = [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []
    return clean


def _has_shape(mapping: dict, dict_fields: tuple[str, ...], list_fields: tuple[str, ...]) -> bool:
    for field in dict_fields:
        if field not in mapping or not (mapping[field] is None or isinstance(mapping[field], dict)):
            return False
    for field in list_fields:
        value = mapping.get(field)
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            return False
    return True


def _is_number(value: t.Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _peer_has_shape(peer: dict) -> bool:
    """Would _clean_peer change nothing a rule reads? (A missing counter reads as None either way.)"""
    if "endpoint" not in peer:
        return False
    allowed = peer.get("allowed_ips")
    if not isinstance(allowed, list) or not all(isinstance(prefix, str) for prefix in allowed):
        return False
    for field in PEER_NUMBERS:
        value = peer.get(field)
        if value is not None and not _is_number(value):
            return False
    endpoint = peer["endpoint"]
    if endpoint is None:
        return True
    if not isinstance(endpoint, dict) or "port" not in endpoint or endpoint["port"] != _port(endpoint["port"]):
        return False
    resolved = endpoint.get("resolved", [])
    if not isinstance(resolved, list) or not all(isinstance(address, str) for address in resolved):
        return False
    return all(field in endpoint and endpoint[field] == _text(endpoint[field]) for field in ("raw", "host"))


def _clean_peer(peer: dict) -> dict:
    if _peer_has_shape(peer):
        return peer
    clean = _clean(peer, ("endpoint",), ())
    allowed = clean.get("allowed_ips")
    clean["allowed_ips"] = [p for p in allowed if isinstance(p, str)] if isinstance(allowed, list) else []
    for field in PEER_NUMBERS:
        if not _is_number(clean.get(field)):
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


def _text(value: t.Any) -> t.Optional[str]:
    return value if isinstance(value, str) and value else None


def _port(value: t.Any) -> t.Optional[int]:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 65536 else None


def peer_endpoint(entry: PeerEntry) -> t.Optional[dict]:
    """The endpoint an end would send to for this peer entry: config first, then runtime."""
    config = entry.get("config")
    if config is not None:
        return config.get("endpoint")
    runtime = entry.get("runtime")
    return runtime.get("endpoint") if runtime else None


def endpoint_targets(entry: PeerEntry) -> list[tuple[str, int]]:
    """All (address, port) pairs the entry's endpoint may point to."""
    targets: list[tuple[str, int]] = []
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
            targets.append((normal_ip(host), port))
    return targets


@functools.lru_cache(maxsize=ADDRESS_CACHE_SIZE)
def normal_ip(text: t.Any) -> str:
    """One spelling per address (IPv6 compressed), so index lookups match."""
    stripped = str(text).strip("[]")
    try:
        # A dotted quad the C parser takes (no leading zeros, no short forms) is spelled one way already.
        socket.inet_pton(socket.AF_INET, stripped)
        return stripped
    except OSError:
        pass
    try:
        return str(ipaddress.ip_address(stripped.split("%", maxsplit=1)[0]))
    except ValueError:
        return stripped


def _reachable_address(text: t.Any) -> bool:
    """Addresses another host could send to: not loopback, not link-local."""
    try:
        ip = ipaddress.ip_address(str(text).split("%", maxsplit=1)[0])
    except ValueError:
        return False
    return not (ip.is_loopback or ip.is_link_local)


def _host_ends(host: str, facts: dict, first_id: int) -> list[End]:
    interfaces = facts.get("interfaces") or {}
    wg_names = set(interfaces)
    host_addresses = [normal_ip(a.get("address")) for a in facts.get("addresses") or []
                      if isinstance(a, dict) and isinstance(a.get("address"), str) and a.get("interface") not in wg_names
                      and _reachable_address(a["address"])]
    ends: list[End] = []
    for ifname in sorted(interfaces):
        iface = interfaces[ifname] or {}
        if "name" not in iface:
            iface = dict(iface, name=ifname)
        end = End(first_id + len(ends), host, facts, iface)
        end.addresses = host_addresses
        ends.append(end)
    return ends


def collect_ends(facts_by_host: dict, malformed: t.Optional[dict[str, str]] = None) -> list[End]:
    """Every end of every host; a host whose facts do not have the docs/facts.md shape is
    left out and named in `malformed` (host -> exception type) instead of failing the run."""
    ends: list[End] = []
    for host in sorted(facts_by_host):
        try:
            ends.extend(_host_ends(host, facts_by_host[host] or {}, len(ends)))
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            if malformed is not None:
                malformed[host] = type(exc).__name__
    return ends


class Topology:
    """Ends, the tunnels between them, and peers that belong to no inventory host.

    A diagnosis pass pairs the ends once: the plan filter pairs them and hands the pairing on as
    plain data (`pairing()`, a playbook fact), and the diagnosis rebuilds the same Topology from
    it instead of pairing again. A pairing that does not fit the facts it is given (other hosts,
    other interfaces, a peer the facts no longer hold) is ignored and the ends are paired afresh.
    """

    def __init__(self, facts_by_host: dict, pairing: t.Optional[dict] = None) -> None:
        self.malformed: dict[str, str] = {}
        self.ends = collect_ends(facts_by_host, self.malformed)
        self.by_key: dict[str, list[End]] = {}
        self.by_address: dict[str, list[End]] = {}
        self._index()
        self.tunnels: list[dict[str, t.Any]] = []
        self.outside: list[dict[str, t.Any]] = []
        self._links: dict[tuple[int, int], dict[int, tuple[str, str]]] = {}
        self.reused_pairing = self._reuse(pairing)
        if not self.reused_pairing:
            self._pair()

    def pairing(self) -> dict[str, t.Any]:
        """The result of pairing as plain data (JSON-safe), for `Topology(facts, pairing=...)`."""
        return {
            "ends": [[end.host, end.interface] for end in self.ends],
            "links": [[a, b, [[end_id, key, how] for end_id, (key, how) in sorted(link.items())]]
                      for (a, b), link in sorted(self._links.items())],
            "outside": [dict(entry) for entry in self.outside],
        }

    def _reuse(self, pairing: t.Any) -> bool:
        if not isinstance(pairing, dict) or pairing.get("ends") != [[end.host, end.interface] for end in self.ends]:
            return False
        links: dict[tuple[int, int], dict[int, tuple[str, str]]] = {}
        try:
            for a, b, sides in pairing["links"]:
                if not (isinstance(a, int) and isinstance(b, int) and 0 <= a < b < len(self.ends)):
                    return False
                link = links.setdefault((a, b), {})
                for end_id, key, how in sides:
                    if end_id not in (a, b) or not isinstance(how, str) or key not in self.ends[end_id].peers:
                        return False
                    link[end_id] = (key, how)
            outside = [dict(entry) for entry in pairing["outside"]]
        except (KeyError, IndexError, TypeError, ValueError):
            return False
        self._links = links
        self.outside = outside
        self.tunnels = [self._tunnel(pair, links[pair]) for pair in sorted(links)]
        return True

    def _index(self) -> None:
        for end in self.ends:
            if end.public_key:
                self.by_key.setdefault(end.public_key, []).append(end)
            for address in end.addresses:
                self.by_address.setdefault(address, []).append(end)

    def owner(self, key: str, not_end: t.Optional[End] = None) -> t.Optional[End]:
        for end in self.by_key.get(key) or ():
            if end is not not_end:
                return end
        return None

    def _endpoint_owner(self, end: End, entry: PeerEntry) -> t.Optional[End]:
        for address, port in endpoint_targets(entry):
            candidates = [e for e in self.by_address.get(address) or () if e is not end]
            exact = [e for e in candidates if e.listen_port == port]
            if exact:
                return exact[0]
            # Address right, port wrong: still the intended end (listen_port_mismatch).
            if len(candidates) == 1:
                return candidates[0]
        return None

    def _link(self, end: End, other: End, key: str, how: str) -> bool:
        pair = (min(end.id, other.id), max(end.id, other.id))
        link = self._links.get(pair)
        if link is None:
            link = {}
            self._links[pair] = link
        if end.id not in link:
            link[end.id] = (key, how)
            return True
        return False

    def _pair(self) -> None:
        unowned: list[tuple[End, str, PeerEntry]] = []
        for end in self.ends:
            for key, entry in end.peers.items():
                other = self.owner(key, not_end=end)
                if other is not None:
                    self._link(end, other, key, "keys")
                else:
                    unowned.append((end, key, entry))
        leftovers: list[tuple[End, str, PeerEntry]] = []
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

    def _claim_by_allowed_ips(self, leftovers: list[tuple[End, str, PeerEntry]]) -> set[tuple[int, str]]:
        """An end whose entry for its partner holds a key nobody owns, and has no Endpoint:
        find that entry by the partner's tunnel address in AllowedIPs or by where it roamed from."""
        by_end: dict[int, dict[str, str]] = {}
        for end, key, entry in leftovers:
            index = by_end.setdefault(end.id, {})
            peer = entry.get("config") or entry.get("runtime") or {}
            for prefix in peer.get("allowed_ips") or []:
                if prefix.endswith("/32") or prefix.endswith("/128"):
                    index.setdefault(normal_ip(prefix.split("/")[0]), key)
            runtime_endpoint = (entry.get("runtime") or {}).get("endpoint") or {}
            if runtime_endpoint.get("host"):
                index.setdefault(normal_ip(runtime_endpoint["host"]), key)
        claimed: set[tuple[int, str]] = set()
        for pair, link in self._links.items():
            for end_id in pair:
                other_id = pair[1] if end_id == pair[0] else pair[0]
                if end_id in link or end_id not in by_end:
                    continue
                other = self.ends[other_id]
                index = by_end[end_id]
                candidates = [a.split("/")[0] for a in other.tunnel_addresses] + other.addresses
                for address in candidates:
                    key = index.get(normal_ip(address))
                    if key is not None and (end_id, key) not in claimed:
                        link[end_id] = (key, "allowed_ips")
                        claimed.add((end_id, key))
                        break
        return claimed

    def _tunnel(self, pair: tuple[int, int], link: dict[int, tuple[str, str]]) -> dict[str, t.Any]:
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
    def _initiates(end: End, link: dict[int, tuple[str, str]]) -> bool:
        key = link.get(end.id, (None, None))[0]
        if key is None:
            return False
        endpoint = peer_endpoint(end.peers[key]) or {}
        return bool(endpoint.get("raw") or endpoint.get("host"))

    def entry(self, end: End, key: t.Optional[str]) -> t.Optional[PeerEntry]:
        return end.peers.get(key) if key else None

    def as_report(self) -> dict[str, list[dict[str, t.Any]]]:
        tunnels = []
        for tunnel in self.tunnels:
            tunnels.append(dict((k, v) for k, v in tunnel.items() if not k.startswith("_")))
        return {"tunnels": tunnels, "outside": list(self.outside)}


def build_topology(facts_by_host: dict, pairing: t.Optional[dict] = None) -> Topology:
    """Pair the ends found in facts_by_host ({inventory host: ansible_facts.wireguard}), or take
    the pairing already made of the same facts (Topology.pairing())."""
    return Topology(facts_by_host, pairing)


def pair_ends(facts_by_host: dict) -> dict:
    """Plain-data view: {"tunnels": [...], "outside": [...]} (see docs/findings.md)."""
    return build_topology(facts_by_host).as_report()
