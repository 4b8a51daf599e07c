# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""udp_probe as Ansible runs it: bad input fails clearly, and no key ever leaves the module.

Exits are caught before Ansible's no_log masking (module_harness): a leaked key is seen.
"""
from __future__ import annotations

import base64
import json
import os
import subprocess
import sys

import pytest

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard import crypto as wg_crypto
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard import keys as wg_keys
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard.derive import generate_private_key, public_key_from_private
from ansible_collections.wgdoctor.wireguard.plugins.modules import udp_probe
from module_harness import assert_no_secret, intercept_exits, run_module
from noise_responder import Responder, UDPResponder

PRIVATE = generate_private_key()
PSK = base64.b64encode(os.urandom(32)).decode()
RESPONDER_PRIVATE = wg_crypto.clamp_private_key(os.urandom(32))
RESPONDER_PUBLIC = wg_keys.encode_key(wg_crypto.x25519_base(RESPONDER_PRIVATE))


@pytest.fixture(autouse=True)
def intercept(monkeypatch):
    intercept_exits(monkeypatch)


def run(**args):
    return run_module(udp_probe.main, args)


def test_probe_against_a_healthy_responder_returns_the_record_without_keys():
    initiator_public = public_key_from_private(PRIVATE)
    responder = Responder(RESPONDER_PRIVATE, {wg_keys.decode_key(initiator_public): wg_keys.decode_key(PSK)})
    with UDPResponder(responder) as port:
        exited = run(host="127.0.0.1", port=port, responder_public_key=RESPONDER_PUBLIC, private_key=PRIVATE,
                     preshared_key=PSK, timeout=0.5)
    assert not exited.failed
    result = exited.result
    assert result["outcome"] == "ok" and result["changed"] is False
    assert result["initiator_public_key"] == initiator_public
    assert result["target"] == {"host": "127.0.0.1", "address": "127.0.0.1", "port": port}
    assert result["backend"] in ("pynacl", "cryptography", "pure")
    assert_no_secret(result, PRIVATE, PSK)


def test_keys_are_read_from_files(tmp_path):
    key_file, psk_file = tmp_path / "probe.key", tmp_path / "psk"
    key_file.write_text(PRIVATE + "\n")
    psk_file.write_text(PSK + "\n")
    responder = Responder(RESPONDER_PRIVATE, {wg_crypto.x25519_base(wg_keys.decode_key(PRIVATE)): b"\x00" * 32})
    with UDPResponder(responder) as port:
        exited = run(host="127.0.0.1", port=port, responder_public_key=RESPONDER_PUBLIC,
                     private_key_path=str(key_file), preshared_key_path=str(psk_file), timeout=0.5)
    assert exited.result["outcome"] == "auth_failed"  # the responder holds no PSK for us


@pytest.mark.parametrize("mangle", [
    lambda key: key[:10] + "!" + key[11:],  # not base64
    lambda key: key[:-4],  # too short
    lambda key: key + "AAAA",  # too long
])
def test_malformed_private_key_fails_by_option_name_without_echoing_it(mangle):
    bad = mangle(PRIVATE)
    exited = run(host="127.0.0.1", port=51820, responder_public_key=RESPONDER_PUBLIC, private_key=bad, preshared_key=PSK)
    assert exited.failed
    assert exited.result["msg"].startswith("option private_key does not hold a WireGuard key: ")
    assert_no_secret(exited.result, bad, PRIVATE, PSK)


def test_malformed_preshared_key_in_a_file_names_the_file_not_the_key(tmp_path):
    psk_file = tmp_path / "psk"
    bad = PSK[:20] + "%" + PSK[21:]
    psk_file.write_text(bad)
    exited = run(host="127.0.0.1", port=51820, responder_public_key=RESPONDER_PUBLIC, private_key=PRIVATE,
                 preshared_key_path=str(psk_file))
    assert exited.failed
    assert exited.result["msg"] == "file %s does not hold a WireGuard key: not base64" % psk_file
    assert_no_secret(exited.result, bad, PRIVATE)


def test_malformed_responder_public_key_is_named():
    exited = run(host="127.0.0.1", port=51820, responder_public_key="abc", private_key=PRIVATE)
    assert exited.failed and "responder_public_key is not a WireGuard key" in exited.result["msg"]
    assert_no_secret(exited.result, PRIVATE)


def test_missing_private_key_file_is_a_clear_failure(tmp_path):
    exited = run(host="127.0.0.1", port=51820, responder_public_key=RESPONDER_PUBLIC,
                 private_key_path=str(tmp_path / "absent.key"))
    assert exited.failed and "cannot read private_key_path" in exited.result["msg"]


def test_unresolvable_host_fails_with_its_name():
    exited = run(host="no-such-host.invalid", port=51820, responder_public_key=RESPONDER_PUBLIC, private_key=PRIVATE)
    assert exited.failed
    assert "cannot resolve host 'no-such-host.invalid'" in exited.result["msg"]
    assert_no_secret(exited.result, PRIVATE)


@pytest.mark.parametrize("args, words", [
    (dict(port=0), "port 0 is out of range"),
    (dict(port=70000), "port 70000 is out of range"),
    (dict(port=51820, source_port=65536), "source_port 65536 is out of range"),
    (dict(port=51820, timeout=0), "timeout and duration must be positive"),
])
def test_out_of_range_numbers_fail_clearly(args, words):
    exited = run(host="127.0.0.1", responder_public_key=RESPONDER_PUBLIC, private_key=PRIVATE, **args)
    assert exited.failed and words in exited.result["msg"]


def test_wireguard_mode_needs_a_key_and_a_host():
    assert "needs private_key" in run(host="127.0.0.1", port=51820, responder_public_key=RESPONDER_PUBLIC).result["msg"]
    assert "needs host" in run(port=51820, responder_public_key=RESPONDER_PUBLIC, private_key=PRIVATE).result["msg"]


def test_listen_mode_that_cannot_capture_fails_with_a_message():
    # As root the interface is unknown; unprivileged no AF_PACKET socket opens. Either way: a message, not a traceback.
    exited = run(mode="listen", port=40997, duration=0.1, interface="nosuchif0", listen_method="af_packet")
    assert exited.failed
    assert "nosuchif0" in exited.result["msg"] or "AF_PACKET" in exited.result["msg"]


@pytest.mark.skipif(os.geteuid() != 0, reason="AF_PACKET needs root")
def test_listen_mode_reports_the_capture_and_changes_nothing():
    exited = run(mode="listen", port=40998, duration=0.1, interface="lo", listen_method="af_packet")
    assert not exited.failed
    assert exited.result["changed"] is False
    assert (exited.result["outcome"], exited.result["method"], exited.result["count"]) == ("listened", "af_packet", 0)


def test_raw_mode_rejects_bad_hex_and_reports_refusal():
    assert "payload_hex is not hexadecimal" in run(mode="raw", host="127.0.0.1", port=9, payload_hex="zz").result["msg"]
    exited = run(mode="raw", host="127.0.0.1", port=9, payload="hello", timeout=0.3)
    assert exited.result["outcome"] in ("refused", "ok")  # something may listen on discard


def test_check_mode_still_probes_and_changes_nothing():
    exited = run(host="127.0.0.1", port=9, responder_public_key=RESPONDER_PUBLIC, private_key=PRIVATE,
                 timeout=0.2, retries=0, _ansible_check_mode=True)
    assert not exited.failed and exited.result["changed"] is False
    assert exited.result["attempts"] == 1


def test_a_real_module_run_prints_json_and_no_traceback_or_key(tmp_path):
    args = tmp_path / "args.json"
    bad_private = PRIVATE[:30] + "*" + PRIVATE[31:]
    args.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {
        "host": "127.0.0.1", "port": 51820, "responder_public_key": RESPONDER_PUBLIC,
        "private_key": bad_private, "preshared_key": PSK}}))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    run_ = subprocess.run([sys.executable, udp_probe.__file__, str(args)], capture_output=True, text=True, env=env, check=False)
    assert "Traceback" not in run_.stdout + run_.stderr
    result = json.loads(run_.stdout)
    assert result["failed"] is True
    assert "option private_key does not hold a WireGuard key" in result["msg"]
    assert PRIVATE[:12] not in run_.stdout + run_.stderr and PSK[:12] not in run_.stdout + run_.stderr
