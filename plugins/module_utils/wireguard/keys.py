# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""WireGuard keys as `wg genkey` / `wg pubkey` / `wg genpsk` print them: base64 of 32 bytes.

Every error message here describes the shape of the input, never the input:
the text handed in may be a private or preshared key.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard import crypto as wg_crypto

KEY_LEN = 32
_PSK_DIGEST_KEY = b"wgdoctor-psk-digest-v1"


class KeyFormatError(ValueError):
    """A key that is not base64 of exactly 32 bytes. The message never contains the key text."""


def decode_key(text: str) -> bytes:
    """The 32 raw bytes of a base64 key; surrounding whitespace (a trailing newline from a file) is ignored."""
    if isinstance(text, bytes):
        try:
            text = text.decode("ascii")
        except UnicodeDecodeError:
            raise KeyFormatError("not base64") from None
    if not isinstance(text, str):
        raise KeyFormatError("not base64")
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        # `from None`: binascii's message can quote the offending input.
        raise KeyFormatError("not base64") from None
    if len(raw) != KEY_LEN:
        raise KeyFormatError("decodes to %d bytes, expected %d" % (len(raw), KEY_LEN))
    return raw


def encode_key(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def is_valid_key(text: str) -> bool:
    try:
        decode_key(text)
    except KeyFormatError:
        return False
    return True


def public_key_from_private(private_b64: str) -> str:
    """`wg pubkey`: X25519 of the clamped private scalar with the base point."""
    return encode_key(wg_crypto.x25519_base(decode_key(private_b64)))


def preshared_key_digest(psk_b64: str) -> str:
    """A fingerprint that lets two hosts' preshared keys be compared without revealing either."""
    raw = decode_key(psk_b64)
    return hmac.new(_PSK_DIGEST_KEY, raw, hashlib.sha256).hexdigest()[:16]


def generate_private_key() -> str:
    """`wg genkey`: 32 random bytes, clamped."""
    return encode_key(wg_crypto.clamp_private_key(os.urandom(KEY_LEN)))
