# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every diagnosis rule shares: the catalog, the finding shape, the context."""
from __future__ import annotations

import ipaddress

SEVERITIES = ("critical", "error", "warning", "info")
SEVERITY_RANK = dict((name, rank) for rank, name in enumerate(SEVERITIES))

# Catalog order is root-cause order: a host we cannot reach or a config that does not
# parse explains everything after it, a missing handshake explains nothing.
CATALOG = (
    ("host_unreachable", "critical"),
    ("wireguard_missing", "critical"),
    ("config_invalid", "critical"),
    # wg-quick up fails on an Endpoint it cannot resolve: the interface is down because of it.
    ("endpoint_unresolvable", "critical"),
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
    ("udp_blocked_upstream", "critical"),
    ("duplicate_public_key", "error"),
    ("allowed_ips_missing_peer_address", "error"),
    ("allowed_ips_overlap", "error"),
    ("no_route_for_allowed_ips", "error"),
    ("ip_forward_disabled", "error"),
    ("forward_chain_blocks", "error"),
    ("nat_masquerade_missing", "error"),
    ("clock_skew", "warning"),
    ("nat_without_keepalive", "warning"),
    ("hostname_endpoint_not_reresolved", "warning"),
    ("dynamic_ip_bare_endpoint", "info"),
    ("tunnel_ping_fails", "error"),
    ("handshake_never", "critical"),
    ("handshake_stale", "warning"),
)
SEVERITY = dict(CATALOG)
CATALOG_RANK = dict((code, rank) for rank, (code, _severity) in enumerate(CATALOG))
SYMPTOMS = ("handshake_never", "handshake_stale", "tunnel_ping_fails")

CONNECTED_AGE = 180  # REJECT_AFTER_TIME: older than this, the session is gone
MAX_EVIDENCE = 12


def short_key(key):
    """A PUBLIC key shortened for humans; never call this with a secret."""
    if not key:
        return "(none)"
    return "%s…" % key[:8]


def make_finding(code, host, summary, evidence, interface=None, peer=None, remedy=None, scope=()):
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
        "_scope": frozenset(scope),
    }


def cap(lines, limit=MAX_EVIDENCE):
    lines = [line for line in lines if line]
    if len(lines) <= limit:
        return lines
    return lines[:limit - 1] + ["... and %d more" % (len(lines) - limit + 1)]


def remedy(role, host, variables):
    return {"role": "wgdoctor.wireguard." + role, "host": host, "vars": variables}


def tunnel_scope(index, tunnel):
    first, second = tunnel["_ends"]
    return (("tunnel", index), ("end", first.id), ("end", second.id))


def end_scope(end):
    return (("end", end.id),)


# ---- addresses -------------------------------------------------------------------------

_NETWORKS = {}


def network(prefix):
    """ipaddress network of an AllowedIPs / Address entry, or None for garbage."""
    cached = _NETWORKS.get(prefix)
    if cached is None and prefix not in _NETWORKS:
        try:
            cached = ipaddress.ip_network(str(prefix), strict=False)
        except ValueError:
            cached = None
        if len(_NETWORKS) < 200000:
            _NETWORKS[prefix] = cached
    return cached


_IPS = {}


def address_ip(address):
    """10.99.0.1 from '10.99.0.1/24'."""
    if address in _IPS:
        return _IPS[address]
    try:
        ip = ipaddress.ip_address(str(address).split("/", maxsplit=1)[0])
    except ValueError:
        ip = None
    if len(_IPS) < 200000:
        _IPS[address] = ip
    return ip


def covered(ip, prefixes):
    for prefix in prefixes:
        net = network(prefix)
        if net is not None and net.version == ip.version and ip in net:
            return True
    return False


# The ranges NAT hides hosts behind (RFC 1918, RFC 6598 shared, ULA), plus addresses that
# never cross a router. Everything else counts as "public" for the NAT question: documentation
# and benchmarking ranges included, since labs and examples stand them in for the internet.
NAT_RANGES = tuple(ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"))


def is_public(text):
    try:
        ip = ipaddress.ip_address(str(text).strip("[]"))
    except ValueError:
        return False
    if ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_unspecified:
        return False
    return not any(ip in network for network in NAT_RANGES if network.version == ip.version)


def peer_value(entry, field, prefer="config"):
    """A field of a merged peer entry: from the file first (what will be applied), then runtime."""
    order = ("config", "runtime") if prefer == "config" else ("runtime", "config")
    for source in order:
        peer = entry.get(source) if entry else None
        if peer is not None and peer.get(field) is not None:
            return peer.get(field)
    return None


class Context(object):
    """Everything a rule may read, indexed once so rules stay linear."""

    def __init__(self, topology, facts_by_host, probes, pings, unreachable, now):
        self.topology = topology
        self.facts_by_host = facts_by_host
        self.probes = list(probes or [])
        self.pings = list(pings or [])
        self.unreachable = dict(unreachable or {})
        self.now = now
        self.findings = []
        self.memo = {}  # results several rules share (e.g. which ends forward for others)
        self._found = {}
        self._codes_at = {}
        self._probes_by_responder = {}
        for probe in self.probes:
            key = (probe.get("responder"), probe.get("peer"))
            self._probes_by_responder.setdefault(key, []).append(probe)
        self.tunnel_of = {}
        for index, tunnel in enumerate(topology.tunnels):
            first, second = tunnel["_ends"]
            for end, side in ((first, tunnel["a"]), (second, tunnel["b"])):
                if side["peer"]:
                    self.tunnel_of[(end.id, side["peer"])] = index
        self._ends_by_host = {}
        for end in topology.ends:
            self._ends_by_host.setdefault(end.host, []).append(end)

    def probes_to(self, end):
        return self._probes_by_responder.get((end.host, end.public_key), [])

    def ends_of(self, host):
        return self._ends_by_host.get(host, [])

    def tunnels(self):
        """(index, tunnel, first end, second end) for every tunnel."""
        for index, tunnel in enumerate(self.topology.tunnels):
            first, second = tunnel["_ends"]
            yield index, tunnel, first, second

    def directions(self):
        """Each tunnel seen from each side: (index, tunnel, end, other, end's entry for other)."""
        for index, tunnel, first, second in self.tunnels():
            sides = ((first, second, tunnel["a"]), (second, first, tunnel["b"]))
            for end, other, side in sides:
                yield index, tunnel, end, other, self.topology.entry(end, side["peer"])

    def add(self, findings):
        for finding in findings:
            self.findings.append(finding)
            found = self._found.setdefault(finding["code"], set())
            found.update(finding["_scope"])
            found.add(("host", finding["host"]))
            for item in found_items(finding):
                self._codes_at.setdefault(item, set()).add(finding["code"])

    def causes(self, scope, wanted):
        """Codes already found on any of `scope` (tunnel, its ends, their hosts), catalog order."""
        codes = set()
        for item in scope:
            codes.update(self._codes_at.get(item, ()))
        return sorted((c for c in codes if c in wanted), key=CATALOG_RANK.get)

    def has(self, code, scope_item):
        """Did an earlier rule already name `code` for this tunnel/end/host?"""
        return scope_item in self._found.get(code, ())


def found_items(finding):
    items = set(finding["_scope"])
    if not any(item[0] in ("tunnel", "end") for item in items):
        items.add(("host", finding["host"]))
    return items


def firewall_line(verdict):
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


def probe_line(probe):
    target = probe.get("target") or {}
    source = "the controller" if probe.get("vantage") == "controller" else probe.get("initiator")
    text = "probe from %s to %s:%s: %s" % (source, target.get("host"), target.get("port"), probe.get("outcome"))
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
