# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""wg_keypair_check as a provisioning playbook runs it: mismatches are data, bad input fails, no private key leaks.

Exits are caught before Ansible's no_log masking (module_harness): a leaked key is seen.
`wg` is faked: the host's interfaces are never touched.
"""
from __future__ import annotations

import os

import pytest

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard import crypto as wg_crypto
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard.derive import public_key_from_private
from ansible_collections.wgdoctor.wireguard.plugins.modules import wg_keypair_check
from module_harness import assert_no_secret, fake_commands, intercept_exits, run_module

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
with open(os.path.join(FIXTURES, "wg_genkey_pubkey.tsv"), encoding="utf-8") as _handle:
    (SERVER_PRIVATE, SERVER), (CLIENT_PRIVATE, CLIENT), (CLIENT2_PRIVATE, CLIENT2) = [
        tuple(line.split("\t")) for line in _handle.read().splitlines()]
STRANGER = "YJxs/Xv1rk/q7NfjD0vQzHPvYQzHLYgqFoW6E2X0sFQ="
PSK = "FpCyhws9cxwWoV4xELtfJvjJN+zQVRPISllRWgeopVE="
SECRETS = (SERVER_PRIVATE, CLIENT_PRIVATE, CLIENT2_PRIVATE, PSK)

CLIENT_CONF = """\
[Interface]
Address = 10.99.0.2/24
PrivateKey = {private}

[Peer]
# server
PublicKey = {server}
PresharedKey = {psk}
AllowedIPs = 10.99.0.1/32
Endpoint = vpn.wgdoctor.test:51820
""".format(private=CLIENT_PRIVATE, server=SERVER, psk=PSK)


class FakeWg:
    """`wg show wg0 ...` of a running client (or of none when `running` is False), and `wg pubkey`."""

    def __init__(self):
        self.running = True
        self.private_key = CLIENT_PRIVATE
        self.peers = [SERVER]
        self.calls = []

    def run_command(self, args, data=None, **_kwargs):
        self.calls.append((list(args), data))
        rest = list(args[1:])
        if rest == ["pubkey"]:
            return 0, public_key_from_private(data) + "\n", ""
        if rest[:2] == ["show", "wg0"] and self.running:
            answers = {"private-key": self.private_key + "\n", "peers": "".join(k + "\n" for k in self.peers),
                       "listen-port": "0\n"}
            return 0, answers[rest[2]], ""
        return 1, "", "Unable to access interface: No such device\n"


@pytest.fixture
def fake_wg(monkeypatch):
    fake = FakeWg()
    intercept_exits(monkeypatch)
    fake_commands(monkeypatch, fake.run_command)
    return fake


@pytest.fixture
def conf(tmp_path):
    path = tmp_path / "wg0.conf"
    path.write_text(CLIENT_CONF)
    return str(path)


def run(**args):
    exited = run_module(wg_keypair_check.main, args)
    assert_no_secret(exited.result, *SECRETS)
    return exited


# ---------------------------------------------------------------- (a) the host's own pair

def test_matching_pair_from_options(fake_wg):
    exited = run(private_key=SERVER_PRIVATE, public_key=SERVER)
    assert not exited.failed and exited.result["changed"] is False
    assert exited.result["match"] is True and exited.result["derived_public_key"] == SERVER
    assert exited.result["private_key_source"] == "private_key"
    assert exited.result["problems"] == [] and exited.result["peers"] is None


def test_mismatch_is_data_not_a_failure(fake_wg, tmp_path):
    key_file = tmp_path / "wg0.key"
    key_file.write_text(CLIENT_PRIVATE + "\n")
    exited = run(private_key_path=str(key_file), public_key=SERVER)
    assert not exited.failed
    assert exited.result["match"] is False and exited.result["derived_public_key"] == CLIENT
    assert "do not belong together" in exited.result["problems"][0]
    assert CLIENT_PRIVATE in exited.no_log_values, "a private key read from a file must be masked by Ansible too"


def test_fail_on_mismatch_fails_with_the_problems_as_message(fake_wg):
    exited = run(private_key=CLIENT_PRIVATE, public_key=SERVER, fail_on_mismatch=True)
    assert exited.failed and exited.result["match"] is False
    assert exited.result["msg"].startswith("the private key's public key is %s" % CLIENT)


@pytest.mark.parametrize("args, label", [
    ({"private_key": SERVER_PRIVATE[:32]}, "private_key is not a WireGuard key: decodes to 24 bytes"),
    ({"private_key": "AAAA" + SERVER_PRIVATE}, "private_key is not a WireGuard key: decodes to"),
    ({"private_key": SERVER_PRIVATE, "public_key": "server's key goes here"}, "public_key is not a WireGuard key: not base64"),
])
def test_malformed_key_fails_with_a_clear_message_without_the_key(fake_wg, args, label):
    exited = run(**args)
    assert exited.failed and exited.result["msg"].startswith(label)
    assert SERVER_PRIVATE[:10] not in exited.result["msg"]


def test_unreadable_private_key_file_fails_naming_the_file(fake_wg, tmp_path):
    exited = run(private_key_path=str(tmp_path / "absent.key"))
    assert exited.failed
    assert exited.result["msg"] == "cannot read private_key_path %s: No such file or directory" % (tmp_path / "absent.key")


def test_running_interface_private_key_is_read_checked_masked_and_not_returned(fake_wg, conf):
    exited = run(interface="wg0", config_path=conf, public_key=CLIENT)
    assert not exited.failed and exited.result["match"] is True
    assert exited.result["private_key_source"] == "interface" and exited.result["interface_running"] is True
    assert CLIENT_PRIVATE in exited.no_log_values


def test_stopped_interface_falls_back_to_the_config_file(fake_wg, conf):
    fake_wg.running = False
    exited = run(interface="wg0", config_path=conf, public_key=SERVER)
    assert exited.result["private_key_source"] == "config" and exited.result["interface_running"] is False
    assert exited.result["derived_public_key"] == CLIENT and exited.result["match"] is False


def test_private_key_goes_to_wg_pubkey_on_stdin_never_argv_when_only_pure_python_is_here(fake_wg, monkeypatch):
    monkeypatch.setattr(wg_crypto, "backend_name", lambda: "pure")
    exited = run(private_key=SERVER_PRIVATE, public_key=SERVER)
    assert exited.result["backend"] == "wg" and exited.result["match"] is True
    assert (["/usr/bin/wg", "pubkey"], SERVER_PRIVATE) in fake_wg.calls
    assert not any(SERVER_PRIVATE in " ".join(argv) for argv, _data in fake_wg.calls)


# ---------------------------------------------------------------- (b) the host's peers

def test_client_with_the_right_server_key_is_ok_in_file_and_runtime(fake_wg, conf):
    exited = run(interface="wg0", config_path=conf, expected_peers={"server": SERVER})
    peers = exited.result["peers"]
    assert peers["sources"] == ["config", "runtime"] and [o["name"] for o in peers["ok"]] == ["server"]
    assert exited.result["problems"] == []


def test_client_running_with_a_wrong_server_key_reports_it_and_does_not_fail(fake_wg, conf):
    fake_wg.peers = [STRANGER]
    exited = run(interface="wg0", config_path=conf, expected_peers={"server": SERVER})
    assert not exited.failed
    assert exited.result["peers"]["unknown"] == [
        {"public_key": STRANGER, "source": "runtime", "line": None, "instead_of": "server"}]
    assert exited.result["problems"][0] == ("the running wg0: peer %s is none of the expected peers "
                                            "(probably a wrong key for server, whose key is missing there)" % STRANGER)


def test_fail_on_mismatch_fails_on_a_peer_problem(fake_wg, conf):
    fake_wg.peers = [STRANGER]
    exited = run(interface="wg0", config_path=conf, expected_peers={"server": SERVER}, fail_on_mismatch=True)
    assert exited.failed and "none of the expected peers" in exited.result["msg"]


def test_malformed_expected_peer_key_fails_naming_the_peer(fake_wg, conf):
    exited = run(config_path=conf, expected_peers={"server": SERVER[:-2]})
    assert exited.failed
    assert exited.result["msg"].startswith("expected_peers.server is not a WireGuard key")
    assert SERVER[:-2] not in exited.result["msg"]


def test_expected_peers_without_interface_or_config_path_fails(fake_wg):
    exited = run(expected_peers={"server": SERVER})
    assert exited.failed and "needs interface or config_path" in exited.result["msg"]


def test_missing_config_with_running_interface_checks_the_runtime_and_says_so(fake_wg, tmp_path):
    absent = str(tmp_path / "wg0.conf")
    exited = run(interface="wg0", config_path=absent, expected_peers={"server": SERVER})
    assert not exited.failed and exited.result["peers"]["sources"] == ["runtime"]
    assert exited.result["config_path"] is None
    assert "%s does not exist: only the running wg0 was checked" % absent in exited.result["problems"]


def test_nothing_to_check_fails(fake_wg, tmp_path):
    fake_wg.running = False
    exited = run(interface="wg0", config_path=str(tmp_path / "wg0.conf"), expected_peers={"server": SERVER})
    assert exited.failed and exited.result["msg"].startswith("no [Peer] entries to check")


def test_bad_interface_name_fails(fake_wg):
    exited = run(interface="wg0; rm -rf /")
    assert exited.failed and exited.result["msg"].startswith("interface: not a WireGuard interface name")


def test_check_mode_runs_the_same_and_changes_nothing(fake_wg, conf):
    exited = run(interface="wg0", config_path=conf, expected_peers={"server": SERVER}, _ansible_check_mode=True)
    assert not exited.failed and exited.result["changed"] is False
    assert [o["name"] for o in exited.result["peers"]["ok"]] == ["server"]


def test_public_key_path_pointing_at_the_private_key_file_fails_without_returning_it(fake_wg, tmp_path):
    key_file = tmp_path / "wg0.key"
    key_file.write_text(CLIENT_PRIVATE + "\n")
    exited = run(interface="wg0", public_key_path=str(key_file))
    assert exited.failed and "the private key itself" in exited.result["msg"]


def test_public_key_path_at_the_private_key_of_a_stopped_interface_fails_without_returning_it(fake_wg, conf, tmp_path):
    # The interface is not running: the private key is the config's, derived by the parser and never held here,
    # so comparing texts cannot see that the "public key file" is the private key.
    fake_wg.running = False
    key_file = tmp_path / "wg0.key"
    key_file.write_text(CLIENT_PRIVATE + "\n")
    exited = run(interface="wg0", config_path=conf, public_key_path=str(key_file))
    assert exited.failed and "the private key itself" in exited.result["msg"]


def test_public_key_path_that_is_the_private_key_file_is_refused_before_it_is_read(fake_wg, tmp_path):
    key_file = tmp_path / "wg0.key"
    key_file.write_text(CLIENT_PRIVATE + "\n")
    link = tmp_path / "wg0.pub"
    link.symlink_to(key_file)
    exited = run(private_key_path=str(key_file), public_key_path=str(link))
    assert exited.failed
    assert exited.result["msg"] == "public_key_path %s is the same file as private_key_path %s: point it at the public key" % (
        link, key_file)
