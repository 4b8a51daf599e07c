# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The probe's handshake messages, byte for byte, and both directions of the conversation.

The golden initiation below was built by wg_noise with pinned keys, ephemeral,
timestamp and sender index; initiations from the same code were answered by the
real wireguard-go 0.0.20220316 (see the probe report), so a change to these
bytes means the probe stopped speaking WireGuard.
"""
from __future__ import annotations

import struct

import pytest

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard import crypto as wg_crypto
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard import noise as wg_noise
from noise_responder import Responder

INITIATOR_PRIVATE = bytes([0x11] * 32)
RESPONDER_PRIVATE = bytes([0x22] * 32)
RESPONDER_PUBLIC = wg_crypto.x25519_base(RESPONDER_PRIVATE)
PSK = bytes([0x33] * 32)
EPHEMERAL = bytes([0x44] * 32)
TIMESTAMP = wg_noise.tai64n(1764085000.5)
GOLDEN_INITIATION = bytes.fromhex(
    "0100000004030201ff2ee45601ec1b67310c7790404585ae697331eee1c1f8cf2419731c1fff3e6b3b6f1324884f7dfcb616f14"
    "40bce015ad114bc97a5052c5972a42150ca66244ee95bf0cd2c60d3d9addef329768c8c110ed41251d8a0eb6137d3cd318d035c"
    "e95e547105518223723057ba2c9a4cbc4bb3372c055984850bc59d7f6400000000000000000000000000000000")


@pytest.fixture(params=wg_crypto.available_backends())
def backend(request):
    wg_crypto.force_backend(request.param)
    yield request.param
    wg_crypto.force_backend(None)


def _initiator(psk=PSK):
    return wg_noise.Initiator(INITIATOR_PRIVATE, RESPONDER_PUBLIC, psk, sender_index=0x01020304)


def test_tai64n_is_big_endian_label_plus_nanoseconds():
    assert wg_noise.tai64n(1764085000.5) == struct.pack(">QI", 0x400000000000000A + 1764085000, 500000000)


def test_initiation_bytes_are_pinned_on_every_backend(backend):
    message = _initiator().create_initiation(ephemeral_private=EPHEMERAL, timestamp=TIMESTAMP)
    assert message == GOLDEN_INITIATION


def test_initiation_layout_type_index_ephemeral_and_zero_mac2():
    message = _initiator().create_initiation(ephemeral_private=EPHEMERAL, timestamp=TIMESTAMP)
    assert len(message) == 148
    assert message[:4] == b"\x01\x00\x00\x00"
    assert struct.unpack("<I", message[4:8])[0] == 0x01020304
    assert message[8:40] == wg_crypto.x25519_base(EPHEMERAL)
    assert message[132:] == b"\x00" * 16


def test_mac1_covers_bytes_0_to_115_keyed_with_the_responder_key():
    message = _initiator().create_initiation(ephemeral_private=EPHEMERAL, timestamp=TIMESTAMP)
    key = wg_crypto.hash_(b"mac1----" + RESPONDER_PUBLIC)
    assert message[116:132] == wg_crypto.mac(key, message[:116])
    wrong_key = wg_crypto.hash_(b"mac1----" + wg_crypto.x25519_base(b"\x55" * 32))
    assert message[116:132] != wg_crypto.mac(wrong_key, message[:116])


def test_responder_decrypts_our_static_key_and_timestamp(backend):
    responder = Responder(RESPONDER_PRIVATE, {wg_crypto.x25519_base(INITIATOR_PRIVATE): PSK})
    verdict, _response = responder.answer(_initiator().create_initiation(ephemeral_private=EPHEMERAL, timestamp=TIMESTAMP))
    assert verdict == "response"
    assert responder.seen[0]["static"] == wg_crypto.x25519_base(INITIATOR_PRIVATE)
    assert responder.seen[0]["timestamp"] == TIMESTAMP
    assert responder.seen[0]["sender_index"] == 0x01020304


def test_response_from_a_responder_with_the_same_psk_is_ok(backend):
    initiator = _initiator()
    responder = Responder(RESPONDER_PRIVATE, {initiator.static_public: PSK})
    verdict, response = responder.answer(initiator.create_initiation())
    assert verdict == "response" and len(response) == 92
    assert initiator.consume_response(response) == "ok"


def test_response_with_a_different_psk_is_auth_failed(backend):
    initiator = _initiator(psk=b"\x99" * 32)
    responder = Responder(RESPONDER_PRIVATE, {initiator.static_public: PSK})
    _verdict, response = responder.answer(initiator.create_initiation())
    assert initiator.consume_response(response) == "auth_failed"


def test_no_psk_on_either_side_is_ok():
    initiator = _initiator(psk=None)
    responder = Responder(RESPONDER_PRIVATE, {initiator.static_public: None})
    _verdict, response = responder.answer(initiator.create_initiation())
    assert initiator.consume_response(response) == "ok"


def test_psk_only_on_the_responder_is_auth_failed():
    initiator = _initiator(psk=None)
    responder = Responder(RESPONDER_PRIVATE, {initiator.static_public: PSK})
    _verdict, response = responder.answer(initiator.create_initiation())
    assert initiator.consume_response(response) == "auth_failed"


def test_wrong_responder_key_is_dropped_for_invalid_mac1():
    initiator = wg_noise.Initiator(INITIATOR_PRIVATE, wg_crypto.x25519_base(b"\x66" * 32), PSK)
    responder = Responder(RESPONDER_PRIVATE, {initiator.static_public: PSK})
    assert responder.answer(initiator.create_initiation()) == ("drop", "invalid mac1")


def test_unknown_initiator_and_replayed_timestamp_are_dropped():
    initiator = _initiator()
    stranger = Responder(RESPONDER_PRIVATE, {})
    assert stranger.answer(initiator.create_initiation()) == ("drop", "unknown peer")
    responder = Responder(RESPONDER_PRIVATE, {initiator.static_public: PSK})
    assert responder.answer(initiator.create_initiation(timestamp=TIMESTAMP))[0] == "response"
    assert responder.answer(initiator.create_initiation(timestamp=TIMESTAMP)) == ("drop", "replayed timestamp")


def test_response_for_another_sender_index_or_with_bad_mac1_is_not_ours():
    initiator = _initiator()
    responder = Responder(RESPONDER_PRIVATE, {initiator.static_public: PSK})
    _verdict, response = responder.answer(initiator.create_initiation())
    other_index = response[:8] + struct.pack("<I", 7) + response[12:]
    with pytest.raises(wg_noise.NoiseError):
        initiator.consume_response(other_index)
    bad_mac1 = response[:60] + bytes(16) + response[76:]
    with pytest.raises(wg_noise.NoiseError):
        initiator.consume_response(bad_mac1)
    with pytest.raises(wg_noise.NoiseError):
        initiator.consume_response(response[:91])


def test_cookie_reply_is_decrypted_and_the_next_initiation_carries_mac2(backend):
    initiator = _initiator()
    responder = Responder(RESPONDER_PRIVATE, {initiator.static_public: PSK}, under_load=True)
    source = ("127.0.0.1", 40000)
    verdict, reply = responder.answer(initiator.create_initiation(), source)
    assert verdict == "cookie" and len(reply) == 64
    assert initiator.consume_cookie_reply(reply) == responder.cookie_for(source)
    retry = initiator.create_initiation()
    assert retry[132:] == wg_crypto.mac(responder.cookie_for(source), retry[:132])
    verdict, response = responder.answer(retry, source)
    assert verdict == "response"
    assert initiator.consume_response(response) == "ok"


def test_cookie_reply_is_bound_to_the_mac1_we_sent():
    initiator = _initiator()
    responder = Responder(RESPONDER_PRIVATE, {initiator.static_public: PSK}, always_cookie=True)
    _verdict, reply = responder.answer(initiator.create_initiation())
    initiator.create_initiation()  # a newer initiation: the reply no longer matches our mac1
    with pytest.raises(wg_noise.NoiseError):
        initiator.consume_cookie_reply(reply)
