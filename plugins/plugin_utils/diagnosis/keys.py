# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Do both ends hold each other's real keys? (FINDINGS.md: keys)."""
from __future__ import annotations

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.host.stored_keys import PRIVATE_KEY_IN_FILE
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard.keys import key_problem
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.diagnosis._common import (
    address_ip, end_scope, make_finding, peer_value, probe_line, remedy, short_key, tunnel_scope,
)

MAX_CLOCK_SKEW = 60


def _where(end, entry):
    peer = (entry or {}).get("config") or {}
    if peer.get("line") and end.config:
        return "%s:%s" % (end.config.get("path"), peer["line"])
    return "%s runtime" % end.interface


def _host_prefixes(end):
    """The partner's tunnel addresses as host routes, the AllowedIPs a peer entry for it needs."""
    prefixes = []
    for address in end.tunnel_addresses:
        ip = address_ip(address)
        if ip is not None:
            prefixes.append("%s/%d" % (ip, 32 if ip.version == 4 else 128))
    return prefixes


def invalid_key(ctx):
    findings = []
    for end in ctx.topology.ends:
        config = end.config or {}
        # wg_facts derives the public key with the host's `wg pubkey`: without wg it stays unknown, and
        # wireguard_missing says why; only a key wg itself refused is invalid.
        has_wg = bool((end.facts.get("tools") or {}).get("wg"))
        if config.get("has_private_key") and not config.get("public_key") and config.get("exists") and has_wg:
            findings.append(make_finding(
                "invalid_key", end.host,
                "The PrivateKey in %s is not a valid key, so %s has no identity; generate a new key pair." % (
                    config.get("path"), end.label()),
                ["%s: PrivateKey present but no public key derives from it" % config.get("path")],
                interface=end.interface, scope=end_scope(end)))
        for error in config.get("parse_errors") or []:
            reason = error.get("reason") or ""
            field = reason.split(" ", 1)[0]
            if field in ("PrivateKey", "PublicKey", "PresharedKey") and ("base64" in reason or "bytes" in reason):
                findings.append(make_finding(
                    "invalid_key", end.host,
                    "%s:%s holds a %s that is not a WireGuard key, so wg-quick rejects the file; "
                    "put the right key there (wg genkey / wg pubkey print 44 characters)." % (
                        error.get("file"), error.get("line"), field),
                    ["%s:%s: %s" % (error.get("file"), error.get("line"), reason)],
                    interface=end.interface, scope=end_scope(end)))
        for key, entry in end.peers.items():
            problem = key_problem(key)
            if problem is None:
                continue
            index = ctx.tunnel_of.get((end.id, key))
            scope, action, should = end_scope(end), None, ""
            if index is not None:
                tunnel = ctx.topology.tunnels[index]
                other = [e for e in tunnel["_ends"] if e is not end][0]
                scope, should = tunnel_scope(index, tunnel), "; it should be %s (%s)" % (short_key(other.public_key), other.label())
                action = remedy("peer", end.host, {"peer_interface": end.interface, "peer_public_key": key,
                                                   "peer_new_public_key": other.public_key})
            findings.append(make_finding(
                "invalid_key", end.host,
                "%s holds a peer PublicKey that is not a WireGuard key%s." % (end.label(), should),
                ["%s: [Peer] PublicKey is %s" % (_where(end, entry), problem)],
                interface=end.interface, remedy=action, scope=scope))
    return findings


def _stored_key_files(end):
    """wg_facts' keypair_checks of this end that failed: public-key files beside the config (wg0.pub, publickey)."""
    return [check for check in end.facts.get("keypair_checks") or []
            if check.get("interface") in (None, end.interface) and check.get("match") is False]


def local_keypair_mismatch(ctx):
    findings = []
    for end in ctx.topology.ends:
        config, runtime = end.config or {}, end.runtime or {}
        evidence = []
        if config.get("public_key") and runtime.get("public_key") and config["public_key"] != runtime["public_key"]:
            evidence += ["%s: PrivateKey in %s derives %s" % (end.host, config.get("path"), short_key(config["public_key"])),
                         "%s: running %s uses %s" % (end.host, end.interface, short_key(runtime["public_key"]))]
        stored = _stored_key_files(end)
        for check in stored:
            if check.get("problem"):
                evidence.append("%s: %s %s" % (end.host, check.get("source"), check["problem"]))
            else:
                evidence.append("%s: %s holds %s, the private key derives %s" % (
                    end.host, check.get("source"), short_key(check.get("public_key")),
                    short_key(check.get("derived_public_key"))))
        if not evidence:
            continue
        leaked = [c.get("source") for c in stored if c.get("problem") == PRIVATE_KEY_IN_FILE]
        if leaked:
            summary = ("%s, a file meant to be handed to peers, holds %s's private key: whoever got it can be %s. "
                       "Generate a new key pair, put its public key (wg pubkey) there and give it to the peers." % (
                           " and ".join(leaked), end.label(), end.label()))
        elif stored and len(evidence) == len(stored):
            summary = ("%s does not hold the public key of %s's private key, so a peer set up from it fails the "
                       "handshake; write the right one there (wg pubkey < the private key) and check the peers set up "
                       "from it." % (" and ".join(c.get("source") or "?" for c in stored), end.label()))
        else:
            summary = ("%s's stored public key does not belong to its private key; decide which key pair is meant "
                       "and make the file, the running interface and the peers agree." % end.label())
        findings.append(make_finding("local_keypair_mismatch", end.host, summary, evidence,
                                     interface=end.interface, scope=end_scope(end)))
    return findings


def peer_public_key_mismatch(ctx):
    findings = []
    for index, tunnel, end, other, entry in ctx.directions():
        if entry is None or not other.public_key or entry["public_key"] == other.public_key:
            continue
        if key_problem(entry["public_key"]):
            continue  # invalid_key names it, with the same fix
        side = tunnel["a"] if end is tunnel["_ends"][0] else tunnel["b"]
        evidence = ["%s: %s [Peer] PublicKey = %s" % (end.host, _where(end, entry), short_key(entry["public_key"])),
                    "%s: %s public key is %s" % (other.host, other.interface, short_key(other.public_key)),
                    "no inventory host owns %s" % short_key(entry["public_key"])]
        evidence.append(_matched_line(end, other, entry, side["peer_matched_by"]))
        findings.append(make_finding(
            "peer_public_key_mismatch", end.host,
            "%s holds the wrong public key for %s (%s); it should be %s." % (
                end.label(), other.label(), short_key(entry["public_key"]), short_key(other.public_key)),
            evidence, interface=end.interface, peer=other.public_key,
            remedy=remedy("peer", end.host, {"peer_interface": end.interface, "peer_public_key": entry["public_key"],
                                             "peer_new_public_key": other.public_key}),
            scope=tunnel_scope(index, tunnel)))
    return findings


def _matched_line(end, other, entry, how):
    if how == "endpoint":
        endpoint = peer_value(entry, "endpoint") or {}
        return "the entry's Endpoint %s is %s's address and ListenPort %s" % (
            endpoint.get("raw"), other.host, other.listen_port)
    if how == "allowed_ips":
        return "the entry's AllowedIPs %s cover %s's tunnel address %s" % (
            ", ".join(peer_value(entry, "allowed_ips") or []), other.host, ", ".join(other.tunnel_addresses))
    return None


def _unparsed(end):
    """The end's config has lines wg-quick rejects: a [Peer] may be missing because it did not parse."""
    return bool((end.config or {}).get("parse_errors"))


def _shared(ctx, key):
    return len(ctx.topology.by_key.get(key) or ()) > 1


def peer_missing(ctx):
    findings = []
    for index, tunnel, end, other, entry in ctx.directions():
        if entry is not None or not other.public_key:
            continue
        # Explained elsewhere: a [Peer] that did not parse (config_invalid / invalid_key), or a key two
        # ends share (duplicate_public_key), where the one entry serves whichever end spoke last.
        if _unparsed(end) or _shared(ctx, other.public_key):
            continue
        allowed = _host_prefixes(other)
        evidence = ["%s: %s has no [Peer] with PublicKey %s (%s's key)" % (
            end.host, end.interface, short_key(other.public_key), other.label())]
        variables = {"peer_interface": end.interface, "peer_public_key": other.public_key}
        if allowed:
            variables["peer_allowed_ips"] = allowed
        findings.append(make_finding(
            "peer_missing", end.host,
            "%s has no peer entry for %s, so it drops %s's handshakes; add the peer." % (
                end.label(), other.label(), other.host),
            evidence, interface=end.interface, peer=other.public_key,
            remedy=remedy("peer", end.host, variables), scope=tunnel_scope(index, tunnel)))
    return findings


def _psk(entry):
    return bool(peer_value(entry, "has_preshared_key")), peer_value(entry, "preshared_key_digest")


def _psk_text(entry):
    has, digest = _psk(entry)
    return "PresharedKey digest %s" % digest if has else "no PresharedKey"


def preshared_key_mismatch(ctx):
    findings = []
    for index, tunnel, first, second in ctx.tunnels():
        entry_a = ctx.topology.entry(first, tunnel["a"]["peer"])
        entry_b = ctx.topology.entry(second, tunnel["b"]["peer"])
        if entry_a is None or entry_b is None or _psk(entry_a) == _psk(entry_b):
            continue
        evidence = ["%s: %s peer %s: %s" % (first.host, first.interface, short_key(entry_a["public_key"]), _psk_text(entry_a)),
                    "%s: %s peer %s: %s" % (second.host, second.interface, short_key(entry_b["public_key"]), _psk_text(entry_b))]
        evidence += [probe_line(p) + " - the response did not decrypt"
                     for p in ctx.probes_to(second) if p.get("outcome") == "auth_failed"]
        findings.append(make_finding(
            "preshared_key_mismatch", first.host,
            "%s and %s hold different preshared keys for each other; copy %s's PresharedKey to %s." % (
                first.label(), second.label(), second.host, first.host),
            evidence, interface=first.interface, peer=second.public_key,
            # The key is read from the other end's running interface, which has its own name there.
            remedy=remedy("peer", first.host, {"peer_interface": first.interface, "peer_public_key": entry_a["public_key"],
                                               "peer_preshared_key_from_host": second.host,
                                               "peer_preshared_key_from_interface": second.interface}),
            scope=tunnel_scope(index, tunnel)))
    return findings


def duplicate_public_key(ctx):
    findings = []
    for key, owners in ctx.topology.by_key.items():
        if len(owners) < 2:
            continue
        scope = set()
        for owner in owners:
            scope.update(end_scope(owner))
        findings.append(make_finding(
            "duplicate_public_key", owners[0].host,
            "%s share the public key %s, so their peers flip between them; give each end its own key pair." % (
                " and ".join(o.label() for o in owners), short_key(key)),
            ["%s: %s public key %s" % (o.host, o.interface, short_key(key)) for o in owners],
            interface=owners[0].interface, peer=key, scope=scope))
    for end in ctx.topology.ends:
        for source, peer in end.duplicate_peers:
            line = " (line %s)" % peer["line"] if peer.get("line") else ""
            findings.append(make_finding(
                "duplicate_public_key", end.host,
                "%s lists peer %s twice; WireGuard merges them, keep one [Peer] section." % (
                    end.label(), short_key(peer.get("public_key"))),
                ["%s %s: second [Peer] with PublicKey %s%s" % (end.host, source, short_key(peer.get("public_key")), line)],
                interface=end.interface, peer=peer.get("public_key"), scope=end_scope(end)))
    return findings


def _clock_line(host, clock, against_controller):
    line = "%s: clock %.0f (NTP synchronized: %s)" % (host, clock["epoch"], clock.get("ntp_synchronized"))
    if against_controller:
        line += ", %+.0f s from the controller's clock when its facts arrived" % (clock["epoch"] - clock["controller_epoch"])
    return line


def clock_skew(ctx):
    findings = []
    seen = set()
    for index, tunnel, first, second in ctx.tunnels():
        pair = (first.host, second.host)
        if pair in seen or first.host == second.host:
            continue
        seen.add(pair)
        clock_a, clock_b = first.facts.get("clock") or {}, second.facts.get("clock") or {}
        if clock_a.get("epoch") is None or clock_b.get("epoch") is None:
            continue
        # Each end against the controller's time when its facts arrived: on a big fleet the ends are read minutes
        # apart, and the raw clocks differ by that much on one clock. Facts of an older wg_facts: the raw clocks.
        against_controller = clock_a.get("controller_epoch") is not None and clock_b.get("controller_epoch") is not None
        if against_controller:
            skew = (clock_a["epoch"] - clock_a["controller_epoch"]) - (clock_b["epoch"] - clock_b["controller_epoch"])
        else:
            skew = clock_a["epoch"] - clock_b["epoch"]
        if abs(skew) <= MAX_CLOCK_SKEW:
            continue
        culprit = first
        if clock_b.get("ntp_synchronized") is False and clock_a.get("ntp_synchronized") is not False:
            culprit = second
        findings.append(make_finding(
            "clock_skew", culprit.host,
            "The clocks of %s and %s differ by %d s; a clock that goes back makes the responder drop "
            "initiations as replays. Synchronise both with NTP." % (first.host, second.host, abs(skew)),
            [_clock_line(first.host, clock_a, against_controller), _clock_line(second.host, clock_b, against_controller)],
            interface=culprit.interface, scope=tunnel_scope(index, tunnel)))
    return findings


RULES = (invalid_key, local_keypair_mismatch, peer_public_key_mismatch, peer_missing, preshared_key_mismatch,
         duplicate_public_key, clock_skew)
