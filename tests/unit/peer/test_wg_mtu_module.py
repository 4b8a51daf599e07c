# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""wg_mtu (issue #16, the remedy of tunnel_mtu_blackhole): MTU = in [Interface] and on the link, nothing else."""
from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.wgdoctor.wireguard.plugins.modules import wg_mtu

from module_harness import assert_no_secret, fake_commands, intercept_exits, run_module

PRIVATE = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="
SERVER = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="
IFACE = "wg-mtu5"
CONFIG = """\
# the branch office, keep the comments
[Interface]
Address = 10.55.0.2/24
PrivateKey = {private}
ListenPort = 51999

[Peer]
PublicKey = {server}
AllowedIPs = 10.55.0.0/24
Endpoint = 192.0.2.10:51999
""".format(private=PRIVATE, server=SERVER)


@pytest.fixture
def host(monkeypatch, tmp_path):
    intercept_exits(monkeypatch)
    commands = []
    fake_commands(monkeypatch, lambda args, **kwargs: commands.append(list(args)) or (0, "", ""))
    state = {"live": 1420}
    monkeypatch.setattr(wg_mtu, "live_mtu", lambda interface: state["live"])
    path = tmp_path / (IFACE + ".conf")
    path.write_text(CONFIG)
    os.chmod(path, 0o600)
    return {"path": path, "commands": commands, "state": state, "args": {"interface": IFACE, "config_dir": str(tmp_path)}}


def test_the_mtu_line_is_added_to_interface_and_set_live(host):
    done = run_module(wg_mtu.main, dict(host["args"], mtu=1240))
    assert not done.failed and done.result["changed"] and done.result["applied_live"]
    text = host["path"].read_text()
    assert "MTU = 1240" in text.split("[Peer]")[0]
    assert text.replace("MTU = 1240\n", "") == CONFIG
    assert ["/usr/bin/ip", "link", "set", "dev", IFACE, "mtu", "1240"] in host["commands"]
    assert stat.S_IMODE(os.stat(done.result["backup_file"]).st_mode) == 0o600
    assert (done.result["config_mtu"], done.result["live_mtu"]) == (None, 1420)


def test_a_second_run_changes_nothing(host):
    run_module(wg_mtu.main, dict(host["args"], mtu=1240))
    host["state"]["live"] = 1240
    host["commands"].clear()
    again = run_module(wg_mtu.main, dict(host["args"], mtu=1240))
    assert not again.failed and not again.result["changed"]
    assert not any(c[:2] == ["/usr/bin/ip", "link"] for c in host["commands"])


def test_check_mode_with_diff_shows_the_change_and_writes_nothing_or_a_key(host):
    done = run_module(wg_mtu.main, dict(host["args"], mtu=1240, _ansible_check_mode=True, _ansible_diff=True))
    assert done.result["changed"] and not done.result["applied_live"]
    assert host["path"].read_text() == CONFIG
    assert host["commands"] == []
    config_diff, live_diff = done.result["diff"]
    assert "MTU = 1240" in config_diff["after"] and "MTU" not in config_diff["before"]
    assert (live_diff["before"], live_diff["after"]) == ("mtu 1420\n", "mtu 1240\n")
    assert_no_secret(done.result, PRIVATE)


def test_an_existing_mtu_line_is_replaced_in_place(host):
    host["path"].write_text(CONFIG.replace("ListenPort = 51999\n", "MTU = 1420\nListenPort = 51999\n"))
    done = run_module(wg_mtu.main, dict(host["args"], mtu=1240))
    assert done.result["config_mtu"] == 1420
    assert host["path"].read_text() == CONFIG.replace("ListenPort = 51999\n", "MTU = 1240\nListenPort = 51999\n")


def test_a_stopped_interface_gets_the_file_only(host):
    host["state"]["live"] = None
    done = run_module(wg_mtu.main, dict(host["args"], mtu=1240))
    assert done.result["changed"] and not done.result["applied_live"]
    assert not any(c[:2] == ["/usr/bin/ip", "link"] for c in host["commands"])


def test_a_broken_config_is_named_by_file_and_line_and_left_alone(host):
    host["path"].write_text(CONFIG.replace("ListenPort = 51999", "ListenPort = many"))
    done = run_module(wg_mtu.main, dict(host["args"], mtu=1240))
    assert done.failed and "%s:5" % host["path"] in done.result["msg"]
    assert "ListenPort = many" in host["path"].read_text()
    assert_no_secret(done.result, PRIVATE)


def test_an_mtu_out_of_range_is_refused(host):
    done = run_module(wg_mtu.main, dict(host["args"], mtu=100))
    assert done.failed and "576-65535" in done.result["msg"]
