# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Putting a config in place: secrets hidden in diffs however they are spelt, writes atomic."""
from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.host import apply as wg_apply

PRIVATE = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="
PSK = "FpCyhws9cxwWoV4xELtfJvjJN+zQVRPISllRWgeopVE="
PUBLIC = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="


@pytest.mark.parametrize("line", [
    "PrivateKey = %s" % PRIVATE,
    "privatekey=%s" % PRIVATE,
    "  Private Key =\t%s   # laptop" % PRIVATE,   # wg deletes all whitespace, so this is a PrivateKey too
    "PresharedKey = %s\r" % PSK,
])
def test_secret_values_are_hidden_however_wg_would_read_the_line(line):
    redacted = wg_apply.redact_secrets("[Interface]\n%s\n[Peer]\nPublicKey = %s\n" % (line, PUBLIC))
    assert PRIVATE[:12] not in redacted and PSK[:12] not in redacted
    assert "(hidden)" in redacted
    assert "PublicKey = %s" % PUBLIC in redacted  # public keys stay readable


OLD_PRIVATE = "QHhc+5pXnWx4oJ3PQmSLvPqM6ynuP/pUKcAgWEaD6Xc="


@pytest.mark.parametrize("line", [
    "#PrivateKey = %s" % OLD_PRIVATE,
    "# old: %s" % OLD_PRIVATE,
    "PostUp = wg set %%i private-key <(echo %s)" % OLD_PRIVATE,
    "PostUp = echo %s | wg set %%i peer %s preshared-key /dev/stdin" % (PSK, PUBLIC),
    "PublicKey = %s  # was generated from %s" % (PUBLIC, OLD_PRIVATE),
    "Endpoint = x.example.test:51000#%s" % PSK,
])
def test_every_key_shaped_value_outside_a_public_key_line_is_hidden(line):
    redacted = wg_apply.redact_secrets("[Interface]\n%s\n[Peer]\nPublicKey = %s\n" % (line, PUBLIC))
    assert OLD_PRIVATE[:12] not in redacted and PSK[:12] not in redacted
    assert "(hidden)" in redacted
    assert redacted.endswith("[Peer]\nPublicKey = %s\n" % PUBLIC)


def test_command_errors_that_echo_a_config_line_lose_the_key():
    assert PRIVATE not in wg_apply.redact_keylike("Line unrecognized: `PrivateKey=%s'" % PRIVATE)


@pytest.mark.parametrize("old_mode", [0o644, 0o640, 0o600])
def test_atomic_write_is_private_whatever_the_old_mode_and_leaves_no_temp_file(tmp_path, old_mode):
    path = tmp_path / "wg0.conf"
    path.write_text("old\n")
    path.chmod(old_mode)
    seen = []
    wg_apply.write_atomic(str(path), "new\n", validate=lambda temp: seen.append(os.path.basename(temp)))
    assert path.read_text() == "new\n"
    # The file holds the private key: a world-readable config does not stay world-readable.
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    # wg-quick only takes NAME.conf with NAME of at most 15 characters.
    assert seen[0].endswith(".conf") and len(seen[0]) - len(".conf") <= 15
    assert os.listdir(tmp_path) == ["wg0.conf"]


def test_a_new_file_is_private(tmp_path):
    path = tmp_path / "wg1.conf"
    wg_apply.write_atomic(str(path), "[Interface]\n")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_validation_failure_keeps_the_old_file(tmp_path):
    path = tmp_path / "wg0.conf"
    path.write_text("old\n")

    def refuse(temp):
        raise wg_apply.ApplyError("no")

    with pytest.raises(wg_apply.ApplyError):
        wg_apply.write_atomic(str(path), "new\n", validate=refuse)
    assert path.read_text() == "old\n" and os.listdir(tmp_path) == ["wg0.conf"]


def test_wg_set_of_a_peer_never_carries_a_key_but_a_file_path():
    args = wg_apply.peer_set_args(PUBLIC, {"PresharedKey": PSK}, "/run/psk")
    assert args == ["peer", PUBLIC, "preshared-key", "/run/psk"] and PSK not in args


def test_the_whole_file_sync_is_gone():
    # `wg syncconf` from the file drops runtime-only peers and resets the interface's keys and port.
    assert not hasattr(wg_apply, "syncconf")


def test_wg_set_arguments_switch_off_what_the_file_no_longer_names():
    args = wg_apply.peer_set_args(PUBLIC, {"Endpoint": "vpn.example.test:51820", "AllowedIPs": "10.0.0.1/32, 10.0.0.2/32",
                                           "PersistentKeepalive": None, "PresharedKey": None})
    assert args == ["peer", PUBLIC, "endpoint", "vpn.example.test:51820", "allowed-ips", "10.0.0.1/32,10.0.0.2/32",
                    "persistent-keepalive", "0", "preshared-key", "/dev/null"]


def test_runtime_drift_ignores_a_hostname_endpoint_and_sees_a_missing_keepalive():
    wanted = {"allowed_ips": ["10.99.0.1/32"], "persistent_keepalive": 25, "preshared_key_digest": None,
              "endpoint": {"host": "vpn.example.test", "port": 51820, "is_hostname": True}}
    live = {"allowed_ips": ["10.99.0.1/32"], "persistent_keepalive": None, "preshared_key_digest": None,
            "endpoint": {"host": "198.51.100.10", "port": 51820}}
    assert wg_apply.runtime_drift(wanted, live) == ["persistent_keepalive"]
    assert wg_apply.runtime_drift(wanted, None) == ["peer"]
