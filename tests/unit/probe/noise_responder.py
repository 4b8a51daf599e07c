# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A WireGuard responder written from the paper, for tests and the benchmark only.

It is the other side of wg_noise.Initiator, built independently from the
responder's equations (WireGuard paper 5.4.2/5.4.3/5.4.7), so a bug in the
initiator's chain shows up as a failed decryption here rather than being
mirrored.
"""
from __future__ import annotations

import os
import socket
import struct
import threading

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard import crypto as wg_crypto
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard.noise import (
    COOKIE_REPLY_LEN, INITIATION_LEN, cookie_key, initial_chain, mac1_key,
)


class Responder:
    """Decides what a responder with `peers` (static public -> preshared key) answers to an initiation."""

    def __init__(self, static_private: bytes, peers: dict, under_load: bool = False, always_cookie: bool = False) -> None:
        self.static_private = static_private
        self.static_public = wg_crypto.x25519_base(static_private)
        self.peers = dict(peers)
        self.under_load = under_load
        self.always_cookie = always_cookie
        self.cookie_secret = os.urandom(32)
        self.last_timestamp = {}
        self.seen = []  # what each initiation decrypted to, for assertions

    def cookie_for(self, source: tuple) -> bytes:
        address = socket.inet_pton(socket.AF_INET6 if ":" in source[0] else socket.AF_INET, source[0])
        return wg_crypto.mac(self.cookie_secret, address + struct.pack(">H", source[1]))

    def answer(self, data: bytes, source: tuple = ("127.0.0.1", 1)) -> tuple:
        """('response' | 'cookie', bytes) or ('drop', reason) - what wireguard-go would do."""
        if len(data) != INITIATION_LEN or data[0:4] != b"\x01\x00\x00\x00":
            return "drop", "not an initiation"
        if wg_crypto.mac(mac1_key(self.static_public), data[:116]) != data[116:132]:
            return "drop", "invalid mac1"
        if self.always_cookie or (self.under_load and wg_crypto.mac(self.cookie_for(source), data[:132]) != data[132:148]):
            return "cookie", self.cookie_reply(data, source)
        return self._consume(data)

    def cookie_reply(self, initiation: bytes, source: tuple) -> bytes:
        nonce = os.urandom(24)
        sealed = wg_crypto.xchacha20poly1305_encrypt(cookie_key(self.static_public), nonce, self.cookie_for(source),
                                                     initiation[116:132])
        reply = struct.pack("<B3x", 3) + initiation[4:8] + nonce + sealed
        assert len(reply) == COOKIE_REPLY_LEN
        return reply

    def _consume(self, data: bytes) -> tuple:
        ck, h = initial_chain(self.static_public)
        ephemeral_i = data[8:40]
        ck = wg_crypto.kdf(ck, ephemeral_i, 1)[0]
        h = wg_crypto.hash_(h + ephemeral_i)
        ck, key = wg_crypto.kdf(ck, wg_crypto.x25519(self.static_private, ephemeral_i), 2)
        try:
            static_i = wg_crypto.aead_decrypt(key, 0, data[40:88], h)
        except wg_crypto.AEADError:
            return "drop", "static does not decrypt"
        h = wg_crypto.hash_(h + data[40:88])
        ck, key = wg_crypto.kdf(ck, wg_crypto.x25519(self.static_private, static_i), 2)
        try:
            timestamp = wg_crypto.aead_decrypt(key, 0, data[88:116], h)
        except wg_crypto.AEADError:
            return "drop", "timestamp does not decrypt"
        h = wg_crypto.hash_(h + data[88:116])
        if static_i not in self.peers:
            return "drop", "unknown peer"
        if timestamp <= self.last_timestamp.get(static_i, b""):
            return "drop", "replayed timestamp"
        self.last_timestamp[static_i] = timestamp
        self.seen.append({"static": static_i, "timestamp": timestamp, "sender_index": struct.unpack("<I", data[4:8])[0]})
        return "response", self._response(ck, h, ephemeral_i, static_i, data[4:8])

    def _response(self, ck: bytes, h: bytes, ephemeral_i: bytes, static_i: bytes, initiator_index: bytes) -> bytes:
        ephemeral_private = wg_crypto.clamp_private_key(os.urandom(32))
        ephemeral_r = wg_crypto.x25519_base(ephemeral_private)
        ck = wg_crypto.kdf(ck, ephemeral_r, 1)[0]
        h = wg_crypto.hash_(h + ephemeral_r)
        ck = wg_crypto.kdf(ck, wg_crypto.x25519(ephemeral_private, ephemeral_i), 1)[0]
        ck = wg_crypto.kdf(ck, wg_crypto.x25519(ephemeral_private, static_i), 1)[0]
        ck, tau, key = wg_crypto.kdf(ck, self.peers[static_i] or b"\x00" * 32, 3)
        h = wg_crypto.hash_(h + tau)
        empty = wg_crypto.aead_encrypt(key, 0, b"", h)
        body = struct.pack("<B3xI", 2, 0x5EED) + initiator_index + ephemeral_r + empty
        return body + wg_crypto.mac(mac1_key(static_i), body) + b"\x00" * 16


class UDPResponder:
    """A Responder on a real UDP socket in a thread: `with UDPResponder(r) as port: ...`."""

    def __init__(self, responder: Responder, host: str = "127.0.0.1") -> None:
        self.responder = responder
        self.sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.received = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, source = self.sock.recvfrom(2048)
            except socket.timeout:
                continue
            except OSError:
                return
            self.received.append(data)
            verdict, payload = self.responder.answer(data, source[:2])
            if verdict != "drop":
                self.sock.sendto(payload, source)

    def __enter__(self) -> int:
        self._thread.start()
        return self.port

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(1)
        self.sock.close()
