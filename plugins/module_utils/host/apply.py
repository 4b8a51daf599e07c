# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Putting an edited wg-quick config in place and onto the running interface.

A config file holds the private key: it is replaced atomically (a half-written file
would take the tunnel down at the next boot), written 0600 with its owner kept, and is
only renamed over the old one after it was validated. The running interface is changed
one peer at a time with `wg set IF peer KEY ...`: never a whole-file `wg syncconf`, which
would drop the peers that exist only at runtime and reset PrivateKey, ListenPort and
FwMark to the file's values. A preshared key reaches wg on its standard input, never on
a command line.

Commands are run through a callable `run(argv, data=None) -> (rc, stdout, stderr)` so
that this file holds no Ansible object; AnsibleModule.run_command fits it.
"""
from __future__ import annotations

import os
import re
import tempfile
import typing as t

HIDDEN = "(hidden)"
CONFIG_MODE = 0o600
# wg opens the preshared-key argument as a file: this one is the pipe run() feeds, never a disk file.
PRESHARED_KEY_FROM_STDIN = "/dev/stdin"
# wg's config.c deletes every whitespace character before matching "Key=": a secret
# line is found the same way, however it is spaced or cased.
_SECRET_NAMES = ("privatekey", "presharedkey")
_KEYLIKE_RE = re.compile(r"[A-Za-z0-9+/]{42,43}=")
# Base64 of exactly 32 bytes, what wg genkey/genpsk/pubkey print: the last character before
# the '=' carries 2 bits only. No word boundary: a key glued to other base64 is still hidden.
_WG_KEY_RE = re.compile(r"[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=")

Run = t.Callable[..., t.Tuple[int, str, str]]


class ApplyError(Exception):
    """A write or live apply failed; the message never holds a key."""


def _squeezed_key(line: str) -> str:
    return re.sub(r"\s", "", line.split("#", 1)[0]).lower()


def _is_secret_line(line: str) -> bool:
    return _squeezed_key(line).startswith(tuple(name + "=" for name in _SECRET_NAMES))


def _redact_line(line: str) -> str:
    if _is_secret_line(line):
        body = line.rstrip("\r\n")
        name = body.split("=", 1)[0]
        return "%s= %s%s" % (name, HIDDEN, line[len(body):])
    if _squeezed_key(line).startswith("publickey="):
        # A public key is what a reader needs to see which peer changed; its comment may hold anything.
        value, hash_sign, comment = line.partition("#")
        return value + hash_sign + _WG_KEY_RE.sub(HIDDEN, comment)
    return _WG_KEY_RE.sub(HIDDEN, line)


def redact_secrets(text: str) -> str:
    """The config text for a diff: PrivateKey/PresharedKey values and every other key-shaped value hidden.

    A key is also found in a comment (`#PrivateKey = ...`, `# old: KEY`) or a hook (`PostUp = ... <(echo KEY)`);
    only the value of an active PublicKey line stays readable.
    """
    return "".join(_redact_line(line) for line in text.splitlines(True))


def redact_keylike(text: str) -> str:
    """Command output that may echo a config line (wg's "Line unrecognized: `...'"): no key survives."""
    return _KEYLIKE_RE.sub(HIDDEN, text or "")


def write_atomic(path: str, text: str, validate: t.Callable[[str], None] | None = None, mode: int = CONFIG_MODE) -> None:
    """Replace path by text: temp file in the same directory, fsync, validate(temp_path), rename.

    The file holds the private key: it is written with `mode` (0600), whatever mode the old
    one had, and keeps its owner. The temp name ends in .conf and stays under 16 characters
    so that `wg-quick strip` accepts it as a config path. validate raises to veto the write;
    the old file is then untouched.
    """
    directory = os.path.dirname(os.path.abspath(path))
    owner = None
    if os.path.exists(path):
        info = os.stat(path)
        owner = (info.st_uid, info.st_gid)
    handle, temp_path = tempfile.mkstemp(prefix=".wgp", suffix=".conf", dir=directory)
    try:
        os.fchmod(handle, mode)
        if owner is not None and hasattr(os, "fchown"):
            os.fchown(handle, owner[0], owner[1])
        with os.fdopen(handle, "wb") as stream:
            stream.write(text.encode("utf-8"))
            stream.flush()
            os.fsync(stream.fileno())
        if validate is not None:
            validate(temp_path)
        os.replace(temp_path, path)
    except BaseException:
        if os.path.exists(temp_path):
            os.unlink(temp_path)
        raise
    _fsync_directory(directory)


def _fsync_directory(directory: str) -> None:
    # The rename is durable only once the directory entry is on disk.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def check_wg_quick_strip(run, wg_quick: str, config_path: str) -> None:
    """wg-quick's own reading of the file must succeed, else ApplyError (its stderr, keys redacted)."""
    rc, _out, err = run([wg_quick, "strip", config_path])
    if rc != 0:
        raise ApplyError("wg-quick strip refused the new config: %s" % redact_keylike(err).strip())


def interface_is_up(run, wg: str, interface: str) -> bool:
    rc, out, _err = run([wg, "show", "interfaces"])
    return rc == 0 and interface in out.split()


def runtime_dump(run, wg: str, interface: str) -> str:
    """`wg show IF dump` in the `wg show all dump` layout that wg_dump.parse_dump reads.

    Its first line carries the private key: hand the text to parse_dump only.
    """
    rc, out, err = run([wg, "show", interface, "dump"])
    if rc != 0:
        raise ApplyError("wg show %s dump failed: %s" % (interface, redact_keylike(err).strip()))
    # One interface's dump leaves out the interface column that the all-interfaces dump has.
    return "".join("%s\t%s\n" % (interface, line) for line in out.splitlines() if line.strip())


def wg_set(run: Run, wg: str, interface: str, peer_args: list[str], preshared_key: str | None = None) -> None:
    """`wg set IF peer KEY ...`; peer_args come from peer_set_args, preshared_key goes to wg's standard input."""
    if preshared_key is None:
        rc, _out, err = run([wg, "set", interface] + list(peer_args))
    else:
        rc, _out, err = run([wg, "set", interface] + list(peer_args), data=preshared_key)
    if rc != 0:
        raise ApplyError("wg set %s failed: %s" % (interface, redact_keylike(err).strip()))


def set_peer(run: Run, wg: str, interface: str, public_key: str, values: dict[str, str | None]) -> None:
    """Make the running peer public_key match values (wg-quick key spelling); other peers and interface keys stay."""
    preshared_key = values.get("PresharedKey")
    wg_set(run, wg, interface, peer_set_args(public_key, values, PRESHARED_KEY_FROM_STDIN if preshared_key else None),
           preshared_key or None)


def remove_peer(run: Run, wg: str, interface: str, public_key: str) -> None:
    wg_set(run, wg, interface, ["peer", public_key, "remove"])


def peer_set_args(public_key: str, values: dict[str, str | None], preshared_key_file: str | None = None) -> list[str]:
    """Arguments of `wg set IF` that make the running peer match values (wg-quick key spelling).

    `wg set` leaves a setting it is not given as it was, so a removed PersistentKeepalive
    or PresharedKey is switched off explicitly. The preshared key itself is never an
    argument: preshared_key_file names where wg reads it (a 0600 file or /dev/stdin).
    """
    args = ["peer", public_key]
    if "Endpoint" in values and values["Endpoint"]:
        args += ["endpoint", values["Endpoint"]]
    if "AllowedIPs" in values and values["AllowedIPs"] is not None:
        args += ["allowed-ips", values["AllowedIPs"].replace(" ", "")]
    if "PersistentKeepalive" in values:
        args += ["persistent-keepalive", values["PersistentKeepalive"] or "0"]
    if "PresharedKey" in values:
        if values["PresharedKey"] and not preshared_key_file:
            raise ValueError("a preshared key reaches wg through a file, never as an argument")
        args += ["preshared-key", preshared_key_file if preshared_key_file and values["PresharedKey"] else "/dev/null"]
    return args


def runtime_drift(wanted: dict[str, t.Any], live: dict[str, t.Any] | None) -> list[str]:
    """Fields of one peer whose running value differs from what the file now says.

    wanted: the peer as wg_config.parse_config gives it; live: the peer of
    wg_dump.parse_dump (None when the interface lacks it). An Endpoint that is a
    hostname, or that the file does not set, never drifts: the address is resolved
    or learnt by roaming.
    """
    if live is None:
        return ["peer"]
    drift = []
    if sorted(wanted.get("allowed_ips") or []) != sorted(live.get("allowed_ips") or []):
        drift.append("allowed_ips")
    if (wanted.get("persistent_keepalive") or None) != (live.get("persistent_keepalive") or None):
        drift.append("persistent_keepalive")
    if wanted.get("preshared_key_digest") != live.get("preshared_key_digest"):
        drift.append("preshared_key")
    endpoint, live_endpoint = wanted.get("endpoint"), live.get("endpoint")
    if endpoint and not endpoint.get("is_hostname"):
        if live_endpoint is None or (live_endpoint["host"], live_endpoint["port"]) != (endpoint["host"], endpoint["port"]):
            drift.append("endpoint")
    return drift
