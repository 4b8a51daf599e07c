# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Published test vectors, run on every backend the probe may pick on a target.

A target without PyNaCl falls back to `cryptography`, one without either to pure
Python: each of the three must give the same bytes as the RFCs, or a probe from
that target would report `timeout` for a perfectly healthy tunnel.
"""
from __future__ import annotations

import hashlib

import pytest

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard import crypto as wg_crypto

H = bytes.fromhex
LADIES = (b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, "
          b"sunscreen would be it.")


@pytest.fixture(params=list(wg_crypto.BACKENDS))
def backend(request):
    if request.param not in wg_crypto.available_backends():
        pytest.skip("%s not installed" % request.param)
    wg_crypto.force_backend(request.param)
    yield request.param
    wg_crypto.force_backend(None)


def test_all_three_backends_are_exercised_here():
    # The suite is only meaningful if the fallbacks really ran: the venv must have both libraries.
    assert wg_crypto.available_backends() == ["pynacl", "cryptography", "pure"]


def test_forced_backend_is_reported(backend):
    assert wg_crypto.backend_name() == backend


def test_unknown_backend_is_refused():
    with pytest.raises(ValueError):
        wg_crypto.force_backend("openssl-cli")


# RFC 7748 section 5.2
@pytest.mark.parametrize("scalar, u, out", [
    ("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
     "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
     "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"),
    ("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
     "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
     "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"),
])
def test_x25519_rfc7748_function_vectors(backend, scalar, u, out):
    assert wg_crypto.x25519(H(scalar), H(u)) == H(out)


def test_x25519_rfc7748_iterated_1000_times(backend):
    k = u = H("09" + "00" * 31)
    for i in range(1000):
        k, u = wg_crypto.x25519(k, u), k
        if i == 0:
            assert k == H("422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079")
    assert k == H("684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51")


def test_x25519_rfc7748_diffie_hellman(backend):
    alice = H("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
    bob = H("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb")
    alice_pub = wg_crypto.x25519_base(alice)
    bob_pub = wg_crypto.x25519_base(bob)
    assert alice_pub == H("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
    assert bob_pub == H("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
    shared = H("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742")
    assert wg_crypto.x25519(alice, bob_pub) == shared
    assert wg_crypto.x25519(bob, alice_pub) == shared


# RFC 8439 section 2.8.2
AEAD_KEY = H("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f")
AEAD_AD = H("50515253c0c1c2c3c4c5c6c7")
AEAD_CIPHERTEXT = H(
    "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b"
    "1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
    "3ff4def08e4b7a9de576d26586cec64b6116")
AEAD_TAG = H("1ae10b594f09e26a7e902ecbd0600691")


def test_chacha20poly1305_rfc8439_seal(backend):
    nonce = H("070000004041424344454647")
    assert wg_crypto.chacha20poly1305_encrypt(AEAD_KEY, nonce, LADIES, AEAD_AD) == AEAD_CIPHERTEXT + AEAD_TAG


def test_chacha20poly1305_rfc8439_open_and_reject_tampering(backend):
    nonce = H("070000004041424344454647")
    assert wg_crypto.chacha20poly1305_decrypt(AEAD_KEY, nonce, AEAD_CIPHERTEXT + AEAD_TAG, AEAD_AD) == LADIES
    tampered = bytearray(AEAD_CIPHERTEXT + AEAD_TAG)
    tampered[3] ^= 1
    with pytest.raises(wg_crypto.AEADError):
        wg_crypto.chacha20poly1305_decrypt(AEAD_KEY, nonce, bytes(tampered), AEAD_AD)
    with pytest.raises(wg_crypto.AEADError):
        wg_crypto.chacha20poly1305_decrypt(AEAD_KEY, nonce, AEAD_CIPHERTEXT + AEAD_TAG, b"other ad")


def test_empty_plaintext_seals_to_a_bare_tag(backend):
    # The handshake response's payload is empty: only the tag proves the keys (and the PSK) match.
    sealed = wg_crypto.aead_encrypt(b"\x01" * 32, 0, b"", b"h" * 32)
    assert len(sealed) == 16
    assert wg_crypto.aead_decrypt(b"\x01" * 32, 0, sealed, b"h" * 32) == b""


def test_pure_chacha20_block_rfc8439_2_3_2():
    block = wg_crypto._chacha20_block(bytes(range(32)), 1, H("000000090000004a00000000"))
    assert block == H("10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e"
                      "d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e")


def test_pure_poly1305_rfc8439_2_5_2():
    key = H("85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b")
    assert wg_crypto._poly1305(key, b"Cryptographic Forum Research Group") == H("a8061dc1305136c6c22b8baf0c0127a9")


# draft-irtf-cfrg-xchacha-03, sections 2.2.1 and A.3.1
def test_hchacha20_draft_vector():
    subkey = wg_crypto.hchacha20(bytes(range(32)), H("000000090000004a0000000031415927"))
    assert subkey == H("82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc")


XNONCE = H("404142434445464748494a4b4c4d4e4f5051525354555657")
XCIPHERTEXT = H(
    "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4aa6440bf3a82f4eda7e39"
    "ae64c6708c54c216cb96b72e1213b4522f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9"
    "21f9664c97637da9768812f615c68b13b52e")
XTAG = H("c0875924c1c7987947deafd8780acf49")


def test_xchacha20poly1305_draft_vector(backend):
    assert wg_crypto.xchacha20poly1305_encrypt(AEAD_KEY, XNONCE, LADIES, AEAD_AD) == XCIPHERTEXT + XTAG
    assert wg_crypto.xchacha20poly1305_decrypt(AEAD_KEY, XNONCE, XCIPHERTEXT + XTAG, AEAD_AD) == LADIES


def test_xchacha20poly1305_agrees_with_libsodium():
    nacl_bindings = pytest.importorskip("nacl.bindings")
    key, nonce = bytes(range(32)), bytes(range(100, 124))
    ours = wg_crypto.xchacha20poly1305_encrypt(key, nonce, b"cookie-sized msg", b"mac1" * 4)
    assert ours == nacl_bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(b"cookie-sized msg", b"mac1" * 4, nonce, key)


# WIREGUARD.md: the construction hashes boringtun precomputes
def test_construction_hashes_match_boringtun():
    chaining_key = wg_crypto.hash_(b"Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s")
    assert chaining_key.hex().startswith("60e26daef327efc0")
    assert wg_crypto.hash_(chaining_key + b"WireGuard v1 zx2c4 Jason@zx2c4.com").hex().startswith("2211b361081ac566")


def _rfc2104_hmac(key: bytes, data: bytes) -> bytes:
    block = 64
    key = key.ljust(block, b"\x00") if len(key) <= block else hashlib.blake2s(key).digest().ljust(block, b"\x00")
    inner = hashlib.blake2s(bytes(k ^ 0x36 for k in key) + data).digest()
    return hashlib.blake2s(bytes(k ^ 0x5c for k in key) + inner).digest()


def test_hmac_is_rfc2104_over_blake2s_not_keyed_blake2s():
    key, data = b"k" * 32, b"some input"
    assert wg_crypto.hmac_blake2s(key, data) == _rfc2104_hmac(key, data)
    assert wg_crypto.hmac_blake2s(key, data) != hashlib.blake2s(data, key=key).digest()


def test_kdf_outputs_chain_like_wireguard_kdf3():
    ck, data = b"c" * 32, b"d" * 32
    t0 = _rfc2104_hmac(ck, data)
    t1 = _rfc2104_hmac(t0, b"\x01")
    t2 = _rfc2104_hmac(t0, t1 + b"\x02")
    t3 = _rfc2104_hmac(t0, t2 + b"\x03")
    assert wg_crypto.kdf(ck, data, 3) == (t1, t2, t3)
    assert wg_crypto.kdf(ck, data, 1) == (t1,)


def test_mac_is_keyed_blake2s_128():
    assert wg_crypto.mac(b"k" * 32, b"x") == hashlib.blake2s(b"x", digest_size=16, key=b"k" * 32).digest()
    assert len(wg_crypto.mac(b"k" * 32, b"x")) == 16
