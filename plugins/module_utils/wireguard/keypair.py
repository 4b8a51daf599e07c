# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Do a host's keys belong together, and do its [Peer] entries hold the keys its peers really have?

Two questions a provisioning run should answer before a tunnel is deployed, because a
wrong key is invisible on the wire: the responder silently drops an initiation it cannot
decrypt, and both ends just see `latest handshake: (none)`.

Private keys pass through here only to derive a public key; no message, result or
exception built here contains one. Public keys are not secret and are shown.
"""
from __future__ import annotations

import typing as t

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard import derive as wg_derive
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard import keys as wg_keys

SOURCES = ("config", "runtime")


class KeypairInputError(ValueError):
    """Input the check cannot work with; the message names the option, never the key text."""


# ---------------------------------------------------------------- key text

def require_key(text: object, label: str) -> str:
    """The key without surrounding whitespace, or KeypairInputError naming `label`."""
    stripped = text.strip() if isinstance(text, str) else text
    problem = wg_keys.key_problem(stripped)
    if problem is not None:
        raise KeypairInputError("%s is not a WireGuard key: %s" % (label, problem))
    return t.cast(str, stripped)


# ---------------------------------------------------------------- (a) the host's own pair

def check_pair(private_key: str, public_key: str | None = None, wg_pubkey: wg_derive.WgPubkey | None = None) -> dict[str, t.Any]:
    """{derived_public_key, public_key, match, backend}; match is None when no public key was given to compare."""
    if public_key is not None and public_key.strip() == private_key.strip():
        # The classic wrong file (wg0.key for wg0.pub): returning it as "the public key" would publish the secret.
        raise KeypairInputError("the public key given is the private key itself: point it at the public key instead")
    derived, backend = wg_derive.derive_public_key(private_key, wg_pubkey)
    match = None if public_key is None else derived == public_key
    return {"derived_public_key": derived, "public_key": public_key, "match": match, "backend": backend}


# ---------------------------------------------------------------- (b) the host's peers

def parse_peers_output(text: str) -> list[str]:
    """`wg show IF peers`: one public key per line. ValueError naming the line on anything else."""
    keys: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if wg_keys.key_problem(line.strip()) is not None:
            raise ValueError("wg show peers, line %d: not a public key" % number)
        keys.append(line.strip())
    return keys


def _malformed_config_peers(config: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    """[Peer] sections whose PublicKey wg would refuse, with the parser's reason (reasons never quote keys)."""
    peers = config.get("peers") or []
    malformed: list[dict[str, t.Any]] = []
    for index, peer in enumerate(peers):
        if peer.get("public_key") is not None:
            continue
        end = peers[index + 1]["line"] if index + 1 < len(peers) else float("inf")
        reasons = [error for error in config.get("parse_errors") or []
                   if peer["line"] <= error["line"] < end and "PublicKey" in error["reason"]]
        first = reasons[0] if reasons else {"line": peer["line"], "reason": "[Peer] has no usable PublicKey"}
        malformed.append({"source": "config", "file": config.get("path"), "line": first["line"], "reason": first["reason"]})
    return malformed


def _present_keys(config: dict[str, t.Any] | None, runtime_keys: list[str] | None) -> dict[str, dict[str, list[int]]]:
    """source -> {public key: [config lines]} for the sources that could be read."""
    present: dict[str, dict[str, list[int]]] = {}
    if config is not None and config.get("exists", True):
        lines: dict[str, list[int]] = {}
        for peer in config.get("peers") or []:
            if peer.get("public_key") is not None:
                lines.setdefault(peer["public_key"], []).append(peer["line"])
        present["config"] = lines
    if runtime_keys is not None:
        present["runtime"] = {key: [] for key in runtime_keys}
    return present


def _duplicates(expected: dict[str, str], config: dict[str, t.Any] | None, own_public_key: str | None) -> list[dict[str, t.Any]]:
    duplicates: list[dict[str, t.Any]] = []
    by_key: dict[str, list[str]] = {}
    for name, key in expected.items():
        by_key.setdefault(key, []).append(name)
    for key, names in sorted(by_key.items(), key=lambda item: item[1]):
        if len(names) > 1:
            duplicates.append({"public_key": key, "source": "expected_peers", "names": sorted(names), "lines": []})
    config_lines = _present_keys(config, None).get("config", {})
    for key, lines in config_lines.items():
        if len(lines) > 1:
            duplicates.append({"public_key": key, "source": "config", "names": by_key.get(key, []), "lines": lines})
    if own_public_key is not None and (own_public_key in by_key or own_public_key in config_lines):
        duplicates.append({"public_key": own_public_key, "source": "own_key", "names": sorted(by_key.get(own_public_key, [])),
                           "lines": config_lines.get(own_public_key, [])})
    return duplicates


def check_peers(expected: dict[str, str], config: dict[str, t.Any] | None = None, runtime_keys: list[str] | None = None,
                own_public_key: str | None = None) -> dict[str, t.Any]:
    """Sort the expected peers and the entries the host holds into ok / unknown / missing / malformed / duplicates.

    `expected`: name -> the public key that peer really has. `config`: wg_config.parse_config's object (or None).
    `runtime_keys`: the running interface's peer keys (None when it is not running).
    An expected peer is ok only when every source that could be read holds its key.
    """
    present = _present_keys(config, runtime_keys)
    if not present:
        # Otherwise every expected peer would pass as "ok" for lack of anything to contradict it.
        raise KeypairInputError("no [Peer] entries to check: neither a config file nor a running interface")
    wanted = set(expected.values())
    result: dict[str, t.Any] = {"sources": sorted(present, key=SOURCES.index), "ok": [], "unknown": [], "missing": [],
                                "malformed": _malformed_config_peers(config) if config else [],
                                "duplicates": _duplicates(expected, config, own_public_key)}
    for name in sorted(expected):
        key = expected[name]
        absent = [source for source in SOURCES if source in present and key not in present[source]]
        if absent:
            result["missing"].append({"name": name, "public_key": key, "missing_from": absent})
        else:
            result["ok"].append({"name": name, "public_key": key, "lines": present.get("config", {}).get(key, [])})
    for source in SOURCES:
        unknown = [key for key in present.get(source, {}) if key not in wanted]
        missing_here = [item["name"] for item in result["missing"] if source in item["missing_from"]]
        # One stranger and one absentee in the same place: almost always the absentee's key, mistyped or stale.
        instead_of = missing_here[0] if len(unknown) == 1 and len(missing_here) == 1 else None
        for key in unknown:
            lines = present[source][key]
            result["unknown"].append({"public_key": key, "source": source, "line": lines[0] if lines else None,
                                      "instead_of": instead_of})
    return result


# ---------------------------------------------------------------- what a human reads

def pair_problems(pair: dict[str, t.Any], public_key_label: str = "public_key") -> list[str]:
    if pair.get("match") is not False:
        return []
    return ["the private key's public key is %s, not the %s %s: they do not belong together"
            % (pair["derived_public_key"], public_key_label, pair["public_key"])]


def _where(item: dict[str, t.Any], config_path: str | None, interface: str | None) -> str:
    if item["source"] == "config":
        return "%s line %s" % (config_path, item["line"])
    return "the running %s" % interface


def peer_problems(peers: dict[str, t.Any], config_path: str | None = None, interface: str | None = None) -> list[str]:
    """One sentence per problem, in the order a person fixes them."""
    lines = []
    for item in peers["malformed"]:
        lines.append("%s line %s: %s" % (item["file"] or config_path, item["line"], item["reason"]))
    for item in peers["unknown"]:
        text = "%s: peer %s is none of the expected peers" % (_where(item, config_path, interface), item["public_key"])
        if item["instead_of"]:
            text += " (probably a wrong key for %s, whose key is missing there)" % item["instead_of"]
        lines.append(text)
    for item in peers["missing"]:
        places = [str(config_path) if source == "config" else "the running %s" % interface for source in item["missing_from"]]
        lines.append("%s (%s) is not a peer in %s" % (item["name"], item["public_key"], " nor in ".join(places)))
    for item in peers["duplicates"]:
        if item["source"] == "expected_peers":
            lines.append("%s share the public key %s: two hosts with one key cannot both connect"
                         % (", ".join(item["names"]), item["public_key"]))
        elif item["source"] == "config":
            lines.append("%s lines %s: the same PublicKey %s in more than one [Peer]"
                         % (config_path, ", ".join(str(line) for line in item["lines"]), item["public_key"]))
        else:
            lines.append("this host's own public key %s is listed as a peer" % item["public_key"])
    return lines


def has_problems(pair: dict[str, t.Any] | None, peers: dict[str, t.Any] | None) -> bool:
    """What fail_on_mismatch fails on: a pair that does not match, or any peer problem."""
    if pair is not None and pair.get("match") is False:
        return True
    if peers is None:
        return False
    return any(peers[key] for key in ("unknown", "missing", "malformed", "duplicates"))
