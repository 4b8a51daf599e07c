# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The public-key files kept beside a wg-quick config, against the key the interface's private key derives.

Such a file (`wg pubkey < wg0.key > wg0.pub`, or wg's quickstart `... | tee privatekey | wg pubkey > publickey`) is
what was handed to the peers: when it no longer belongs to the private key, every peer set up from it fails the
handshake, and when it holds the private key itself, the private key has been handed out. The `keypair_checks`
fact (docs/facts.md) says which; the diagnosis names it as local_keypair_mismatch.

A file is never returned when it holds the private key, and its text is never quoted when it is no key.
"""
from __future__ import annotations

import os
import typing as t

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard import keys as wg_keys

# Per interface; the names that hold a private key (wg0.key, privatekey, private.key) are never read.
INTERFACE_FILES = ("{name}.pub", "{name}.public", "{name}.publickey", "{name}.public.key", "{name}_public.key", "{name}-public.key")
# Files of the directory, not of an interface: they are checked only where one interface has a config there.
SHARED_FILES = ("publickey", "public.key")
PRIVATE_KEY_IN_FILE = "holds the private key, not the public key"

Check = t.Dict[str, t.Any]


def candidate_files(config_dir: str, name: str, only_config_here: bool) -> list[str]:
    names = [pattern.format(name=name) for pattern in INTERFACE_FILES]
    if only_config_here:
        names += list(SHARED_FILES)
    return [os.path.join(config_dir, file_name) for file_name in names]


def check_file(path: str, text: str, name: str, derived_public_key: str,
               wg_pubkey: t.Callable[[str], t.Optional[str]]) -> Check:
    """One entry of `keypair_checks`: {interface, source, public_key, derived_public_key, match, problem}."""
    stored = text.strip()
    check: Check = {"interface": name, "source": path, "public_key": None, "derived_public_key": derived_public_key,
                    "match": False, "problem": None}
    reason = wg_keys.key_problem(stored)
    if reason is not None:
        check["problem"] = "is not a WireGuard key: %s" % reason
    elif stored == derived_public_key:
        check.update(public_key=stored, match=True)
    elif wg_pubkey(stored) == derived_public_key:
        # Only its public key shows that a text is the private key: the config's PrivateKey is not kept.
        check["problem"] = PRIVATE_KEY_IN_FILE
    else:
        check["public_key"] = stored
    return check


def keypair_checks(config_dir: str, interfaces: t.Mapping[str, t.Tuple[t.Mapping[str, t.Any], t.Optional[t.Mapping[str, t.Any]]]],
                   read: t.Callable[[str], t.Optional[str]], wg_pubkey: t.Callable[[str], t.Optional[str]]) -> list[Check]:
    """`interfaces`: name -> (config facts, runtime facts or None). The key compared with is the one the config's
    PrivateKey derives (what the next start uses), else the running interface's; without either nothing is checked."""
    try:
        # The directory's configs, not only the interfaces asked about: a shared file could be any of theirs.
        with_config = sorted(entry[:-5] for entry in os.listdir(config_dir) if entry.endswith(".conf"))
    except (IOError, OSError):
        with_config = []
    checks: list[Check] = []
    for name in sorted(interfaces):
        config, runtime = interfaces[name]
        derived = config.get("public_key") or (runtime or {}).get("public_key")
        if not derived:
            continue
        for path in candidate_files(config_dir, name, with_config == [name]):
            if not os.path.isfile(path):
                continue
            text = read(path)
            if text is not None:
                checks.append(check_file(path, text, name, derived, wg_pubkey))
    return checks
