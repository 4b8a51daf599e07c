# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`wg show all dump`, turned into the `runtime` objects of docs/facts.md.

The dump prints the interface's private key and every preshared key in clear text.
They are reduced to has_private_key / has_preshared_key / preshared_key_digest here,
at the first place they are seen, and no error message ever quotes a dump line.
"""
from __future__ import annotations

import time
import typing as t

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard.keys import preshared_key_digest

NONE = "(none)"
INTERFACE_FIELDS = 5   # ifname, private-key, public-key, listen-port, fwmark
PEER_FIELDS = 9        # ifname, public-key, preshared-key, endpoint, allowed-ips, latest-handshake, rx, tx, keepalive


class DumpParseError(ValueError):
    """Garbage in the dump; the message names the line number and the shape, never the content."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__("wg show all dump, line %d: %s" % (line, reason))
        self.line = line
        self.reason = reason


def _number(text: str, what: str, line: int) -> int:
    if not text.isdigit():
        raise DumpParseError(line, "%s is not a number" % what)
    return int(text)


def _off_or_number(text: str, what: str, line: int, base: int = 10) -> int | None:
    if text == "off":
        return None
    try:
        return int(text, base)
    except ValueError:
        raise DumpParseError(line, "%s is neither off nor a number" % what) from None


def split_runtime_endpoint(text: str) -> dict[str, t.Any] | None:
    """wg prints 1.2.3.4:51820 or [v6%zone]:51820; (none) before the peer was ever seen."""
    if text == NONE:
        return None
    host, _colon, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host or not port.isdigit():
        raise ValueError("endpoint is not host:port")
    return {"raw": text, "host": host, "port": int(port)}


def _interface(fields: list[str], line: int) -> dict[str, t.Any]:
    private_key, public_key, listen_port, fwmark = fields[1:]
    return {
        "up": True,
        "public_key": None if public_key == NONE else public_key,
        "has_private_key": private_key != NONE,
        "listen_port": _number(listen_port, "listen-port", line),
        "fwmark": _off_or_number(fwmark, "fwmark", line, 16) or None,
        "peers": [],
    }


def _peer(fields: list[str], line: int, now: float) -> dict[str, t.Any]:
    public_key, preshared_key, endpoint, allowed_ips, handshake, rx, tx, keepalive = fields[1:]
    try:
        endpoint_object = split_runtime_endpoint(endpoint)
    except ValueError:
        raise DumpParseError(line, "endpoint is not host:port") from None
    has_psk = preshared_key != NONE
    try:
        digest = preshared_key_digest(preshared_key) if has_psk else None
    except ValueError:
        raise DumpParseError(line, "preshared-key is not base64 of 32 bytes") from None
    latest = _number(handshake, "latest-handshake", line) or None
    return {
        "public_key": public_key,
        "endpoint": endpoint_object,
        "allowed_ips": [] if allowed_ips == NONE else allowed_ips.split(","),
        "latest_handshake": latest,
        # Negative when the clock was stepped back after the handshake: left visible on purpose.
        "latest_handshake_age": None if latest is None else int(now - latest),
        "transfer_rx": _number(rx, "transfer-rx", line),
        "transfer_tx": _number(tx, "transfer-tx", line),
        "persistent_keepalive": _off_or_number(keepalive, "persistent-keepalive", line) or None,
        "has_preshared_key": has_psk,
        "preshared_key_digest": digest,
    }


def parse_dump(text: str, now: float | None = None) -> dict[str, dict[str, t.Any]]:
    """ifname -> runtime object. `now` (Unix seconds) is the clock the handshake ages are taken against."""
    if now is None:
        now = time.time()
    interfaces: dict[str, dict[str, t.Any]] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        fields = raw.split("\t")
        if len(fields) == INTERFACE_FIELDS:
            interfaces[fields[0]] = _interface(fields, number)
        elif len(fields) == PEER_FIELDS:
            if fields[0] not in interfaces:
                raise DumpParseError(number, "peer line before its interface line")
            interfaces[fields[0]]["peers"].append(_peer(fields, number, now))
        else:
            raise DumpParseError(number, "expected %d or %d tab-separated fields, got %d" % (
                INTERFACE_FIELDS, PEER_FIELDS, len(fields)))
    return interfaces


# ---------------------------------------------------------------- file vs running interface

_PEER_FIELDS_COMPARED = ("allowed_ips", "persistent_keepalive", "preshared_key_digest")


def _drift(field: str, peer: str | None, config_value: object, runtime_value: object) -> dict[str, t.Any]:
    return {"field": field, "peer": peer, "config": config_value, "runtime": runtime_value}


def _endpoint_drifted(config_endpoint: dict[str, t.Any] | None, runtime_endpoint: dict[str, t.Any] | None) -> bool:
    """A roamed or re-resolved endpoint is normal; one the file cannot explain is drift."""
    if config_endpoint is None or runtime_endpoint is None:
        return False
    if config_endpoint["is_hostname"]:
        resolved = config_endpoint.get("resolved")
        if not resolved:
            return False
        return runtime_endpoint["host"] not in resolved or runtime_endpoint["port"] != config_endpoint["port"]
    return (runtime_endpoint["host"], runtime_endpoint["port"]) != (config_endpoint["host"], config_endpoint["port"])


def compute_drift(config: dict[str, t.Any] | None, runtime: dict[str, t.Any] | None) -> list[dict[str, t.Any]]:
    """What `wg syncconf` would change: interface keys and ports, peers missing on one side, peer values.

    Endpoints count only when the file names an IP (or a resolved hostname) the runtime does not hold;
    a responder learns its peers' endpoints by roaming, so an endpoint the file does not set never drifts.
    """
    if not config or not config.get("exists") or runtime is None:
        return []
    drift: list[dict[str, t.Any]] = []
    for field in ("public_key", "listen_port", "fwmark"):
        config_value, runtime_value = config.get(field), runtime.get(field)
        # ListenPort unset in the file means "random": any runtime port matches it.
        if field == "listen_port" and config_value is None:
            continue
        # A PrivateKey we could not derive (no X25519 backend) says nothing about drift.
        if field == "public_key" and config_value is None and config.get("has_private_key"):
            continue
        if config_value != runtime_value:
            drift.append(_drift(field, None, config_value, runtime_value))
    runtime_peers = {peer["public_key"]: peer for peer in runtime.get("peers", [])}
    config_peers: dict[str, dict[str, t.Any]] = {}
    for peer in config.get("peers", []):
        if peer["public_key"] is not None:
            config_peers.setdefault(peer["public_key"], peer)
    for key, peer in config_peers.items():
        live = runtime_peers.get(key)
        if live is None:
            drift.append(_drift("peer", key, "present", "absent"))
            continue
        for field in _PEER_FIELDS_COMPARED:
            config_value, runtime_value = peer[field], live[field]
            if field == "allowed_ips":
                config_value, runtime_value = sorted(config_value), sorted(runtime_value)
            if config_value != runtime_value:
                drift.append(_drift(field, key, config_value, runtime_value))
        if _endpoint_drifted(peer["endpoint"], live["endpoint"]):
            drift.append(_drift("endpoint", key, peer["endpoint"]["raw"], live["endpoint"]["raw"]))
    for key in runtime_peers:
        if key not in config_peers:
            drift.append(_drift("peer", key, "absent", "present"))
    return drift
