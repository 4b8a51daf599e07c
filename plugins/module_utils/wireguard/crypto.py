# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The primitives of Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s, with a backend chosen at run time.

Order of preference: PyNaCl (libsodium), then `cryptography` (OpenSSL), then
pure Python. The pure-Python X25519 and ChaCha20-Poly1305 are NOT constant-time:
timing can leak key bits to someone measuring the process. They exist so a probe
can run on a target that has neither library, and must only ever handle the
ephemeral keys a probe makes for one run, never a tunnel's long-term key.

BLAKE2s comes from hashlib everywhere (always available since Python 3.6).
"""
from __future__ import annotations

import hashlib
import hmac as _hmac
import struct

try:
    import nacl.bindings as _nacl
    import nacl.exceptions as _nacl_exc
    HAS_PYNACL = True
except ImportError:  # pragma: no cover - depends on the target
    HAS_PYNACL = False

try:
    from cryptography.exceptions import InvalidTag as _InvalidTag
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey as _X25519Private
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey as _X25519Public
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305 as _ChaCha20Poly1305
    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover - depends on the target
    HAS_CRYPTOGRAPHY = False

BACKENDS = ("pynacl", "cryptography", "pure")
KEY_LEN = 32
TAG_LEN = 16


class AEADError(ValueError):
    """The ciphertext did not authenticate: wrong key, wrong AD or tampered data."""


class BackendUnavailable(RuntimeError):
    """A forced backend is not installed on this host."""


# ---------------------------------------------------------------- pure Python
_P = 2 ** 255 - 19
_A24 = 121665
_MASK32 = 0xFFFFFFFF


def _clamp(scalar: bytes) -> int:
    k = bytearray(scalar)
    k[0] &= 248
    k[31] &= 127
    k[31] |= 64
    return int.from_bytes(bytes(k), "little")


def _pure_x25519(scalar: bytes, u_bytes: bytes) -> bytes:
    """RFC 7748 section 5 Montgomery ladder (branches on key bits: not constant-time)."""
    k = _clamp(scalar)
    u = int.from_bytes(u_bytes, "little") & ((1 << 255) - 1)
    x_1, x_2, z_2, x_3, z_3 = u, 1, 0, u, 1
    swap = 0
    for t in range(254, -1, -1):
        k_t = (k >> t) & 1
        swap ^= k_t
        if swap:
            x_2, x_3 = x_3, x_2
            z_2, z_3 = z_3, z_2
        swap = k_t
        a = (x_2 + z_2) % _P
        aa = a * a % _P
        b = (x_2 - z_2) % _P
        bb = b * b % _P
        e = (aa - bb) % _P
        c = (x_3 + z_3) % _P
        d = (x_3 - z_3) % _P
        da = d * a % _P
        cb = c * b % _P
        x_3 = (da + cb) * (da + cb) % _P
        z_3 = x_1 * (da - cb) * (da - cb) % _P
        x_2 = aa * bb % _P
        z_2 = e * (aa + _A24 * e) % _P
    if swap:
        x_2, z_2 = x_3, z_3
    return (x_2 * pow(z_2, _P - 2, _P) % _P).to_bytes(32, "little")


def _rotl32(v: int, c: int) -> int:
    return ((v << c) & _MASK32) | (v >> (32 - c))


def _quarter_round(s: list, a: int, b: int, c: int, d: int) -> None:
    s[a] = (s[a] + s[b]) & _MASK32
    s[d] = _rotl32(s[d] ^ s[a], 16)
    s[c] = (s[c] + s[d]) & _MASK32
    s[b] = _rotl32(s[b] ^ s[c], 12)
    s[a] = (s[a] + s[b]) & _MASK32
    s[d] = _rotl32(s[d] ^ s[a], 8)
    s[c] = (s[c] + s[d]) & _MASK32
    s[b] = _rotl32(s[b] ^ s[c], 7)


def _chacha_rounds(state: list) -> list:
    s = list(state)
    for _double_round in range(10):
        _quarter_round(s, 0, 4, 8, 12)
        _quarter_round(s, 1, 5, 9, 13)
        _quarter_round(s, 2, 6, 10, 14)
        _quarter_round(s, 3, 7, 11, 15)
        _quarter_round(s, 0, 5, 10, 15)
        _quarter_round(s, 1, 6, 11, 12)
        _quarter_round(s, 2, 7, 8, 13)
        _quarter_round(s, 3, 4, 9, 14)
    return s


_SIGMA = struct.unpack("<4I", b"expand 32-byte k")


def _chacha20_block(key: bytes, counter: int, nonce: bytes) -> bytes:
    state = list(_SIGMA) + list(struct.unpack("<8I", key)) + [counter & _MASK32] + list(struct.unpack("<3I", nonce))
    mixed = _chacha_rounds(state)
    return struct.pack("<16I", *[(mixed[i] + state[i]) & _MASK32 for i in range(16)])


def _chacha20_xor(key: bytes, counter: int, nonce: bytes, data: bytes) -> bytes:
    out = bytearray()
    for offset in range(0, len(data), 64):
        block = _chacha20_block(key, counter + offset // 64, nonce)
        chunk = data[offset:offset + 64]
        out += bytes(x ^ y for x, y in zip(chunk, block))
    return bytes(out)


def hchacha20(key: bytes, nonce16: bytes) -> bytes:
    """HChaCha20 (draft-irtf-cfrg-xchacha section 2.2): derives XChaCha20's subkey."""
    state = list(_SIGMA) + list(struct.unpack("<8I", key)) + list(struct.unpack("<4I", nonce16))
    s = _chacha_rounds(state)
    return struct.pack("<8I", *(s[0:4] + s[12:16]))


def _poly1305(key: bytes, msg: bytes) -> bytes:
    r = int.from_bytes(key[:16], "little") & 0x0ffffffc0ffffffc0ffffffc0fffffff
    s = int.from_bytes(key[16:], "little")
    p = (1 << 130) - 5
    acc = 0
    for i in range(0, len(msg), 16):
        block = msg[i:i + 16] + b"\x01"
        acc = (acc + int.from_bytes(block, "little")) * r % p
    return ((acc + s) & ((1 << 128) - 1)).to_bytes(16, "little")


def _pad16(data: bytes) -> bytes:
    return b"\x00" * (-len(data) % 16)


def _poly_tag(key: bytes, nonce: bytes, ad: bytes, ciphertext: bytes) -> bytes:
    otk = _chacha20_block(key, 0, nonce)[:32]
    mac_data = ad + _pad16(ad) + ciphertext + _pad16(ciphertext) + struct.pack("<QQ", len(ad), len(ciphertext))
    return _poly1305(otk, mac_data)


def _pure_aead_encrypt(key: bytes, nonce: bytes, plaintext: bytes, ad: bytes) -> bytes:
    ciphertext = _chacha20_xor(key, 1, nonce, plaintext)
    return ciphertext + _poly_tag(key, nonce, ad, ciphertext)


def _pure_aead_decrypt(key: bytes, nonce: bytes, sealed: bytes, ad: bytes) -> bytes:
    if len(sealed) < TAG_LEN:
        raise AEADError("ciphertext shorter than its tag")
    ciphertext, tag = sealed[:-TAG_LEN], sealed[-TAG_LEN:]
    if not _hmac.compare_digest(tag, _poly_tag(key, nonce, ad, ciphertext)):
        raise AEADError("authentication failed")
    return _chacha20_xor(key, 1, nonce, ciphertext)


# ------------------------------------------------------------------ PyNaCl
def _nacl_x25519(scalar: bytes, u_bytes: bytes) -> bytes:
    # libsodium refuses a low-order point (all-zero result); WireGuard treats that as failure too.
    try:
        return _nacl.crypto_scalarmult(scalar, u_bytes)
    except _nacl_exc.RuntimeError as exc:
        raise ValueError("X25519 produced the all-zero shared secret") from exc


def _nacl_aead_encrypt(key: bytes, nonce: bytes, plaintext: bytes, ad: bytes) -> bytes:
    return _nacl.crypto_aead_chacha20poly1305_ietf_encrypt(plaintext, ad, nonce, key)


def _nacl_aead_decrypt(key: bytes, nonce: bytes, sealed: bytes, ad: bytes) -> bytes:
    try:
        return _nacl.crypto_aead_chacha20poly1305_ietf_decrypt(sealed, ad, nonce, key)
    except _nacl_exc.CryptoError as exc:
        raise AEADError("authentication failed") from exc


# ------------------------------------------------------------ cryptography
def _cg_x25519(scalar: bytes, u_bytes: bytes) -> bytes:
    return _X25519Private.from_private_bytes(scalar).exchange(_X25519Public.from_public_bytes(u_bytes))


def _cg_aead_encrypt(key: bytes, nonce: bytes, plaintext: bytes, ad: bytes) -> bytes:
    return _ChaCha20Poly1305(key).encrypt(nonce, plaintext, ad)


def _cg_aead_decrypt(key: bytes, nonce: bytes, sealed: bytes, ad: bytes) -> bytes:
    try:
        return _ChaCha20Poly1305(key).decrypt(nonce, sealed, ad)
    except _InvalidTag as exc:
        raise AEADError("authentication failed") from exc


_IMPLEMENTATIONS = {
    "pynacl": (_nacl_x25519, _nacl_aead_encrypt, _nacl_aead_decrypt),
    "cryptography": (_cg_x25519, _cg_aead_encrypt, _cg_aead_decrypt),
    "pure": (_pure_x25519, _pure_aead_encrypt, _pure_aead_decrypt),
}

_forced = None  # type: str | None


def available_backends() -> list:
    """The backends importable here, best first."""
    found = []
    if HAS_PYNACL:
        found.append("pynacl")
    if HAS_CRYPTOGRAPHY:
        found.append("cryptography")
    found.append("pure")
    return found


def force_backend(name: str | None) -> None:
    """Pin one backend (tests, benchmarks); None returns to automatic choice."""
    global _forced  # pylint: disable=global-statement
    if name is not None:
        if name not in BACKENDS:
            raise ValueError("unknown crypto backend %r (one of %s)" % (name, ", ".join(BACKENDS)))
        if name not in available_backends():
            raise BackendUnavailable("crypto backend %s is not installed on this host" % name)
    _forced = name


def backend_name() -> str:
    """The backend the primitives below use right now."""
    return _forced or available_backends()[0]


def _impl() -> tuple:
    return _IMPLEMENTATIONS[backend_name()]


# ---------------------------------------------------------------- public API
def x25519(private: bytes, public: bytes) -> bytes:
    """X25519(private, public); the private scalar is clamped as RFC 7748 says."""
    _check_len("private key", private, KEY_LEN)
    _check_len("public key", public, KEY_LEN)
    return _impl()[0](private, public)


def x25519_base(private: bytes) -> bytes:
    """The public key of a private key."""
    return x25519(private, b"\x09" + b"\x00" * 31)


def clamp_private_key(private: bytes) -> bytes:
    """What `wg genkey` stores: the scalar already clamped."""
    return _clamp(private).to_bytes(32, "little")


def aead_nonce(counter: int) -> bytes:
    """WireGuard's nonce: 4 zero bytes then the 64-bit little-endian counter."""
    return b"\x00" * 4 + struct.pack("<Q", counter)


def aead_encrypt(key: bytes, counter: int, plaintext: bytes, ad: bytes) -> bytes:
    return chacha20poly1305_encrypt(key, aead_nonce(counter), plaintext, ad)


def aead_decrypt(key: bytes, counter: int, sealed: bytes, ad: bytes) -> bytes:
    return chacha20poly1305_decrypt(key, aead_nonce(counter), sealed, ad)


def chacha20poly1305_encrypt(key: bytes, nonce: bytes, plaintext: bytes, ad: bytes) -> bytes:
    """RFC 8439 AEAD with a 12-byte nonce; returns ciphertext || tag."""
    _check_len("key", key, KEY_LEN)
    _check_len("nonce", nonce, 12)
    return _impl()[1](key, nonce, plaintext, ad)


def chacha20poly1305_decrypt(key: bytes, nonce: bytes, sealed: bytes, ad: bytes) -> bytes:
    """RFC 8439 AEAD open; raises AEADError when it does not authenticate."""
    _check_len("key", key, KEY_LEN)
    _check_len("nonce", nonce, 12)
    return _impl()[2](key, nonce, sealed, ad)


def _xchacha_parts(key: bytes, nonce: bytes) -> tuple:
    _check_len("key", key, KEY_LEN)
    _check_len("nonce", nonce, 24)
    return hchacha20(key, nonce[:16]), b"\x00" * 4 + nonce[16:]


def xchacha20poly1305_encrypt(key: bytes, nonce: bytes, plaintext: bytes, ad: bytes) -> bytes:
    """XChaCha20-Poly1305: HChaCha20 subkey, then the RFC 8439 AEAD (used by the cookie reply)."""
    subkey, subnonce = _xchacha_parts(key, nonce)
    return _impl()[1](subkey, subnonce, plaintext, ad)


def xchacha20poly1305_decrypt(key: bytes, nonce: bytes, sealed: bytes, ad: bytes) -> bytes:
    subkey, subnonce = _xchacha_parts(key, nonce)
    return _impl()[2](subkey, subnonce, sealed, ad)


def hash_(data: bytes) -> bytes:
    """HASH: BLAKE2s-256."""
    return hashlib.blake2s(data).digest()


def mac(key: bytes, data: bytes) -> bytes:
    """MAC: keyed BLAKE2s-128 (mac1, mac2, the cookie)."""
    return hashlib.blake2s(data, digest_size=16, key=key).digest()


def hmac_blake2s(key: bytes, data: bytes) -> bytes:
    """HMAC per RFC 2104 over BLAKE2s-256 (not keyed BLAKE2s: WireGuard's KDF needs this one)."""
    return _hmac.new(key, data, hashlib.blake2s).digest()


def kdf(key: bytes, data: bytes, count: int) -> tuple:
    """WireGuard's KDF1/KDF2/KDF3: HKDF with HMAC-BLAKE2s, returning `count` 32-byte outputs."""
    prk = hmac_blake2s(key, data)
    outputs = []
    previous = b""
    for i in range(1, count + 1):
        previous = hmac_blake2s(prk, previous + bytes([i]))
        outputs.append(previous)
    return tuple(outputs)


def _check_len(what: str, value: bytes, expected: int) -> None:
    if not isinstance(value, (bytes, bytearray)) or len(value) != expected:
        raise ValueError("%s must be %d bytes" % (what, expected))
