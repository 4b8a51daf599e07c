# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""wg_peer as Ansible runs it: one [Peer] changes, the rest of the file stays, no secret leaks.

Exits are caught before Ansible's no_log masking (module_harness): a leaked key is seen.
The `wg` and `wg-quick` binaries are faked per test: the host's interfaces are never touched.
"""
from __future__ import annotations

import base64
import os
import stat

import pytest

from ansible_collections.wgdoctor.wireguard.plugins.modules import wg_peer
from module_harness import assert_no_secret, fake_commands, intercept_exits, run_module

PRIVATE = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="
SERVER = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="
WRONG_SERVER = "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0="
LAPTOP = "gN65BkIKy1eCE9pP1wdc8ROUtkHLF2PfAqYdyYBz6EA="
PSK = "FpCyhws9cxwWoV4xELtfJvjJN+zQVRPISllRWgeopVE="
OLD_PSK = base64.b64encode(b"\x01" * 32).decode()
# Not wg0: the module must not fall back on a name of its own.
IFACE = "wg-branch7"
CONFIG_NAME = IFACE + ".conf"

CLIENT_CONFIG = """\
# managed by hand, keep the comments
[Interface]
Address = 10.99.0.2/24
PrivateKey = {private}

[Peer]
# the server, behind its dynamic DNS name
PublicKey = {server}
PresharedKey = {old_psk}
AllowedIPs = 10.99.0.1/32  # the server only
Endpoint = vpn.wgdoctor.test:51820

[Peer]
# laptop
PublicKey = {laptop}
AllowedIPs = 10.99.0.3/32
""".format(private=PRIVATE, server=SERVER, old_psk=OLD_PSK, laptop=LAPTOP)


class FakeWg:
    """`wg`/`wg-quick` as the module calls them; `running` says whether the interface is up."""

    def __init__(self, running=False, dump=""):
        self.running = running
        self.dump = dump
        self.calls = []
        self.synced = None

    def run_command(self, args, **kwargs):
        self.calls.append(list(args))
        name, rest = os.path.basename(args[0]), list(args[1:])
        if name == "wg-quick" and rest[0] == "strip":
            with open(rest[1]) as stream:
                return 0, "".join(line for line in stream if not line.lower().startswith("address")), ""
        if rest == ["show", "interfaces"]:
            return 0, IFACE + "\n" if self.running else "", ""
        if rest[:1] == ["show"] and rest[2:] == ["dump"]:
            return 0, self.dump, ""
        if rest[:1] == ["syncconf"]:
            with open(rest[2]) as stream:
                self.synced = stream.read()
            return 0, "", ""
        return 0, "", ""


@pytest.fixture
def fake_wg(monkeypatch):
    fake = FakeWg()
    intercept_exits(monkeypatch)
    fake_commands(monkeypatch, fake.run_command)
    return fake


@pytest.fixture
def config_dir(tmp_path):
    path = tmp_path / CONFIG_NAME
    path.write_text(CLIENT_CONFIG)
    path.chmod(0o600)
    return tmp_path


def run(config_dir, **args):
    args.setdefault("config_dir", str(config_dir))
    args.setdefault("interface", IFACE)
    return run_module(wg_peer.main, args)


def backups(config_dir):
    return [name for name in os.listdir(config_dir) if name != CONFIG_NAME]


def test_keepalive_is_added_to_that_peer_only_and_the_rest_of_the_file_stays(fake_wg, config_dir):
    exited = run(config_dir, public_key=SERVER, persistent_keepalive=25)
    assert not exited.failed and exited.result["changed"]
    text = (config_dir / CONFIG_NAME).read_text()
    assert text == CLIENT_CONFIG.replace("Endpoint = vpn.wgdoctor.test:51820\n",
                                         "Endpoint = vpn.wgdoctor.test:51820\nPersistentKeepalive = 25\n")
    assert stat.S_IMODE(os.stat(config_dir / CONFIG_NAME).st_mode) == 0o600
    assert exited.result["backup_file"] and os.path.exists(exited.result["backup_file"])
    assert exited.result["peer"] == SERVER and exited.result["applied_live"] is False


def test_second_run_changes_nothing(fake_wg, config_dir):
    run(config_dir, public_key=SERVER, persistent_keepalive=25, allowed_ips=["10.99.0.1/32"])
    again = run(config_dir, public_key=SERVER, persistent_keepalive=25, allowed_ips=["10.99.0.1"])
    assert again.result["changed"] is False
    assert len(backups(config_dir)) == 1


def test_check_mode_shows_the_change_and_writes_nothing(fake_wg, config_dir):
    exited = run(config_dir, public_key=SERVER, persistent_keepalive=25, _ansible_check_mode=True, _ansible_diff=True)
    assert exited.result["changed"]
    assert "PersistentKeepalive = 25" in exited.result["diff"]["after"]
    assert (config_dir / CONFIG_NAME).read_text() == CLIENT_CONFIG
    assert backups(config_dir) == []


def test_diff_and_result_never_hold_the_private_or_preshared_key(fake_wg, config_dir):
    exited = run(config_dir, public_key=SERVER, preshared_key=PSK, _ansible_diff=True)
    assert not exited.failed and exited.result["changed"]
    diff = exited.result["diff"]
    assert "PrivateKey = (hidden)" in diff["before"] and "PresharedKey = (hidden)" in diff["after"]
    assert_no_secret(exited.result, PRIVATE, PSK, OLD_PSK)
    # The file itself holds the new key: the secret went where it belongs and nowhere else.
    assert "PresharedKey = %s" % PSK in (config_dir / CONFIG_NAME).read_text()


def test_preshared_key_is_read_from_a_file_on_the_target(fake_wg, config_dir, tmp_path):
    psk_file = tmp_path / "server.psk"
    psk_file.write_text(PSK + "\n")
    exited = run(config_dir, public_key=SERVER, preshared_key_path=str(psk_file))
    assert exited.result["changed"]
    assert run(config_dir, public_key=SERVER, preshared_key_path=str(psk_file)).result["changed"] is False


def test_a_malformed_preshared_key_is_refused_without_echoing_it(fake_wg, config_dir):
    bad = PSK[:-2] + "x="
    exited = run(config_dir, public_key=SERVER, preshared_key=bad)
    assert exited.failed and "not base64 of 32 bytes" in exited.result["msg"]
    assert_no_secret(exited.result, bad)
    assert (config_dir / CONFIG_NAME).read_text() == CLIENT_CONFIG


def test_wrong_server_key_is_replaced_and_a_rerun_finds_the_entry_by_its_new_key(fake_wg, config_dir):
    (config_dir / CONFIG_NAME).write_text(CLIENT_CONFIG.replace(SERVER, WRONG_SERVER))
    exited = run(config_dir, public_key=WRONG_SERVER, new_public_key=SERVER)
    assert exited.result["changed"] and exited.result["peer"] == SERVER
    text = (config_dir / CONFIG_NAME).read_text()
    assert WRONG_SERVER not in text and text == CLIENT_CONFIG
    assert run(config_dir, public_key=WRONG_SERVER, new_public_key=SERVER).result["changed"] is False


def test_peer_is_added_when_absent_and_removed_with_state_absent(fake_wg, config_dir):
    new_peer = "dHJ1ZSBrZXlzIGFyZSBuZXZlciBwcmludGVkIGhlcmU="
    added = run(config_dir, public_key=new_peer, allowed_ips=["10.99.0.4/32"], persistent_keepalive=25)
    assert added.result["changed"]
    assert "[Peer]\nPublicKey = %s\nAllowedIPs = 10.99.0.4/32\nPersistentKeepalive = 25\n" % new_peer in (config_dir / CONFIG_NAME).read_text()
    removed = run(config_dir, public_key=LAPTOP, state="absent")
    assert removed.result["changed"] and LAPTOP not in (config_dir / CONFIG_NAME).read_text()
    assert run(config_dir, public_key=LAPTOP, state="absent").result["changed"] is False


def test_keepalive_zero_removes_the_line(fake_wg, config_dir):
    run(config_dir, public_key=SERVER, persistent_keepalive=25)
    exited = run(config_dir, public_key=SERVER, persistent_keepalive=0)
    assert exited.result["changed"] and "PersistentKeepalive" not in (config_dir / CONFIG_NAME).read_text()


def test_config_with_a_syntax_error_is_named_by_file_and_line_and_not_rewritten(fake_wg, config_dir):
    broken = CLIENT_CONFIG.replace("AllowedIPs = 10.99.0.3/32", "AllowedIPs = 10.99.0.300/32")
    (config_dir / CONFIG_NAME).write_text(broken)
    exited = run(config_dir, public_key=SERVER, persistent_keepalive=25)
    assert exited.failed
    assert exited.result["msg"].startswith("%s:16: " % (config_dir / CONFIG_NAME))
    assert (config_dir / CONFIG_NAME).read_text() == broken and backups(config_dir) == []


def test_a_bad_endpoint_value_fails_and_leaves_the_file(fake_wg, config_dir):
    exited = run(config_dir, public_key=SERVER, endpoint="vpn.wgdoctor.test")
    assert exited.failed and "no port" in exited.result["msg"]
    assert (config_dir / CONFIG_NAME).read_text() == CLIENT_CONFIG


def test_wg_quick_refusing_the_new_file_vetoes_the_write(fake_wg, config_dir, monkeypatch):
    def refusing(args, **kwargs):
        if os.path.basename(args[0]) == "wg-quick":
            return 1, "", "Line unrecognized: `PrivateKey=%s'\n" % PRIVATE
        return fake_wg.run_command(args, **kwargs)

    fake_commands(monkeypatch, refusing)
    exited = run(config_dir, public_key=SERVER, persistent_keepalive=25)
    assert exited.failed and "wg-quick strip refused" in exited.result["msg"]
    assert_no_secret(exited.result, PRIVATE)
    assert (config_dir / CONFIG_NAME).read_text() == CLIENT_CONFIG
    assert not [name for name in os.listdir(config_dir) if name.startswith(".wgp")]


def running_dump(keepalive: str) -> str:
    return ("%s\t%s\t51820\toff\n" % (PRIVATE, LAPTOP)
            + "%s\t%s\t198.51.100.10:51820\t10.99.0.1/32\t1764084990\t100\t200\t%s\n" % (SERVER, OLD_PSK, keepalive)
            + "%s\t(none)\t(none)\t10.99.0.3/32\t0\t0\t0\toff\n" % LAPTOP)


def test_running_interface_is_synced_not_restarted(fake_wg, config_dir):
    fake_wg.running, fake_wg.dump = True, running_dump("off")
    exited = run(config_dir, public_key=SERVER, persistent_keepalive=25)
    assert exited.result["applied_live"] and exited.result["live_drift"] == ["persistent_keepalive"]
    assert "PersistentKeepalive = 25" in fake_wg.synced and "Address" not in fake_wg.synced
    verbs = [call[1] for call in fake_wg.calls if call[0].endswith("/wg")]
    assert "syncconf" in verbs and "down" not in verbs
    assert not [call for call in fake_wg.calls if "wg-quick" in call[0] and call[1] != "strip"]


def test_file_right_but_interface_wrong_is_fixed_live(fake_wg, config_dir):
    run(config_dir, public_key=SERVER, persistent_keepalive=25)
    fake_wg.running, fake_wg.dump = True, running_dump("off")
    exited = run(config_dir, public_key=SERVER, persistent_keepalive=25)
    assert exited.result["changed"] and exited.result["applied_live"]
    assert len(backups(config_dir)) == 1  # the file was already right: not rewritten


def test_running_interface_already_matching_changes_nothing(fake_wg, config_dir):
    run(config_dir, public_key=SERVER, persistent_keepalive=25)
    fake_wg.running, fake_wg.dump = True, running_dump("25")
    assert run(config_dir, public_key=SERVER, persistent_keepalive=25).result["changed"] is False


def test_removed_keepalive_is_switched_off_live_because_syncconf_keeps_it(fake_wg, config_dir):
    run(config_dir, public_key=SERVER, persistent_keepalive=25)
    fake_wg.running, fake_wg.dump = True, running_dump("25")
    run(config_dir, public_key=SERVER, persistent_keepalive=0)
    assert ["/usr/bin/wg", "set", IFACE, "peer", SERVER, "persistent-keepalive", "0"] in fake_wg.calls


def test_missing_config_fails_for_present_and_is_fine_for_absent(fake_wg, tmp_path):
    assert run(tmp_path, public_key=SERVER, persistent_keepalive=25).failed
    assert run(tmp_path, public_key=SERVER, state="absent").result["changed"] is False


def test_endpoint_of_the_entry_is_returned_so_a_role_knows_whether_to_re_resolve(fake_wg, config_dir):
    exited = run(config_dir, public_key=SERVER, persistent_keepalive=25)
    assert exited.result["endpoint"] == {"raw": "vpn.wgdoctor.test:51820", "host": "vpn.wgdoctor.test",
                                         "port": 51820, "is_hostname": True}
    assert run(config_dir, public_key=LAPTOP).result["endpoint"] is None


def test_no_interface_given_is_an_error_not_a_guess(fake_wg, config_dir):
    (config_dir / "wg0.conf").write_text(CLIENT_CONFIG)
    exited = run_module(wg_peer.main, {"config_dir": str(config_dir), "public_key": SERVER, "persistent_keepalive": 25})
    assert exited.failed and "interface" in exited.result["msg"]
    assert (config_dir / "wg0.conf").read_text() == CLIENT_CONFIG
    assert fake_wg.calls == []
