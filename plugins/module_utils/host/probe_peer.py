# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The probe's temporary peer on a responder: its marker, and which marked peers are leftovers.

The diagnosis registers its ephemeral probe key as a peer without allowed IPs and removes it when the
probes are done. A run killed in between leaves the peer behind, and its key is random per run, so
only a marker written before the peer was added tells it apart from a peer someone else added:

    <marker_dir>/net-<network namespace inode>/<interface>/<key, URL-safe base64>

The network namespace is part of the path because interface names are unique only within one, and
ends that share a /run (network namespaces of one machine) must not take each other's markers. /run
is emptied by a reboot, which also drops every runtime-only peer.

A marker alone never removes anything: the key must still be a peer of that interface, without
allowed IPs, in no line of the interface's config, and the marker must be older than any live run can
be (a second run going on at the same time holds its probe peer for seconds to minutes, and its
marker looks just like a leftover's).
"""
from __future__ import annotations

import os
import typing as t

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard import keys as wg_keys

REMOVE = "remove"   # the leftover peer is removed and its marker deleted
FORGET = "forget"   # the peer is not touched (gone, or someone uses the key now); the marker is deleted
KEEP = "keep"       # nothing is done now; a later run decides

Decision = t.Dict[str, t.Any]


def namespace_id(ns_path: str = "/proc/self/ns/net") -> str:
    """The network namespace this process runs in, as a directory name."""
    try:
        return "net-%d" % os.stat(ns_path).st_ino
    except OSError:
        return "net-unknown"


def marker_name(public_key: str) -> str:
    """A file name for a key: base64 has '/', URL-safe base64 has not."""
    return public_key.replace("+", "-").replace("/", "_")


def key_of_marker(name: str) -> str | None:
    """The key a marker file name stands for, or None when the name is no key (then it is no marker of ours)."""
    key = name.replace("-", "+").replace("_", "/")
    return key if wg_keys.is_valid_key(key) else None


def parse_allowed_ips(text: str) -> dict[str, list[str]]:
    """`wg show IF allowed-ips`: public key -> allowed IPs ([] for "(none)"). No private key is ever in it."""
    peers: dict[str, list[str]] = {}
    for line in text.splitlines():
        fields = line.split()
        if not fields:
            continue
        peers[fields[0]] = [] if fields[1:] == ["(none)"] else fields[1:]
    return peers


def in_config(public_key: str, config_text: str | None) -> bool:
    """Whether the key appears anywhere in the config: a PublicKey line, a commented-out one, a PostUp command.
    Deliberately coarser than a parse: a config that does not parse still protects the keys it mentions."""
    return config_text is not None and public_key in config_text


def decide(public_key: str, marker_age: float, min_age: float, interface_running: bool,
           runtime_peers: t.Mapping[str, t.Sequence[str]] | None, config_text: str | None, config_readable: bool = True) -> Decision:
    """What to do with one marked key on one interface, and why (a sentence without the key); `reused` when the
    key is someone's peer now (worth a warning)."""
    if not interface_running:
        return {"action": FORGET, "reason": "the interface is not running: the runtime peer went with it"}
    # Before anything else: a live run marks its key first and adds the peer after, so even "not a peer" can be
    # a run that is about to add it.
    if marker_age < min_age:
        return {"action": KEEP, "reason": "marked %d s ago: a run that is still going may be probing with it "
                                          "(removed once the marker is %d s old)" % (int(marker_age), int(min_age))}
    if runtime_peers is None:
        return {"action": KEEP, "reason": "the interface's peers could not be read"}
    if public_key not in runtime_peers:
        return {"action": FORGET, "reason": "no longer a peer of the interface"}
    if runtime_peers[public_key]:
        return {"action": FORGET, "reused": True,
                "reason": "it has allowed IPs now: someone uses this key"}
    if not config_readable:
        return {"action": KEEP, "reason": "the interface's config could not be read"}
    if in_config(public_key, config_text):
        return {"action": FORGET, "reused": True,
                "reason": "the interface's config names this key"}
    return {"action": REMOVE, "reason": "probe peer of an interrupted run: marked, no allowed IPs, in no config"}
