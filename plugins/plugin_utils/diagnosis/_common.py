# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every diagnosis rule shares: the catalog, the finding shape, the context."""
from __future__ import annotations

import functools
import ipaddress
import re
import socket
import typing as t

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.contracts import (
    MtuRecord, PingRecord, ProbeRecord, Remedy,
)
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.topology import End, Topology

IPNetwork = t.Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
IPAddress = t.Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
# A finding while the rules run: the report's finding plus its private `_scope` (stripped at the end).
RuleFinding = t.Dict[str, t.Any]
ScopeItem = t.Tuple[str, t.Any]

SEVERITIES = ("critical", "error", "warning", "info")
SEVERITY_RANK = dict((name, rank) for rank, name in enumerate(SEVERITIES))

# Catalog order is root-cause order: a host we cannot reach or a config that does not
# parse explains everything after it, a missing handshake explains nothing.
CATALOG = (
    ("host_unreachable", "critical"),
    ("wireguard_missing", "critical"),
    ("config_invalid", "critical"),
    # Why wg-quick up fails (diagnosis/startup.py): interface_down follows from each.
    ("dns_without_resolvconf", "critical"),
    ("listen_port_in_use", "critical"),
    # A name that kept wg-quick up from starting is named once, as start_endpoint_unresolvable;
    # endpoint_unresolvable is the same name on an interface that runs.
    ("start_endpoint_unresolvable", "critical"),
    ("endpoint_unresolvable", "critical"),
    ("interface_start_failed", "critical"),
    ("interface_down", "critical"),
    ("invalid_key", "critical"),
    ("local_keypair_mismatch", "critical"),
    ("peer_public_key_mismatch", "critical"),
    ("peer_missing", "critical"),
    ("preshared_key_mismatch", "critical"),
    ("missing_endpoint", "critical"),
    ("stale_endpoint", "critical"),
    ("listen_port_mismatch", "critical"),
    ("port_not_listening", "critical"),
    ("udp_blocked_host_firewall", "critical"),
    # The security group or network ACL in front of a cloud instance: what udp_blocked_upstream then follows from.
    ("udp_blocked_cloud_firewall", "critical"),
    ("udp_blocked_upstream", "critical"),
    ("duplicate_public_key", "error"),
    ("allowed_ips_missing_peer_address", "error"),
    ("allowed_ips_overlap", "error"),
    ("no_route_for_allowed_ips", "error"),
    ("ip_forward_disabled", "error"),
    ("forward_chain_blocks", "error"),
    ("nat_masquerade_missing", "error"),
    # The handshake works, full-size packets do not cross (diagnosis/mtu.py, issue #16).
    ("tunnel_mtu_blackhole", "error"),
    ("clock_skew", "warning"),
    ("nat_without_keepalive", "warning"),
    ("hostname_endpoint_not_reresolved", "warning"),
    ("dynamic_ip_bare_endpoint", "info"),
    # Prevention (diagnosis/prevention.py): a suggestion, never a remedy wg_remediate applies.
    ("monitor_missing", "info"),
    ("tunnel_ping_fails", "error"),
    ("handshake_never", "critical"),
    ("handshake_stale", "warning"),
)
SEVERITY = dict(CATALOG)
CATALOG_RANK = dict((code, rank) for rank, (code, _severity) in enumerate(CATALOG))
SYMPTOMS = ("handshake_never", "handshake_stale", "tunnel_ping_fails")

MAX_EVIDENCE = 12
# Distinct prefixes and addresses a pass parses: a 10,000-peer hub has some 30,000; the bound keeps
# a long-lived controller process (AWX, ansible-runner) from growing with every inventory it saw.
ADDRESS_CACHE_SIZE = 1 << 16


def short_key(key: t.Optional[str]) -> str:
    """A PUBLIC key shortened for humans; never call this with a secret."""
    if not key:
        return "(none)"
    return "%s…" % key[:8]


def make_finding(code: str, host: t.Optional[str], summary: str, evidence: t.Iterable[t.Optional[str]],
                 interface: t.Optional[str] = None, peer: t.Optional[str] = None, remedy: t.Optional[Remedy] = None,
                 scope: t.Iterable[ScopeItem] = ()) -> RuleFinding:
    """A finding as FINDINGS.md shows it; `scope` (tunnel indexes, end ids) links symptoms
    to their causes and is stripped before the report leaves the core."""
    return {
        "code": code,
        "severity": SEVERITY[code],
        "host": host,
        "interface": interface,
        "peer": peer,
        "summary": summary,
        "evidence": cap(evidence),
        "remedy": remedy,
        "_scope": tuple(scope),
    }


def cap(lines: t.Iterable[t.Optional[str]], limit: int = MAX_EVIDENCE) -> list[str]:
    lines = [line for line in lines if line]
    if len(lines) <= limit:
        return lines
    return lines[:limit - 1] + ["... and %d more" % (len(lines) - limit + 1)]


def remedy(role: str, host: str, variables: dict[str, t.Any]) -> Remedy:
    return {"role": "wgdoctor.wireguard." + role, "host": host, "vars": variables}


def tunnel_scope(index: int, tunnel: dict) -> tuple[ScopeItem, ...]:
    first, second = tunnel["_ends"]
    return (("tunnel", index), ("end", first.id), ("end", second.id))


def end_scope(end: End) -> tuple[ScopeItem, ...]:
    return (("end", end.id),)


# ---- addresses -------------------------------------------------------------------------

@functools.lru_cache(maxsize=ADDRESS_CACHE_SIZE)
def network(prefix: t.Any) -> t.Optional[IPNetwork]:
    """ipaddress network of an AllowedIPs / Address entry, or None for garbage."""
    try:
        return ipaddress.ip_network(str(prefix), strict=False)
    except ValueError:
        return None


# (IP version, first address, last address, prefix length) as integers: what a rule needs to
# compare prefixes by the ten thousand. Unlike ipaddress networks (an object, its __dict__, its
# addresses and, for a /32, a closure each), a tuple of ints costs the garbage collector nothing.
Span = t.Tuple[int, int, int, int]


_IPV4_PREFIX = re.compile(r"([0-9.]{7,15})(?:/([0-9]{1,2}))?")


def _ipv4_value(text: str) -> t.Optional[int]:
    """A dotted quad as an integer, by the C parser (it refuses what ipaddress refuses: leading zeros,
    short forms); None when it is not one."""
    try:
        return int.from_bytes(socket.inet_pton(socket.AF_INET, text), "big")
    except OSError:
        return None


@functools.lru_cache(maxsize=ADDRESS_CACHE_SIZE)
def span(prefix: t.Any) -> t.Optional[Span]:
    """The span of an AllowedIPs / Address entry ('10.99.0.2/24' spans 10.99.0.0 - 10.99.0.255), None for garbage."""
    plain = _IPV4_PREFIX.fullmatch(prefix) if isinstance(prefix, str) else None
    if plain is not None and (plain.group(2) is None or int(plain.group(2)) <= 32):
        value = _ipv4_value(plain.group(1))
        if value is not None:
            length = 32 if plain.group(2) is None else int(plain.group(2))
            size = 1 << (32 - length)
            first = value - value % size
            return (4, first, first + size - 1, length)
    net = network.__wrapped__(prefix)
    if net is None:
        return None
    first = int(net.network_address)
    return (net.version, first, first + (1 << (net.max_prefixlen - net.prefixlen)) - 1, net.prefixlen)


@functools.lru_cache(maxsize=ADDRESS_CACHE_SIZE)
def address_ip(address: t.Any) -> t.Optional[IPAddress]:
    """10.99.0.1 from '10.99.0.1/24'."""
    try:
        return ipaddress.ip_address(str(address).split("/", maxsplit=1)[0])
    except ValueError:
        return None


@functools.lru_cache(maxsize=ADDRESS_CACHE_SIZE)
def address_value(address: t.Any) -> t.Optional[tuple[int, int]]:
    """(IP version, address as an integer) from '10.99.0.1/24', None for garbage."""
    text = str(address).split("/", maxsplit=1)[0]
    value = _ipv4_value(text) if "." in text and ":" not in text else None
    if value is not None:
        return (4, value)
    ip = address_ip.__wrapped__(address)
    return None if ip is None else (ip.version, int(ip))


def within(value: tuple[int, int], spans: t.Iterable[t.Optional[Span]]) -> bool:
    """Is the address (version, integer) inside any of the spans?"""
    version, number = value
    return any(s is not None and s[0] == version and s[1] <= number <= s[2] for s in spans)


def covered(ip: IPAddress, prefixes: t.Iterable[str]) -> bool:
    return within((ip.version, int(ip)), (span(prefix) for prefix in prefixes))


# The ranges NAT hides hosts behind (RFC 1918, RFC 6598 shared, ULA), plus addresses that
# never cross a router. Everything else counts as "public" for the NAT question: documentation
# and benchmarking ranges included, since labs and examples stand them in for the internet.
NAT_RANGES = tuple(ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"))


def is_public(text: t.Any) -> bool:
    try:
        ip = ipaddress.ip_address(str(text).strip("[]"))
    except ValueError:
        return False
    if ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_unspecified:
        return False
    return not any(ip in network for network in NAT_RANGES if network.version == ip.version)


def peer_value(entry: t.Optional[dict], field: str, prefer: str = "config") -> t.Any:
    """A field of a merged peer entry: from the file first (what will be applied), then runtime."""
    order = ("config", "runtime") if prefer == "config" else ("runtime", "config")
    for source in order:
        peer = entry.get(source) if entry else None
        if peer is not None and peer.get(field) is not None:
            return peer.get(field)
    return None


class Context:
    """Everything a rule may read, indexed once so rules stay linear."""

    def __init__(self, topology: Topology, facts_by_host: dict, probes: t.Optional[t.Iterable[ProbeRecord]],
                 pings: t.Optional[t.Iterable[PingRecord]], unreachable: t.Optional[dict[str, t.Optional[str]]],
                 now: float) -> None:
        self.topology = topology
        self.facts_by_host = facts_by_host
        self.probes: list[ProbeRecord] = list(probes or [])
        self.pings: list[PingRecord] = list(pings or [])
        self.mtu: list[MtuRecord] = []  # don't-fragment bisections through the tunnels (diagnosis/mtu.py)
        self.unreachable: dict[str, t.Optional[str]] = dict(unreachable or {})
        self.now = now
        self.findings: list[RuleFinding] = []
        self.memo: dict[str, t.Any] = {}  # results several rules share (e.g. which ends forward for others)
        self._found: dict[str, set[ScopeItem]] = {}
        # Codes found per tunnel/end/host as a bit set over the catalog: an int per scope item, not a
        # set object, since a hub's broken pass touches tens of thousands of them.
        self._codes_at: dict[ScopeItem, int] = {}
        self._probes_by_responder: dict[tuple[t.Any, t.Any], list[ProbeRecord]] = {}
        for probe in self.probes:
            key = (probe.get("responder"), probe.get("peer"))
            self._probes_by_responder.setdefault(key, []).append(probe)
        self.tunnel_of: dict[tuple[int, str], int] = {}
        for index, tunnel in enumerate(topology.tunnels):
            first, second = tunnel["_ends"]
            for end, side in ((first, tunnel["a"]), (second, tunnel["b"])):
                if side["peer"]:
                    self.tunnel_of[(end.id, side["peer"])] = index
        self._ends_by_host: t.Optional[dict[str, list[End]]] = None  # built when a rule first asks

    def probes_to(self, end: End) -> list[ProbeRecord]:
        return self._probes_by_responder.get((end.host, end.public_key), [])

    def ends_of(self, host: str) -> list[End]:
        if self._ends_by_host is None:
            self._ends_by_host = {}
            for end in self.topology.ends:
                self._ends_by_host.setdefault(end.host, []).append(end)
        return self._ends_by_host.get(host, [])

    def tunnels(self) -> t.Iterator[tuple[int, dict, End, End]]:
        """(index, tunnel, first end, second end) for every tunnel."""
        for index, tunnel in enumerate(self.topology.tunnels):
            first, second = tunnel["_ends"]
            yield index, tunnel, first, second

    def directions(self) -> t.Iterator[tuple[int, dict, End, End, t.Optional[dict]]]:
        """Each tunnel seen from each side: (index, tunnel, end, other, end's entry for other)."""
        for index, tunnel, first, second in self.tunnels():
            sides = ((first, second, tunnel["a"]), (second, first, tunnel["b"]))
            for end, other, side in sides:
                yield index, tunnel, end, other, self.topology.entry(end, side["peer"])

    def add(self, findings: t.Iterable[RuleFinding]) -> None:
        for finding in findings:
            self.findings.append(finding)
            found = self._found.setdefault(finding["code"], set())
            found.update(finding["_scope"])
            found.add(("host", finding["host"]))
            bit = 1 << CATALOG_RANK[finding["code"]]
            for item in found_items(finding):
                self._codes_at[item] = self._codes_at.get(item, 0) | bit

    def causes(self, scope: t.Iterable[ScopeItem], wanted: t.Container[str]) -> list[str]:
        """Codes already found on any of `scope` (tunnel, its ends, their hosts), catalog order."""
        bits = 0
        for item in scope:
            bits |= self._codes_at.get(item, 0)
        return [code for rank, (code, _severity) in enumerate(CATALOG) if bits >> rank & 1 and code in wanted]

    def has(self, code: str, scope_item: ScopeItem) -> bool:
        """Did an earlier rule already name `code` for this tunnel/end/host?"""
        return scope_item in self._found.get(code, ())


def found_items(finding: RuleFinding) -> set[ScopeItem]:
    items = set(finding["_scope"])
    if not any(item[0] in ("tunnel", "end") for item in items):
        items.add(("host", finding["host"]))
    return items


def firewall_line(verdict: t.Optional[t.Mapping[str, t.Any]]) -> t.Optional[str]:
    """'nftables: inet filter/input rule 'udp dport 51820 drop' (counter 6)' from a facts verdict."""
    if not verdict:
        return None
    where = "/".join(part for part in (verdict.get("table"), verdict.get("chain")) if part)
    text = "%s: %s verdict %s" % (verdict.get("backend") or "firewall", where or "input", verdict.get("verdict"))
    if verdict.get("rule"):
        text += " by rule '%s'" % verdict["rule"]
    else:
        text += " (chain policy)"
    if verdict.get("counter") is not None:
        text += " (counter %s packets)" % verdict["counter"]
    return text


def probe_line(probe: ProbeRecord) -> str:
    target = probe.get("target") or {}
    source = "the controller" if probe.get("vantage") == "controller" else probe.get("initiator")
    host = target.get("host")
    # [v6]:port, as an Endpoint is written: a bare v6 address and a port would run together.
    where = "[%s]" % host if ":" in str(host or "") else host
    text = "probe from %s to %s:%s: %s" % (source, where, target.get("port"), probe.get("outcome"))
    if probe.get("attempts"):
        text += " after %s attempt(s)" % probe["attempts"]
    if probe.get("rtt_ms") is not None and probe.get("outcome") == "ok":
        text += " in %.1f ms" % probe["rtt_ms"]
    arrived = probe.get("arrived")
    if arrived is None:
        text += "; no capture on %s" % probe.get("responder")
    else:
        text += "; capture on %s saw %d initiation(s) arrive" % (probe.get("responder"), arrived)
    if probe.get("error"):
        text += " (%s)" % probe["error"]
    return text


def ping_line(ping: PingRecord) -> str:
    """'ping client -> server (10.99.0.1) over the tunnel: 100% loss (0 of 3 answered)', from a ping record;
    a ping that printed no statistics says why instead of a loss nobody measured."""
    record = t.cast(t.Mapping[str, t.Any], ping)
    text = "ping %s -> %s (%s) over the tunnel" % (record.get("from"), record.get("to"), record.get("address"))
    loss = record.get("loss")
    if loss is None:
        return "%s did not run: %s" % (text, record.get("error") or "ping printed no statistics")
    text += ": %d%% loss" % round(100 * loss)
    if record.get("transmitted") is not None:
        counts = "%s of %s answered" % (record.get("received"), record.get("transmitted"))
        if record.get("errors"):
            counts += ", %s ICMP error(s)" % record["errors"]
        text += " (%s)" % counts
    return text


# A hub's cause names the spokes it cuts; past this many, the count stands for the rest.
MAX_NAMED_TUNNELS = 50


def tunnels_through_line(ctx: Context, end: End) -> t.Optional[str]:
    """'hub/corpnet carries the tunnels to spoke01, spoke02, spoke03 (3): a cause on it cuts each of them', for
    an end with more than one tunnel (a hub): the one finding on the hub says which spokes it stands for.
    None for a pair, whose one tunnel the finding names already."""
    others = sorted(set((second if first.id == end.id else first).host for _index, _tunnel, first, second in ctx.tunnels()
                        if end.id in (first.id, second.id)))
    if len(others) < 2:
        return None
    more = len(others) - MAX_NAMED_TUNNELS
    named = ", ".join(others[:MAX_NAMED_TUNNELS]) + (" and %d more" % more if more > 0 else "")
    return "%s carries the tunnels to %s (%d): a cause on it cuts each of them" % (end.label(), named, len(others))
