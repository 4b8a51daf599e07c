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
from ansible.module_utils import basic

from module_harness import assert_no_secret, fake_commands, intercept_exits, run_module

PRIVATE = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="
SERVER = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="
WRONG_SERVER = "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0="
LAPTOP = "gN65BkIKy1eCE9pP1wdc8ROUtkHLF2PfAqYdyYBz6EA="
PSK = "FpCyhws9cxwWoV4xELtfJvjJN+zQVRPISllRWgeopVE="
OTHER_PRIVATE = "QHhc+5pXnWx4oJ3PQmSLvPqM6ynuP/pUKcAgWEaD6Xc="
OLD_PRIVATE = base64.b64encode(b"\x02" * 32).decode()
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
    """`wg`/`wg-quick` as the module calls them; `running` says whether the interface is up.

    `wg set ... preshared-key FILE` is read when it runs (the module removes its temp file afterwards):
    preshared_keys_read holds what the fake wg found there.
    """

    def __init__(self, running=False, dump=""):
        self.running = running
        self.dump = dump
        self.calls = []
        self.preshared_keys_read = []

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
        if rest[:1] == ["set"] and "preshared-key" in rest:
            source = rest[rest.index("preshared-key") + 1]
            if source == "/dev/stdin":
                self.preshared_keys_read.append(kwargs.get("data", "").strip())
            else:
                assert stat.S_IMODE(os.stat(source).st_mode) & 0o077 == 0, "the PSK file is readable by others"
                with open(source) as stream:
                    self.preshared_keys_read.append(stream.read().strip())
        return 0, "", ""

    def wg_calls(self, verb):
        return [call[2:] for call in self.calls if os.path.basename(call[0]) == "wg" and call[1] == verb]


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
    assert "PersistentKeepalive = 25" in exited.result["diff"][0]["after"]
    assert (config_dir / CONFIG_NAME).read_text() == CLIENT_CONFIG
    assert backups(config_dir) == []


def test_diff_and_result_never_hold_the_private_or_preshared_key(fake_wg, config_dir):
    exited = run(config_dir, public_key=SERVER, preshared_key=PSK, _ansible_diff=True)
    assert not exited.failed and exited.result["changed"]
    diff = exited.result["diff"][0]
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


RUNTIME_ONLY = "cnVudGltZS1vbmx5IHBlZXIsIG5vdCBpbiBmaWxlISE="  # added with `wg set`, never written to the file
RUNTIME_PORT = 51781  # ListenPort changed at runtime; the file sets none


def running_dump(keepalive: str, server: str = SERVER) -> str:
    return ("%s\t%s\t%d\t0x2a\n" % (PRIVATE, LAPTOP, RUNTIME_PORT)
            + "%s\t%s\t198.51.100.10:51820\t10.99.0.1/32\t1764084990\t100\t200\t%s\n" % (server, OLD_PSK, keepalive)
            + "%s\t(none)\t(none)\t10.99.0.3/32\t0\t0\t0\toff\n" % LAPTOP
            + "%s\t(none)\t(none)\t10.99.0.9/32\t0\t0\t0\toff\n" % RUNTIME_ONLY)


def assert_nothing_but_peer_sets(fake, *peers):
    """Only `wg set IF peer KEY ...` of these peers ran: no syncconf/setconf/addconf, no interface-wide setting."""
    for call in fake.calls:
        if os.path.basename(call[0]) == "wg":
            assert call[1] in ("show", "set"), call
            if call[1] == "set":
                assert call[2] == IFACE and call[3] == "peer" and call[4] in peers, call
                assert not set(call) & {"listen-port", "private-key", "fwmark"}, call
        elif os.path.basename(call[0]) == "wg-quick":
            assert call[1] == "strip", call  # wg-quick validates the new file and does nothing else
        assert PRIVATE not in call and PSK not in call and OLD_PSK not in call, "a secret on a command line"


def test_one_peer_is_set_live_and_runtime_only_peers_and_interface_settings_stay(fake_wg, config_dir):
    fake_wg.running, fake_wg.dump = True, running_dump("off")
    exited = run(config_dir, public_key=SERVER, persistent_keepalive=25)
    assert exited.result["applied_live"] and exited.result["live_drift"] == ["persistent_keepalive"]
    assert fake_wg.wg_calls("set") == [[IFACE, "peer", SERVER, "persistent-keepalive", "25"]]
    assert_nothing_but_peer_sets(fake_wg, SERVER)


def test_file_right_but_interface_wrong_is_fixed_live(fake_wg, config_dir):
    run(config_dir, public_key=SERVER, persistent_keepalive=25)
    fake_wg.running, fake_wg.dump = True, running_dump("off")
    exited = run(config_dir, public_key=SERVER, persistent_keepalive=25)
    assert exited.result["changed"] and exited.result["applied_live"]
    assert len(backups(config_dir)) == 1  # the file was already right: not rewritten
    assert fake_wg.wg_calls("set") == [[IFACE, "peer", SERVER, "persistent-keepalive", "25"]]


def test_running_interface_already_matching_changes_nothing(fake_wg, config_dir):
    run(config_dir, public_key=SERVER, persistent_keepalive=25)
    fake_wg.running, fake_wg.dump = True, running_dump("25")
    assert run(config_dir, public_key=SERVER, persistent_keepalive=25).result["changed"] is False
    assert fake_wg.wg_calls("set") == []


def test_removed_keepalive_is_switched_off_live(fake_wg, config_dir):
    run(config_dir, public_key=SERVER, persistent_keepalive=25)
    fake_wg.running, fake_wg.dump = True, running_dump("25")
    run(config_dir, public_key=SERVER, persistent_keepalive=0)
    assert fake_wg.wg_calls("set") == [[IFACE, "peer", SERVER, "persistent-keepalive", "0"]]


@pytest.mark.parametrize("wg_quick_installed", [True, False])
def test_replaced_key_is_removed_live_and_the_new_peer_gets_everything_the_file_holds(fake_wg, config_dir, monkeypatch,
                                                                                      wg_quick_installed):
    if not wg_quick_installed:
        monkeypatch.setattr(basic.AnsibleModule, "get_bin_path",
                            lambda self, name, *a, **k: None if name == "wg-quick" else "/usr/bin/" + name)
    (config_dir / CONFIG_NAME).write_text(CLIENT_CONFIG.replace(SERVER, WRONG_SERVER))
    fake_wg.running, fake_wg.dump = True, running_dump("off", server=WRONG_SERVER)
    exited = run(config_dir, public_key=WRONG_SERVER, new_public_key=SERVER)
    assert not exited.failed and exited.result["changed"] and exited.result["applied_live"]
    sets = fake_wg.wg_calls("set")
    # Only the key was passed: AllowedIPs, Endpoint and the PresharedKey come from the file's entry.
    assert sets == [[IFACE, "peer", SERVER, "endpoint", "vpn.wgdoctor.test:51820", "allowed-ips", "10.99.0.1/32",
                     "preshared-key", "/dev/stdin"],
                    [IFACE, "peer", WRONG_SERVER, "remove"]]
    assert fake_wg.preshared_keys_read == [OLD_PSK]
    assert_nothing_but_peer_sets(fake_wg, SERVER, WRONG_SERVER)
    assert_no_secret(exited.result, PRIVATE, OLD_PSK)


def test_removed_peer_is_removed_live_and_nothing_else(fake_wg, config_dir):
    fake_wg.running, fake_wg.dump = True, running_dump("off")
    exited = run(config_dir, public_key=LAPTOP, state="absent")
    assert exited.result["changed"] and exited.result["applied_live"]
    assert fake_wg.wg_calls("set") == [[IFACE, "peer", LAPTOP, "remove"]]
    assert_nothing_but_peer_sets(fake_wg, LAPTOP)


def test_check_mode_diff_shows_the_live_change_of_that_peer_and_runs_no_set(fake_wg, config_dir):
    fake_wg.running, fake_wg.dump = True, running_dump("off")
    exited = run(config_dir, public_key=SERVER, persistent_keepalive=25, _ansible_check_mode=True, _ansible_diff=True)
    assert exited.result["changed"] and exited.result["applied_live"] is False
    file_diff, live_diff = exited.result["diff"]
    assert "PersistentKeepalive = 25" in file_diff["after"]
    assert SERVER in live_diff["before_header"]
    assert "persistent keepalive: off" in live_diff["before"] and "persistent keepalive: 25" in live_diff["after"]
    assert RUNTIME_ONLY not in str(live_diff) and "listen" not in str(live_diff).lower()
    assert fake_wg.wg_calls("set") == [] and (config_dir / CONFIG_NAME).read_text() == CLIENT_CONFIG
    assert_no_secret(exited.result, PRIVATE, OLD_PSK)


def test_new_allowed_ips_live_say_that_their_routes_wait_for_a_restart(fake_wg, config_dir):
    fake_wg.running, fake_wg.dump = True, running_dump("off")
    exited = run(config_dir, public_key=SERVER, allowed_ips=["10.99.0.1/32", "10.60.0.0/24"])
    assert fake_wg.wg_calls("set") == [[IFACE, "peer", SERVER, "allowed-ips", "10.99.0.1/32,10.60.0.0/24"]]
    assert "10.60.0.0/24" in exited.result["restart_reason"] and "wg-quick" in exited.result["restart_reason"]
    assert not [call for call in fake_wg.calls if "down" in call or "up" in call]


def test_allowed_ips_the_file_no_longer_holds_are_emptied_live_and_a_rerun_is_quiet(fake_wg, config_dir):
    fake_wg.running, fake_wg.dump = True, running_dump("off")
    exited = run(config_dir, public_key=LAPTOP, allowed_ips=[])
    assert exited.result["changed"] and "AllowedIPs" not in (config_dir / CONFIG_NAME).read_text().split("# laptop")[1]
    assert fake_wg.wg_calls("set") == [[IFACE, "peer", LAPTOP, "allowed-ips", ""]]
    fake_wg.dump = running_dump("off").replace("(none)\t10.99.0.3/32", "(none)\t(none)")
    assert run(config_dir, public_key=LAPTOP, allowed_ips=[]).result["changed"] is False


def test_keys_anywhere_in_a_diff_are_hidden_and_public_keys_stay_readable(fake_wg, config_dir):
    commented = CLIENT_CONFIG.replace(
        "PrivateKey = %s\n" % PRIVATE,
        "PrivateKey = %s\n#PrivateKey = %s\n# old: %s\nPostUp = wg set %%i peer %s preshared-key <(echo %s)\n"
        % (PRIVATE, OTHER_PRIVATE, OLD_PRIVATE, LAPTOP, PSK))
    (config_dir / CONFIG_NAME).write_text(commented)
    exited = run(config_dir, public_key=SERVER, persistent_keepalive=25, _ansible_diff=True, _ansible_check_mode=True)
    assert not exited.failed and exited.result["changed"]
    assert_no_secret(exited.result, PRIVATE, OTHER_PRIVATE, OLD_PRIVATE, PSK, OLD_PSK)
    before = exited.result["diff"][0]["before"]
    assert "PublicKey = %s" % SERVER in before and "PublicKey = %s" % LAPTOP in before
    assert "#PrivateKey = (hidden)" in before and "# old: (hidden)" in before


def test_a_byte_that_is_not_utf8_is_named_by_file_line_and_offset_before_any_backup(fake_wg, config_dir):
    raw = CLIENT_CONFIG.encode().replace(b"# laptop\n", b"# laptop of J\xfcrgen\n")
    (config_dir / CONFIG_NAME).write_bytes(raw)
    exited = run(config_dir, public_key=SERVER, persistent_keepalive=25)
    assert exited.failed
    msg = exited.result["msg"]
    assert msg.startswith("%s:14: " % (config_dir / CONFIG_NAME)) and "offset %d" % raw.index(b"\xfc") in msg
    assert "UTF-8" in msg
    assert (config_dir / CONFIG_NAME).read_bytes() == raw and backups(config_dir) == []
    assert fake_wg.calls == []


def test_a_world_readable_config_is_written_0600_and_the_mode_is_reported(fake_wg, config_dir):
    (config_dir / CONFIG_NAME).chmod(0o644)
    exited = run(config_dir, public_key=SERVER, persistent_keepalive=25)
    assert exited.result["changed"] and exited.result["mode"] == "0600"
    assert stat.S_IMODE(os.stat(config_dir / CONFIG_NAME).st_mode) == 0o600


def test_a_world_readable_config_is_tightened_even_when_its_text_is_right(fake_wg, config_dir):
    (config_dir / CONFIG_NAME).chmod(0o644)
    checked = run(config_dir, public_key=SERVER, allowed_ips=["10.99.0.1/32"], _ansible_check_mode=True)
    assert checked.result["changed"] and checked.result["mode"] == "0600"
    assert stat.S_IMODE(os.stat(config_dir / CONFIG_NAME).st_mode) == 0o644
    exited = run(config_dir, public_key=SERVER, allowed_ips=["10.99.0.1/32"])
    assert exited.result["changed"] and exited.result["mode"] == "0600"
    assert stat.S_IMODE(os.stat(config_dir / CONFIG_NAME).st_mode) == 0o600
    assert (config_dir / CONFIG_NAME).read_text() == CLIENT_CONFIG
    assert run(config_dir, public_key=SERVER, allowed_ips=["10.99.0.1/32"]).result["changed"] is False


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


# ---------------------------------------------------------------- a copied PresharedKey, shown without the key
def test_a_replaced_preshared_key_is_said_to_change_in_the_file_and_live_diffs(fake_wg, config_dir):
    # Both keys read (hidden): without a word for it, the file diff of a PresharedKey change showed no changed line.
    fake_wg.running, fake_wg.dump = True, running_dump("off")
    exited = run(config_dir, public_key=SERVER, preshared_key=PSK, _ansible_diff=True, _ansible_check_mode=True)
    assert not exited.failed and exited.result["changed"] and exited.result["live_drift"] == ["preshared_key"]
    file_diff, live_diff = exited.result["diff"]
    before, after = file_diff["before"].splitlines(), file_diff["after"].splitlines()
    assert [line for line in after if line not in before] == ["PresharedKey = (hidden), another key"]
    assert after[after.index("PublicKey = %s" % SERVER) + 1] == "PresharedKey = (hidden), another key"
    assert live_diff["before_header"] == "%s (running): peer %s" % (IFACE, SERVER)
    assert "preshared key: (hidden)\n" in live_diff["before"] and "preshared key: (hidden), another key\n" in live_diff["after"]
    assert_no_secret(exited.result, PRIVATE, PSK, OLD_PSK)


def test_a_first_preshared_key_is_shown_added_and_not_as_another_key(fake_wg, config_dir):
    exited = run(config_dir, public_key=LAPTOP, preshared_key=PSK, _ansible_diff=True, _ansible_check_mode=True)
    before, after = exited.result["diff"][0]["before"].splitlines(), exited.result["diff"][0]["after"].splitlines()
    assert before.count("PresharedKey = (hidden)") == 1 and after.count("PresharedKey = (hidden)") == 2
    assert "PresharedKey = (hidden)" in after[after.index("PublicKey = %s" % LAPTOP):]
    assert "another key" not in exited.result["diff"][0]["after"]
    assert_no_secret(exited.result, PRIVATE, PSK, OLD_PSK)


def test_a_preshared_key_read_from_a_file_is_masked_like_the_option(fake_wg, config_dir, tmp_path):
    # Ansible masks the values of no_log options only: the key read from the file must be added to them.
    psk_file = tmp_path / "server.psk"
    psk_file.write_text(PSK + "\n")
    exited = run(config_dir, public_key=SERVER, preshared_key_path=str(psk_file), _ansible_diff=True)
    assert exited.result["changed"] and PSK in exited.no_log_values
    assert_no_secret(exited.result, PRIVATE, PSK, OLD_PSK)


def test_check_mode_assume_up_shows_a_stopped_interface_changed_as_if_started_from_its_config(fake_wg, config_dir):
    # The service remedy starts the interface before the peer remedy in a real run; a check run never starts it.
    assumed = run(config_dir, public_key=SERVER, preshared_key=PSK, check_mode_assume_up=True,
                  _ansible_diff=True, _ansible_check_mode=True)
    assert assumed.result["changed"] and assumed.result["applied_live"] is False
    assert assumed.result["live_drift"] == ["preshared_key"]
    live_diff = assumed.result["diff"][-1]
    assert live_diff["before_header"] == "%s (running): peer %s" % (IFACE, SERVER)
    assert "endpoint: vpn.wgdoctor.test:51820" in live_diff["before"]
    assert "preshared key: (hidden), another key" in live_diff["after"]
    assert fake_wg.wg_calls("set") == [] and (config_dir / CONFIG_NAME).read_text() == CLIENT_CONFIG
    assert_no_secret(assumed.result, PRIVATE, PSK, OLD_PSK)
    # The same run as the real run started after the service remedy shows it, with the interface running.
    fake_wg.running = True
    # wg would show the address the name resolved to; the assumed peer shows the config's name (the option says so).
    fake_wg.dump = running_dump("off").replace("198.51.100.10:51820", "vpn.wgdoctor.test:51820")
    started = run(config_dir, public_key=SERVER, preshared_key=PSK, _ansible_diff=True, _ansible_check_mode=True)
    assert started.result["diff"] == assumed.result["diff"]


def test_check_mode_assume_up_changes_nothing_outside_check_mode(fake_wg, config_dir):
    exited = run(config_dir, public_key=SERVER, preshared_key=PSK, check_mode_assume_up=True, _ansible_diff=True)
    assert exited.result["changed"] and exited.result["applied_live"] is False and exited.result["live_drift"] == []
    assert len(exited.result["diff"]) == 1 and fake_wg.wg_calls("set") == [] and fake_wg.wg_calls("show")[-1] == ["interfaces"]
