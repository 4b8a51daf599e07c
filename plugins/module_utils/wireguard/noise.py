# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The initiator half of WireGuard's Noise_IKpsk2 handshake, and nothing after it.

Enough to send a valid initiation and learn from the answer whether the
responder listens, holds the right key pair, knows our static key and shares
our preshared key. No transport keys are derived: a probe must never send data
or a keepalive, which would make its session current on the responder.

Names follow the WireGuard paper (section 5.4): chaining key `ck`, hash `h`.
"""
from __future__ import annotations

import hmac
import os
import struct
import time

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard import crypto as wg_crypto

CONSTRUCTION = b"Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"
IDENTIFIER = b"WireGuard v1 zx2c4 Jason@zx2c4.com"
LABEL_MAC1 = b"mac1----"
LABEL_COOKIE = b"cookie--"

MESSAGE_INITIATION = 1
MESSAGE_RESPONSE = 2
MESSAGE_COOKIE_REPLY = 3
INITIATION_LEN = 148
RESPONSE_LEN = 92
COOKIE_REPLY_LEN = 64

# Offsets inside the initiation: mac1 covers everything before it, mac2 everything before mac2.
_INITIATION_MAC1_AT = 116
_INITIATION_MAC2_AT = 132
_RESPONSE_MAC1_AT = 60
_TAI64_EPOCH = 0x400000000000000A

OUTCOME_OK = "ok"
OUTCOME_AUTH_FAILED = "auth_failed"


class NoiseError(ValueError):
    """A message that is not a valid answer to our initiation (wrong size, index or MAC)."""


def initial_chain(responder_public: bytes) -> tuple:
    """(ck, h) both sides start from: the construction, the identifier and the responder's static key."""
    ck = wg_crypto.hash_(CONSTRUCTION)
    h = wg_crypto.hash_(wg_crypto.hash_(ck + IDENTIFIER) + responder_public)
    return ck, h


def tai64n(unix_time: float | None = None) -> bytes:
    """TAI64N as WireGuard sends it: big-endian seconds label, then nanoseconds."""
    if unix_time is None:
        unix_time = time.time()
    seconds = int(unix_time)
    nanoseconds = int(round((unix_time - seconds) * 1e9)) % 1000000000
    return struct.pack(">QI", _TAI64_EPOCH + seconds, nanoseconds)


def mac1_key(public: bytes) -> bytes:
    return wg_crypto.hash_(LABEL_MAC1 + public)


def cookie_key(public: bytes) -> bytes:
    return wg_crypto.hash_(LABEL_COOKIE + public)


def message_type(data: bytes) -> int | None:
    """The type of a WireGuard message (type byte, then three zero bytes), or None."""
    if len(data) < 4 or data[1:4] != b"\x00\x00\x00":
        return None
    return data[0]


class Initiator:
    """One probe's handshake state: build initiations, judge what comes back.

    `ephemeral_private`, `timestamp` and `sender_index` are injectable so unit
    tests can pin every byte; a real probe leaves them to randomness and the clock.
    A fresh ephemeral key and timestamp are used for every initiation, because the
    responder drops a timestamp it has already seen from this static key.
    """

    def __init__(self, static_private: bytes, responder_public: bytes, preshared_key: bytes | None = None,
                 sender_index: int | None = None) -> None:
        self._static_private = static_private
        self.static_public = wg_crypto.x25519_base(static_private)
        self.responder_public = responder_public
        self._preshared_key = preshared_key or b"\x00" * 32
        if sender_index is None:
            sender_index = struct.unpack("<I", os.urandom(4))[0]
        self.sender_index = sender_index
        self._cookie = None  # type: bytes | None
        self._sent = None  # type: dict | None

    @property
    def last_mac1(self) -> bytes | None:
        return self._sent["mac1"] if self._sent else None

    def create_initiation(self, ephemeral_private: bytes | None = None, timestamp: bytes | None = None) -> bytes:
        """The 148-byte handshake initiation; mac2 is zero unless a cookie reply was consumed."""
        if ephemeral_private is None:
            ephemeral_private = wg_crypto.clamp_private_key(os.urandom(32))
        if timestamp is None:
            timestamp = tai64n()
        ck, h = initial_chain(self.responder_public)
        ephemeral_public = wg_crypto.x25519_base(ephemeral_private)
        ck = wg_crypto.kdf(ck, ephemeral_public, 1)[0]
        h = wg_crypto.hash_(h + ephemeral_public)
        ck, key = wg_crypto.kdf(ck, wg_crypto.x25519(ephemeral_private, self.responder_public), 2)
        encrypted_static = wg_crypto.aead_encrypt(key, 0, self.static_public, h)
        h = wg_crypto.hash_(h + encrypted_static)
        ck, key = wg_crypto.kdf(ck, wg_crypto.x25519(self._static_private, self.responder_public), 2)
        encrypted_timestamp = wg_crypto.aead_encrypt(key, 0, timestamp, h)
        h = wg_crypto.hash_(h + encrypted_timestamp)

        body = struct.pack("<B3xI", MESSAGE_INITIATION, self.sender_index) + ephemeral_public + encrypted_static + encrypted_timestamp
        mac1 = wg_crypto.mac(mac1_key(self.responder_public), body)
        mac2 = wg_crypto.mac(self._cookie, body + mac1) if self._cookie else b"\x00" * 16
        self._sent = {"ck": ck, "h": h, "ephemeral_private": ephemeral_private, "mac1": mac1}
        return body + mac1 + mac2

    def consume_response(self, data: bytes) -> str:
        """`ok` when the response decrypts, `auth_failed` when its MAC proves it is for us but it does
        not decrypt (the preshared keys differ). NoiseError when it is not an answer to us at all."""
        if self._sent is None:
            raise NoiseError("no initiation was sent")
        if len(data) != RESPONSE_LEN or message_type(data) != MESSAGE_RESPONSE:
            raise NoiseError("not a handshake response (%d bytes)" % len(data))
        _sender, receiver = struct.unpack("<II", data[4:12])
        if receiver != self.sender_index:
            raise NoiseError("response is for another handshake (receiver index %d)" % receiver)
        expected_mac1 = wg_crypto.mac(mac1_key(self.static_public), data[:_RESPONSE_MAC1_AT])
        if not _equal(expected_mac1, data[_RESPONSE_MAC1_AT:_RESPONSE_MAC1_AT + 16]):
            raise NoiseError("response mac1 does not verify against our static key")
        return OUTCOME_OK if self._decrypts(data[12:44], data[44:60]) else OUTCOME_AUTH_FAILED

    def _decrypts(self, responder_ephemeral: bytes, encrypted_nothing: bytes) -> bool:
        ck, h = self._sent["ck"], self._sent["h"]
        ck = wg_crypto.kdf(ck, responder_ephemeral, 1)[0]
        h = wg_crypto.hash_(h + responder_ephemeral)
        try:
            ck = wg_crypto.kdf(ck, wg_crypto.x25519(self._sent["ephemeral_private"], responder_ephemeral), 1)[0]
            ck = wg_crypto.kdf(ck, wg_crypto.x25519(self._static_private, responder_ephemeral), 1)[0]
        except ValueError:
            return False  # a low-order point: no honest responder sends it
        ck, tau, key = wg_crypto.kdf(ck, self._preshared_key, 3)
        h = wg_crypto.hash_(h + tau)
        try:
            wg_crypto.aead_decrypt(key, 0, encrypted_nothing, h)
        except wg_crypto.AEADError:
            return False
        return True

    def consume_cookie_reply(self, data: bytes) -> bytes:
        """Decrypt the cookie (XChaCha20-Poly1305, AD = the mac1 we sent) so the next initiation carries mac2."""
        if self._sent is None:
            raise NoiseError("no initiation was sent")
        if len(data) != COOKIE_REPLY_LEN or message_type(data) != MESSAGE_COOKIE_REPLY:
            raise NoiseError("not a cookie reply (%d bytes)" % len(data))
        receiver = struct.unpack("<I", data[4:8])[0]
        if receiver != self.sender_index:
            raise NoiseError("cookie reply is for another handshake (receiver index %d)" % receiver)
        try:
            cookie = wg_crypto.xchacha20poly1305_decrypt(cookie_key(self.responder_public), data[8:32], data[32:64],
                                                         self._sent["mac1"])
        except wg_crypto.AEADError:
            raise NoiseError("cookie reply does not decrypt with our mac1 and the responder key") from None
        self._cookie = cookie
        return cookie


def _equal(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(a, b)
