# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Key material that needs the curve: `wg pubkey` (a public key from a private key) and `wg genkey`.

The one home of derivation. Validating a key or digesting a preshared key needs no
X25519 and lives in keys.py; whatever imports this module ships crypto.py with it.

Private keys pass through here only to derive a public key; no message, result or
exception built here contains one.
"""
from __future__ import annotations

import os
import typing as t

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard import crypto as wg_crypto
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard import keys as wg_keys

# `wg pubkey` run on the host: private key in, public key out (raises or returns None when it cannot).
WgPubkey = t.Callable[[str], t.Optional[str]]


def public_key_from_private(private_b64: str) -> str:
    """`wg pubkey`: X25519 of the clamped private scalar with the base point, by the crypto backend in use."""
    return wg_keys.encode_key(wg_crypto.x25519_base(wg_keys.decode_key(private_b64)))


def generate_private_key() -> str:
    """`wg genkey`: 32 random bytes, clamped."""
    return wg_keys.encode_key(wg_crypto.clamp_private_key(os.urandom(wg_keys.KEY_LEN)))


def derive_public_key(private_key: str, wg_pubkey: WgPubkey | None = None) -> tuple[str, str]:
    """(public key, backend name). `wg_pubkey(private) -> public` is the `wg pubkey` fallback.

    The pure-Python X25519 is not constant-time, so a long-term key goes to `wg pubkey`
    when no library backend is installed and wg is; pure Python is the last resort.
    """
    backend = wg_crypto.backend_name()
    if backend == "pure" and wg_pubkey is not None:
        try:
            public_key = wg_pubkey(private_key)
        except Exception:  # pylint: disable=broad-except
            # Only the fact: the exception of a subprocess may carry its stdin.
            public_key = None
        if public_key is not None and wg_keys.key_problem(public_key.strip()) is None:
            return public_key.strip(), "wg"
    return public_key_from_private(private_key), backend
