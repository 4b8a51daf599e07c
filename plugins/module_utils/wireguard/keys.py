# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""WireGuard keys as `wg genkey` / `wg pubkey` / `wg genpsk` print them: base64 of 32 bytes.

The one home of key validation and of the preshared-key digest. Nothing here needs the
curve, so a module that only reads configs ships no X25519 code for it; deriving a
public key and generating a private key live in derive.py.

Every error message here describes the shape of the input, never the input:
the text handed in may be a private or preshared key.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

KEY_LEN = 32
_PSK_DIGEST_KEY = b"wgdoctor-psk-digest-v1"
NOT_AS_WG_PRINTS = "not in the form wg prints (44 characters ending in '=')"


class KeyFormatError(ValueError):
    """A key that is not base64 of exactly 32 bytes. The message never contains the key text."""


def decode_key(text: str | bytes) -> bytes:
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


def is_valid_key(text: str | bytes) -> bool:
    """Base64 of 32 bytes, whitespace around it ignored: what decode_key accepts."""
    try:
        decode_key(text)
    except KeyFormatError:
        return False
    return True


def key_problem(text: object) -> str | None:
    """Why `text` is not a key exactly as wg prints it (None when it is), described without quoting it.

    This is wg's key_from_base64: 44 characters, '=' last, nothing around them, and no
    stray bits in the last base64 group (which b64decode lets through but wg refuses).
    """
    if not isinstance(text, (str, bytes)):
        return "not base64"
    try:
        raw = decode_key(text)
    except KeyFormatError as exc:
        return str(exc)
    if not isinstance(text, str) or encode_key(raw) != text:
        return NOT_AS_WG_PRINTS
    return None


def preshared_key_digest(psk_b64: str) -> str:
    """docs/facts.md's fingerprint: two hosts' preshared keys compared without revealing either."""
    raw = decode_key(psk_b64)
    return hmac.new(_PSK_DIGEST_KEY, raw, hashlib.sha256).hexdigest()[:16]
