# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""wg_probe_peer (issue #10): the probe peer is marked before it is added, and a later run removes a marked
leftover only when it is still a peer without allowed IPs, in no config, and its marker is old enough.
A peer without a marker is never touched."""
from __future__ import annotations

import os
import time

import pytest

from ansible.module_utils import basic

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.host import probe_peer
from ansible_collections.wgdoctor.wireguard.plugins.modules import wg_probe_peer

from module_harness import fake_commands, intercept_exits, run_module

PROBE = "x5GcV7dP1ssT7bRGAzJ4MF7WJ9ZVjY2ec0Fd/2xtOXw="      # has '/': the marker name must not
OTHER_PROBE = "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw="
SPOKE = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="
UNMARKED = "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0="
IFACE = "corpnet"
HOUR = 3600


# ---------------------------------------------------------------- the decision alone
@pytest.mark.parametrize("age, running, runtime, config, readable, action, why", [
    (7200, True, {PROBE: []}, None, True, probe_peer.REMOVE, "interrupted run"),
    (7200, True, {PROBE: []}, "[Peer]\nPublicKey = %s\n" % SPOKE, True, probe_peer.REMOVE, "interrupted run"),
    (10, True, {PROBE: []}, None, True, probe_peer.KEEP, "still going"),
    (10, True, {}, None, True, probe_peer.KEEP, "still going"),
    (7200, True, {PROBE: ["10.66.0.99/32"]}, None, True, probe_peer.FORGET, "allowed IPs"),
    (7200, True, {PROBE: []}, "[Peer]\nPublicKey = %s\n" % PROBE, True, probe_peer.FORGET, "config names"),
    (7200, True, {PROBE: []}, "#PublicKey = %s\n" % PROBE, True, probe_peer.FORGET, "config names"),
    (7200, True, {PROBE: []}, None, False, probe_peer.KEEP, "could not be read"),
    (7200, True, {SPOKE: []}, None, True, probe_peer.FORGET, "no longer a peer"),
    (7200, True, None, None, True, probe_peer.KEEP, "could not be read"),
    (7200, False, None, None, True, probe_peer.FORGET, "not running"),
])
def test_decision(age, running, runtime, config, readable, action, why):
    decision = probe_peer.decide(PROBE, age, HOUR, running, runtime, config, readable)
    assert decision["action"] == action and why in decision["reason"], decision
    assert PROBE not in decision["reason"]


def test_marker_names_round_trip_and_refuse_what_is_no_key():
    name = probe_peer.marker_name(PROBE)
    assert "/" not in name and probe_peer.key_of_marker(name) == PROBE
    assert probe_peer.key_of_marker("notes.txt") is None
    assert probe_peer.key_of_marker(probe_peer.marker_name(PROBE)[:-2]) is None


def test_allowed_ips_output_is_read_as_wg_prints_it():
    text = "%s\t10.66.0.11/32 fd66::11/128\n%s\t(none)\n\n" % (SPOKE, PROBE)
    assert probe_peer.parse_allowed_ips(text) == {SPOKE: ["10.66.0.11/32", "fd66::11/128"], PROBE: []}


# ---------------------------------------------------------------- the module against a fake wg
class FakeWg:
    """Interfaces -> {public key: allowed IPs}, driven by the wg command lines the module runs."""

    def __init__(self, interfaces):
        self.interfaces = interfaces
        self.commands = []

    def __call__(self, args, **_kwargs):
        args = list(args)
        self.commands.append(args)
        if args[1:] == ["show", "interfaces"]:
            return 0, " ".join(self.interfaces) + "\n", ""
        if args[1] == "show" and args[3] == "allowed-ips":
            if args[2] not in self.interfaces:
                return 1, "", "Unable to access interface: No such device\n"
            return 0, "".join("%s\t%s\n" % (k, " ".join(v) or "(none)") for k, v in self.interfaces[args[2]].items()), ""
        if args[1] == "set":
            interface, key = args[2], args[4]
            if interface not in self.interfaces:
                return 1, "", "Unable to modify interface: No such device\n"
            if args[5:] == ["remove"]:
                self.interfaces[interface].pop(key, None)
            else:
                self.interfaces[interface].setdefault(key, [])
            return 0, "", ""
        raise AssertionError("unexpected command %s" % args)


@pytest.fixture
def host(monkeypatch, tmp_path):
    intercept_exits(monkeypatch)
    wg = FakeWg({IFACE: {SPOKE: ["10.66.0.11/32"], UNMARKED: []}})
    fake_commands(monkeypatch, wg)
    warnings: list[str] = []
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, message: warnings.append(message))
    config_dir = tmp_path / "etc"
    config_dir.mkdir()
    (config_dir / (IFACE + ".conf")).write_text("[Interface]\nListenPort = 47111\n\n[Peer]\nPublicKey = %s\nAllowedIPs = 10.66.0.11/32\n" % SPOKE)
    args = {"marker_dir": str(tmp_path / "markers"), "config_dir": str(config_dir)}
    base = os.path.join(args["marker_dir"], probe_peer.namespace_id())
    return {"wg": wg, "args": args, "base": base, "warnings": warnings}


def markers(host):
    found = []
    for directory, _dirs, files in os.walk(host["args"]["marker_dir"]):
        found += [os.path.join(directory, name) for name in files]
    return sorted(found)


def age_markers(host, seconds):
    for path in markers(host):
        past = time.time() - seconds
        os.utime(path, (past, past))


def interrupted_run(host, key=PROBE):
    """A run that added its probe peer and was killed before its always: removed it."""
    done = run_module(wg_probe_peer.main, dict(host["args"], state="present", public_key=key, interfaces=[IFACE]))
    assert not done.failed and done.result["registered"] == [IFACE]
    assert host["wg"].interfaces[IFACE][key] == []


def test_present_marks_before_it_adds_and_absent_removes_both(host):
    interrupted_run(host)
    marker = os.path.join(host["base"], IFACE, probe_peer.marker_name(PROBE))
    assert markers(host) == [marker]
    assert oct(os.stat(os.path.dirname(marker)).st_mode & 0o777) == "0o700"
    done = run_module(wg_probe_peer.main, dict(host["args"], state="absent", public_key=PROBE, interfaces=[IFACE]))
    assert not done.failed and done.result["unregistered"] == [IFACE]
    assert PROBE not in host["wg"].interfaces[IFACE] and markers(host) == []


def test_present_on_an_interface_that_is_not_running_leaves_no_marker(host):
    done = run_module(wg_probe_peer.main, dict(host["args"], state="present", public_key=PROBE, interfaces=["branch"]))
    assert not done.failed and done.result["registered"] == []
    assert done.result["not_registered"] == [{"interface": "branch", "reason": "Unable to modify interface: No such device"}]
    assert markers(host) == []


def test_a_leftover_is_removed_and_nothing_else(host):
    interrupted_run(host)
    age_markers(host, 2 * HOUR)
    done = run_module(wg_probe_peer.main, dict(host["args"], state="cleaned"))
    assert not done.failed and done.result["changed"]
    assert done.result["removed"] == [{"interface": IFACE, "public_key": PROBE}]
    assert [e["action"] for e in done.result["leftovers"]] == ["remove"]
    # The spoke and the unmarked runtime peer without allowed IPs are not ours: untouched.
    assert host["wg"].interfaces[IFACE] == {SPOKE: ["10.66.0.11/32"], UNMARKED: []}
    assert markers(host) == []
    assert "removed 1 leftover probe peer" in done.result["msg"]


def test_a_young_marker_may_be_a_run_going_on_now(host):
    interrupted_run(host)
    done = run_module(wg_probe_peer.main, dict(host["args"], state="cleaned"))
    assert not done.result["changed"] and done.result["removed"] == []
    assert done.result["leftovers"][0]["action"] == "keep"
    assert PROBE in host["wg"].interfaces[IFACE] and len(markers(host)) == 1
    # The same marker, old enough, with min_age the playbook can lower:
    done = run_module(wg_probe_peer.main, dict(host["args"], state="cleaned", min_age=0))
    assert done.result["removed"] == [{"interface": IFACE, "public_key": PROBE}]


def test_check_mode_says_what_it_would_remove_and_removes_nothing(host):
    interrupted_run(host)
    age_markers(host, 2 * HOUR)
    done = run_module(wg_probe_peer.main, dict(host["args"], state="cleaned", _ansible_check_mode=True, _ansible_diff=True))
    assert done.result["changed"] and done.result["removed"] == [{"interface": IFACE, "public_key": PROBE}]
    assert "would remove 1" in done.result["msg"]
    assert done.result["diff"]["before"] == "%s: leftover probe peer %s\n" % (IFACE, PROBE)
    assert PROBE in host["wg"].interfaces[IFACE] and len(markers(host)) == 1
    assert not any(cmd[1] == "set" for cmd in host["wg"].commands[1:])


def test_a_marked_key_someone_gave_allowed_ips_is_kept_and_no_longer_marked(host):
    interrupted_run(host)
    host["wg"].interfaces[IFACE][PROBE] = ["10.66.0.99/32"]
    age_markers(host, 2 * HOUR)
    done = run_module(wg_probe_peer.main, dict(host["args"], state="cleaned"))
    assert not done.result["changed"] and done.result["leftovers"][0]["action"] == "forget"
    assert host["wg"].interfaces[IFACE][PROBE] == ["10.66.0.99/32"] and markers(host) == []
    assert [w for w in host["warnings"] if "allowed IPs" in w and PROBE in w], host["warnings"]


def test_a_marked_key_in_the_config_is_kept(host):
    interrupted_run(host)
    config = os.path.join(host["args"]["config_dir"], IFACE + ".conf")
    with open(config, "a", encoding="utf-8") as handle:
        handle.write("\n[Peer]\nPublicKey = %s\n" % PROBE)
    age_markers(host, 2 * HOUR)
    done = run_module(wg_probe_peer.main, dict(host["args"], state="cleaned"))
    assert done.result["removed"] == [] and done.result["leftovers"][0]["action"] == "forget"
    assert PROBE in host["wg"].interfaces[IFACE] and markers(host) == []
    assert [w for w in host["warnings"] if "config names this key" in w], host["warnings"]


def test_markers_of_another_network_namespace_are_not_ours(host, monkeypatch):
    interrupted_run(host)
    age_markers(host, 2 * HOUR)
    monkeypatch.setattr(probe_peer, "namespace_id", lambda: "net-4026532999")
    done = run_module(wg_probe_peer.main, dict(host["args"], state="cleaned"))
    assert done.result["leftovers"] == [] and PROBE in host["wg"].interfaces[IFACE] and len(markers(host)) == 1


def test_several_leftovers_on_several_interfaces_and_a_foreign_file(host):
    host["wg"].interfaces["branch"] = {}
    interrupted_run(host)
    done = run_module(wg_probe_peer.main, dict(host["args"], state="present", public_key=OTHER_PROBE, interfaces=[IFACE, "branch"]))
    assert done.result["registered"] == [IFACE, "branch"]
    with open(os.path.join(host["base"], IFACE, "README"), "w", encoding="utf-8") as handle:
        handle.write("not a marker\n")
    age_markers(host, 2 * HOUR)
    done = run_module(wg_probe_peer.main, dict(host["args"], state="cleaned"))
    assert sorted((r["interface"], r["public_key"]) for r in done.result["removed"]) == sorted(
        [(IFACE, PROBE), (IFACE, OTHER_PROBE), ("branch", OTHER_PROBE)])
    assert host["wg"].interfaces == {IFACE: {SPOKE: ["10.66.0.11/32"], UNMARKED: []}, "branch": {}}
    assert markers(host) == [os.path.join(host["base"], IFACE, "README")]


def test_only_the_interfaces_asked_for(host):
    host["wg"].interfaces["branch"] = {}
    done = run_module(wg_probe_peer.main, dict(host["args"], state="present", public_key=PROBE, interfaces=[IFACE, "branch"]))
    age_markers(host, 2 * HOUR)
    done = run_module(wg_probe_peer.main, dict(host["args"], state="cleaned", interfaces=["branch"]))
    assert done.result["removed"] == [{"interface": "branch", "public_key": PROBE}]
    assert PROBE in host["wg"].interfaces[IFACE]


@pytest.mark.parametrize("args, message", [
    ({"state": "present", "public_key": "not-a-key", "interfaces": [IFACE]}, "not a WireGuard public key"),
    ({"state": "absent", "public_key": PROBE, "interfaces": ["../etc"]}, "not an interface name"),
    ({"state": "present", "interfaces": [IFACE]}, "public_key"),
    ({"state": "cleaned", "min_age": -1}, "min_age"),
])
def test_bad_input_is_a_clear_error(host, args, message):
    done = run_module(wg_probe_peer.main, dict(host["args"], **args))
    assert done.failed and message in done.result["msg"]


def test_a_host_without_wg_has_nothing_to_clean_and_cannot_take_a_probe_peer(host, monkeypatch):
    monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", lambda self, name, *a, **k: None)
    done = run_module(wg_probe_peer.main, dict(host["args"], state="cleaned"))
    assert not done.failed and not done.result["changed"] and done.result["leftovers"] == []
    done = run_module(wg_probe_peer.main, dict(host["args"], state="present", public_key=PROBE, interfaces=[IFACE]))
    assert done.failed and "wg (wireguard-tools) was not found" in done.result["msg"]
