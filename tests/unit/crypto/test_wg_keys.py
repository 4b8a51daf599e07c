# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Keys as `wg` prints them, and errors that never repeat the key they were handed."""
from __future__ import annotations

import ast
import base64
import os
import shutil
import subprocess

import pytest

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard import crypto as wg_crypto
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard import keys as wg_keys
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard.derive import generate_private_key, public_key_from_private
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard.keys import (
    KeyFormatError, decode_key, is_valid_key, key_problem, preshared_key_digest,
)

# RFC 7748 section 6.1: Alice's private key and the public key it yields.
ALICE_PRIVATE = base64.b64encode(bytes.fromhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")).decode()
ALICE_PUBLIC = base64.b64encode(bytes.fromhex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")).decode()


@pytest.fixture(params=wg_crypto.available_backends())
def backend(request):
    wg_crypto.force_backend(request.param)
    yield request.param
    wg_crypto.force_backend(None)


def test_public_key_matches_rfc7748_on_every_backend(backend):
    assert public_key_from_private(ALICE_PRIVATE) == ALICE_PUBLIC


@pytest.mark.skipif(shutil.which("wg") is None, reason="wireguard-tools not installed")
def test_public_key_agrees_with_wg_pubkey(backend):
    private = generate_private_key()
    wg = subprocess.run(["wg", "pubkey"], input=private, capture_output=True, text=True, check=True)
    assert public_key_from_private(private) == wg.stdout.strip()


def test_generated_key_is_clamped_like_wg_genkey():
    raw = decode_key(generate_private_key())
    assert raw[0] & 7 == 0
    assert raw[31] & 0x80 == 0 and raw[31] & 0x40


def test_key_read_from_a_file_with_trailing_newline_is_accepted():
    assert decode_key(ALICE_PUBLIC + "\n") == base64.b64decode(ALICE_PUBLIC)


@pytest.mark.parametrize("text, reason", [
    ("not a key at all!", "not base64"),
    ("", "decodes to 0 bytes, expected 32"),
    (base64.b64encode(b"\x01" * 31).decode(), "decodes to 31 bytes, expected 32"),
    (base64.b64encode(b"\x01" * 33).decode(), "decodes to 33 bytes, expected 32"),
    (ALICE_PRIVATE[:-2], "not base64"),
])
def test_malformed_key_is_named_by_its_shape(text, reason):
    with pytest.raises(KeyFormatError) as info:
        decode_key(text)
    assert str(info.value) == reason
    assert not is_valid_key(text)


def test_error_for_a_mangled_private_key_does_not_contain_it():
    mangled = ALICE_PRIVATE[:20] + "*" + ALICE_PRIVATE[21:]
    with pytest.raises(KeyFormatError) as info:
        public_key_from_private(mangled)
    rendered = repr(info.value) + str(info.value) + repr(info.value.__cause__) + repr(info.value.__context__)
    assert ALICE_PRIVATE[:20] not in rendered
    assert info.value.__cause__ is None


def test_preshared_key_digest_is_stable_and_hides_the_key():
    psk = base64.b64encode(bytes(range(32))).decode()
    digest = preshared_key_digest(psk)
    assert digest == preshared_key_digest(psk + "\n")
    assert len(digest) == 16 and int(digest, 16) >= 0
    assert digest not in psk and psk not in digest
    other = base64.b64encode(bytes(range(1, 33))).decode()
    assert preshared_key_digest(other) != digest


def test_preshared_key_digest_is_hmac_sha256_with_the_contract_label():
    import hashlib
    import hmac
    psk_raw = b"\x42" * 32
    expected = hmac.new(b"wgdoctor-psk-digest-v1", psk_raw, hashlib.sha256).hexdigest()[:16]
    assert preshared_key_digest(base64.b64encode(psk_raw).decode()) == expected


def test_a_key_as_wg_prints_it_has_no_problem():
    assert key_problem(ALICE_PUBLIC) is None and key_problem(ALICE_PRIVATE) is None


@pytest.mark.parametrize("text, reason", [
    ("not a key at all!", "not base64"),
    (None, "not base64"),
    ("c2hvcnQ=", "decodes to 5 bytes, expected 32"),
    (ALICE_PUBLIC[:-2] + "==", "decodes to 31 bytes, expected 32"),
    # wg's key_from_base64 refuses what b64decode forgives: stray bits in the last group, text around the key.
    (ALICE_PUBLIC[:42] + chr(ord(ALICE_PUBLIC[42]) + 1) + "=", "not in the form wg prints (44 characters ending in '=')"),
    (ALICE_PUBLIC + "\n", "not in the form wg prints (44 characters ending in '=')"),
    (ALICE_PUBLIC.encode(), "not in the form wg prints (44 characters ending in '=')"),
])
def test_key_problem_is_wg_key_from_base64_and_never_quotes_the_key(text, reason):
    assert key_problem(text) == reason
    assert not isinstance(text, str) or text.strip()[:20] not in reason


def test_stray_bits_pass_the_lenient_check_but_not_the_wg_one():
    stray = ALICE_PUBLIC[:42] + chr(ord(ALICE_PUBLIC[42]) + 1) + "="
    assert is_valid_key(stray) and key_problem(stray) is not None


def test_key_validation_and_the_digest_need_no_curve():
    # keys.py ships with every module that reads a config: the X25519 code must not come along with it.
    with open(wg_keys.__file__) as handle:
        tree = ast.parse(handle.read())
    imported = [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    imported += [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    assert [name for name in imported if name.startswith("ansible_collections")] == [], os.path.basename(wg_keys.__file__)
