# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The monitor's check: a tunnel that dies alerts once, after exactly N failed checks, and once when it is back.

The check ships as a plain file in roles/monitor/files and runs on the host under `python3 -I`; it is
imported here by path. Its inputs are recorded: `wg show all dump` of a client (a PresharedKey in the
dump, a private key on the interface line) and what iputils and busybox ping print.
"""
from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import types
import typing as t

import pytest

REPO = os.path.join(os.path.dirname(__file__), "..", "..", "..")
SOURCE_SCRIPT = os.path.join(REPO, "roles", "monitor", "files", "wgdoctor-monitor")
PING_PY = os.path.join(REPO, "plugins", "module_utils", "host", "ping.py")
FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
sys.path.insert(0, os.path.join(REPO, "tests", "unit", "records"))
from ping_outputs import ANSWERED, BUSYBOX_ANSWERED, ICMP_ERRORS, NO_ANSWER, ONE_OF_THREE  # noqa: E402

RECORDED_HANDSHAKE = 1795622121
SERVER = "amWm682tbJ6e7Ik/1DrZUkFLnFU78wWeHLXELqsaCTk="
OTHER = "L30XzCJmzlDqqFtTRcx8YPiLpw9Yoaa8GRDo4uiPuRU="
PRIVATE_KEY = "OCefB5ml88HJdg+rJgSw2hPkqHjvPkGUc4fl/uSQ+Hg="
PRESHARED_KEY = "1siCFdd+eLAvM4I/r7ZvGivYak9tVzUS4Xsn7WJziA8="
SECRETS = (PRIVATE_KEY, PRESHARED_KEY)


def install(directory: str) -> str:
    """What the monitor role puts on the host: the check and, beside it, the collection's ping reader."""
    script = os.path.join(directory, "wgdoctor-monitor")
    shutil.copy(SOURCE_SCRIPT, script)
    shutil.copy(PING_PY, os.path.join(directory, "wgdoctor_ping.py"))
    return script


SCRIPT = install(tempfile.mkdtemp(prefix="wgdoctor-monitor-"))


def load_check() -> types.ModuleType:
    """A fresh copy of the script as a module: a second load is a restarted process's memory."""
    loader = importlib.machinery.SourceFileLoader("wgdoctor_monitor", SCRIPT)
    spec = importlib.util.spec_from_loader("wgdoctor_monitor", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


monitor = load_check()


def recorded_dump() -> str:
    with open(os.path.join(FIXTURES, "two_peers_client.dump"), encoding="utf-8") as handle:
        return handle.read()


class Host:
    """The client as the check sees it: the dump, which addresses answer ping, the clock."""

    def __init__(self, tmp_path, **settings: t.Any) -> None:
        self.now = float(RECORDED_HANDSHAKE + 5)
        self.lines = [line.split("\t") for line in recorded_dump().splitlines()]
        self.answering = {"10.99.31.1", "10.99.31.7"}
        self.pinged: list[str] = []
        self.hooked: list[dict] = []
        self.posted: list[dict] = []
        self.config = dict(monitor.DEFAULTS, state_dir=str(tmp_path / "state"), textfile_dir=str(tmp_path / "textfile"),
                           config_dir=str(tmp_path / "wireguard"), host="client", alert_command=["/usr/local/bin/page-me"],
                           webhook_url="http://10.77.2.2:8080/alert")
        self.config.update(settings)
        os.makedirs(self.config["textfile_dir"], exist_ok=True)
        os.makedirs(self.config["config_dir"], exist_ok=True)
        open(os.path.join(self.config["config_dir"], "wgmon.conf"), "w").close()

    def dump(self) -> str:
        return "".join("\t".join(fields) + "\n" for fields in self.lines)

    def ping(self, address: str, count: int, timeout: int) -> dict:
        self.pinged.append(address)
        if address not in self.answering:
            return monitor.parse_ping(NO_ANSWER["stdout"])
        # A reply means a fresh session: WireGuard handshook for the ping if it had to.
        for fields in self.lines[1:]:
            if address + "/32" in fields[4].split(","):
                fields[5] = str(int(self.now) - 3)
        return monitor.parse_ping(ANSWERED["stdout"])

    def hook(self, command: list[str], alert: dict, timeout: int) -> None:
        self.hooked.append(monitor.hook_environment(alert))

    def webhook(self, url: str, alert: dict, timeout: int) -> None:
        self.posted.append(json.loads(monitor.webhook_body(alert)))

    def check(self, check_module: types.ModuleType = monitor) -> list[dict]:
        """One timer run, `monitor_interval` (60 s) after the previous one."""
        self.now += 60
        return check_module.run(self.config, read_dump=self.dump, pinger=self.ping, clock=lambda: self.now,
                                hook=self.hook, webhook=self.webhook)

    def metrics(self) -> str:
        with open(os.path.join(self.config["textfile_dir"], "wgdoctor_monitor.prom"), encoding="utf-8") as handle:
            return handle.read()

    def state(self) -> dict:
        with open(os.path.join(self.config["state_dir"], "state.json"), encoding="utf-8") as handle:
            return json.load(handle)


def server_alerts(alerts: list[dict]) -> list[str]:
    return [alert["state"] for alert in alerts if alert["peer"] == SERVER]


# ---------------------------------------------------------------- reading the inputs

def test_dump_keeps_no_secret_column():
    interfaces = monitor.parse_dump(recorded_dump(), now=RECORDED_HANDSHAKE + 42)
    text = json.dumps(interfaces)
    assert not [secret for secret in SECRETS if secret in text]
    server = interfaces["wgmon"][0]
    assert server == {"public_key": SERVER, "endpoint": "10.200.31.1:51831", "allowed_ips": ["10.99.31.1/32", "10.99.31.0/24"],
                      "latest_handshake_age": 42, "transfer_tx": 180, "persistent_keepalive": 25}


def test_a_peer_that_never_handshook_has_no_age():
    never = recorded_dump().replace("\t1795622121\t4000", "\t0\t4000")
    other = monitor.parse_dump(never, now=RECORDED_HANDSHAKE)["wgmon"][1]
    assert other["latest_handshake_age"] is None and other["persistent_keepalive"] is None


def test_the_ping_address_is_the_first_allowed_ips_host_unless_named():
    assert monitor.host_address(["10.99.31.0/24", "10.99.31.1/32"]) == "10.99.31.1"
    assert monitor.host_address(["0.0.0.0/0", "fd00::5/128"]) == "fd00::5"
    assert monitor.host_address(["0.0.0.0/0", "::/0"]) is None
    interfaces = monitor.parse_dump(recorded_dump(), now=RECORDED_HANDSHAKE)
    config = dict(monitor.DEFAULTS, peers=[{"public_key": SERVER, "address": "10.99.31.254"}])
    assert [(interface, peer["public_key"], address) for interface, peer, address in monitor.selected_peers(config, interfaces)] == [
        ("wgmon", SERVER, "10.99.31.254")]
    config = dict(monitor.DEFAULTS, interfaces=["wgother"])
    assert monitor.selected_peers(config, interfaces) == []


@pytest.mark.parametrize("output, received, rtt", [
    (ANSWERED, 3, 0.000205), (ONE_OF_THREE, 1, 0.000611), (NO_ANSWER, 0, None), (ICMP_ERRORS, 0, None),
    (BUSYBOX_ANSWERED, 3, 0.000101),
])
def test_ping_summary_of_iputils_and_busybox(output, received, rtt):
    parsed = monitor.parse_ping(output["stdout"])
    assert parsed["received"] == received and parsed["transmitted"] == 3
    assert parsed["rtt_seconds"] == pytest.approx(rtt) if rtt else parsed["rtt_seconds"] is None


def test_stale_handshake_fails_only_while_traffic_is_expected():
    idle = {"public_key": OTHER, "endpoint": None, "allowed_ips": ["10.99.31.0/24"], "latest_handshake_age": 900,
            "transfer_tx": 5000, "persistent_keepalive": None}
    assert monitor.check_peer(idle, None, None, {"transfer_tx": 5000}, 180) == (False, [])
    # It sent bytes since the last run and got no handshake for them.
    failing, reasons = monitor.check_peer(dict(idle, transfer_tx=5148), None, None, {"transfer_tx": 5000}, 180)
    assert failing and reasons == ["latest handshake 900 s ago (limit 180 s)"]
    assert monitor.check_peer(dict(idle, persistent_keepalive=25), None, None, {}, 180)[0]
    assert monitor.check_peer(dict(idle, latest_handshake_age=None), "10.99.31.7", {"transmitted": 3, "received": 3}, {}, 180) == (
        True, ["no handshake yet"])


# ---------------------------------------------------------------- the outage story

def test_healthy_runs_never_alert(tmp_path):
    host = Host(tmp_path)
    alerts = [alert for _run in range(5) for alert in host.check()]
    assert alerts == [] and host.hooked == [] and host.posted == []
    assert sorted(set(host.pinged)) == ["10.99.31.1", "10.99.31.7"]
    assert {entry["failures"] for entry in host.state()["peers"].values()} == {0}


def test_one_alert_after_exactly_the_configured_failures_none_while_down_one_on_recovery(tmp_path):
    host = Host(tmp_path, failures=3)
    host.check()
    host.answering.discard("10.99.31.1")
    assert server_alerts(host.check()) == [] and server_alerts(host.check()) == []
    assert host.state()["peers"]["wgmon " + SERVER]["failures"] == 2
    assert server_alerts(host.check()) == ["down"]
    assert [env["WG_STATE"] for env in host.hooked] == ["down"] and [body["state"] for body in host.posted] == ["down"]
    for _still_down in range(4):
        assert host.check() == []
    host.answering.add("10.99.31.1")
    assert server_alerts(host.check()) == ["up"]
    assert host.check() == []
    assert [env["WG_STATE"] for env in host.hooked] == ["down", "up"]
    assert [body["state"] for body in host.posted] == ["down", "up"]


def test_a_single_failed_check_is_a_blip_not_an_outage(tmp_path):
    host = Host(tmp_path)
    host.answering.discard("10.99.31.1")
    host.check()
    host.answering.add("10.99.31.1")
    assert host.check() == [] and host.check() == [] and host.hooked == []


def test_what_the_alert_says_helps(tmp_path):
    host = Host(tmp_path)
    host.answering.discard("10.99.31.1")
    host.check()
    (down,) = host.check()
    assert host.posted[0] == {
        "text": down["text"], "host": "client", "interface": "wgmon", "peer": SERVER, "endpoint": "10.200.31.1:51831",
        "state": "down", "failures": 2, "latest_handshake_age": 125, "down_for_seconds": 60,
        "reasons": ["no reply to 3 pings of 10.99.31.1"], "diagnose": "ansible-playbook wgdoctor.wireguard.diagnose --limit client"}
    assert "ansible-playbook wgdoctor.wireguard.diagnose --limit client" in down["text"]
    environment = host.hooked[0]
    assert {name: environment[name] for name in ("WG_PEER", "WG_INTERFACE", "WG_STATE", "WG_FAILURES", "WG_HANDSHAKE_AGE",
                                                 "WG_ENDPOINT")} == {
        "WG_PEER": SERVER, "WG_INTERFACE": "wgmon", "WG_STATE": "down", "WG_FAILURES": "2", "WG_HANDSHAKE_AGE": "125",
        "WG_ENDPOINT": "10.200.31.1:51831"}
    host.check()
    host.answering.add("10.99.31.1")
    (up,) = host.check()
    # Down since the first failed check, three timer runs of 60 s ago.
    assert up["down_for_seconds"] == 180 and host.posted[1]["down_for_seconds"] == 180


def test_state_survives_a_restart_of_the_process(tmp_path):
    host = Host(tmp_path)
    host.answering.discard("10.99.31.1")
    host.check(load_check())
    assert server_alerts(host.check(load_check())) == ["down"]
    # A reboot: new process, same state file; the outage was already announced.
    assert host.check(load_check()) == []
    host.answering.add("10.99.31.1")
    assert server_alerts(host.check(load_check())) == ["up"]


def test_a_removed_peer_is_forgotten(tmp_path):
    host = Host(tmp_path)
    host.answering.discard("10.99.31.7")
    host.check()
    assert "wgmon " + OTHER in host.state()["peers"]
    del host.lines[2]
    assert host.check() == []
    assert list(host.state()["peers"]) == ["wgmon " + SERVER]
    assert OTHER not in host.metrics()


def test_a_configured_interface_that_stopped_is_an_outage_and_a_deleted_one_is_forgotten(tmp_path):
    host = Host(tmp_path)
    host.check()
    running = host.lines
    host.lines = []
    host.check()
    assert sorted(alert["peer"] for alert in host.check()) == sorted([SERVER, OTHER])
    assert "interface wgmon is not running" in host.posted[0]["reasons"]
    host.lines = running
    assert sorted(alert["state"] for alert in host.check()) == ["up", "up"]
    host.lines = []
    os.unlink(os.path.join(host.config["config_dir"], "wgmon.conf"))
    assert host.check() == [] and host.state()["peers"] == {}


def test_an_overlapping_run_steps_aside(tmp_path):
    host = Host(tmp_path)
    os.makedirs(host.config["state_dir"])
    held = monitor.take_lock(host.config["state_dir"])
    try:
        with pytest.raises(monitor.Locked):
            host.check()
    finally:
        held.close()
    assert host.check() == []


def test_the_state_file_is_replaced_whole(tmp_path):
    host = Host(tmp_path)
    host.check()
    assert sorted(os.listdir(host.config["state_dir"])) == ["lock", "state.json"]
    assert sorted(os.listdir(host.config["textfile_dir"])) == ["wgdoctor_monitor.prom"]


# ---------------------------------------------------------------- metrics

def samples_of(text: str) -> dict:
    parser = pytest.importorskip("prometheus_client.parser")
    found = {}
    for family in parser.text_string_to_metric_families(text):
        assert family.type == "gauge" and family.documentation
        for sample in family.samples:
            found[(sample.name, sample.labels.get("peer"))] = sample.value
    return found


def test_metrics_follow_the_state_and_parse_as_prometheus_text(tmp_path):
    host = Host(tmp_path)
    host.check()
    healthy = samples_of(host.metrics())
    assert healthy[("wireguard_peer_up", SERVER)] == 1 and healthy[("wireguard_consecutive_failures", SERVER)] == 0
    assert healthy[("wireguard_latest_handshake_age_seconds", SERVER)] == 3
    assert healthy[("wireguard_ping_rtt_seconds", SERVER)] == pytest.approx(0.000205)
    assert healthy[("wireguard_monitor_last_run_timestamp_seconds", None)] == host.now
    host.answering.discard("10.99.31.1")
    host.check()
    host.check()
    down = samples_of(host.metrics())
    assert down[("wireguard_peer_up", SERVER)] == 0 and down[("wireguard_consecutive_failures", SERVER)] == 2
    assert down[("wireguard_latest_handshake_age_seconds", SERVER)] == 123
    assert ("wireguard_ping_rtt_seconds", SERVER) not in down
    assert down[("wireguard_peer_up", OTHER)] == 1
    assert 'interface="wgmon"' in host.metrics()


def test_a_peer_that_never_handshook_reports_an_infinite_age():
    text = monitor.render_metrics([{"interface": "wgmon", "public_key": OTHER, "up": False, "failures": 1, "running": True,
                                    "latest_handshake_age": None, "rtt_seconds": None}], now=RECORDED_HANDSHAKE)
    assert samples_of(text)[("wireguard_latest_handshake_age_seconds", OTHER)] == float("inf")


# ---------------------------------------------------------------- no key anywhere

def test_no_key_in_state_metrics_alerts_or_logs(tmp_path, capsys):
    host = Host(tmp_path)
    host.answering.clear()
    for _run in range(3):
        host.check()
    host.answering.update({"10.99.31.1", "10.99.31.7"})
    host.check()
    captured = capsys.readouterr()
    everything = "\n".join([json.dumps(host.state()), host.metrics(), json.dumps(host.hooked), json.dumps(host.posted),
                            captured.out, captured.err])
    assert len(host.posted) == 4
    assert not [secret for secret in SECRETS if secret in everything]


# ---------------------------------------------------------------- the real program, process by process

def write_executable(path, text: str) -> None:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def test_the_program_alerts_once_across_separate_processes_through_its_command_hook(tmp_path):
    """As the timer runs it: `python3 -I wgdoctor-monitor --config FILE`, wg and ping found on PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (tmp_path / "wireguard").mkdir()
    (tmp_path / "wireguard" / "wgmon.conf").write_text("")
    dump = recorded_dump().replace("\t1795622121\t", "\t__NOW__\t")
    write_executable(bin_dir / "wg", "#!/bin/sh\nsed \"s/__NOW__/$(date +%%s)/\" <<'DUMP'\n%sDUMP\n" % dump)
    (tmp_path / "no_answer").write_text(NO_ANSWER["stdout"])
    write_executable(bin_dir / "ping", "#!/bin/sh\ncat %s\nexit 1\n" % (tmp_path / "no_answer"))
    alerts_log = tmp_path / "alerts.log"
    write_executable(bin_dir / "page-me", "#!/bin/sh\necho \"$WG_STATE $WG_INTERFACE $WG_FAILURES $WG_PEER\" >> %s\n" % alerts_log)
    config = tmp_path / "monitor.json"
    config.write_text(json.dumps({"state_dir": str(tmp_path / "state"), "config_dir": str(tmp_path / "wireguard"),
                                  "alert_command": [str(bin_dir / "page-me")], "host": "client", "ping_count": 1}))
    environment = {"PATH": "%s:/usr/bin:/bin" % bin_dir, "JOURNAL_STREAM": "8:1"}
    runs = [subprocess.run([sys.executable, "-I", SCRIPT, "--config", str(config)], env=environment, capture_output=True,
                           text=True, check=False) for _run in range(3)]
    assert [run.returncode for run in runs] == [0, 0, 0], runs[-1].stderr
    logged = alerts_log.read_text().splitlines()
    assert sorted(logged) == sorted(["down wgmon 2 " + SERVER, "down wgmon 2 " + OTHER])
    journal = "".join(run.stderr for run in runs)
    assert journal.count("is DOWN") == 2 and not [secret for secret in SECRETS if secret in journal]


def test_the_check_reads_ping_with_the_collections_reader():
    assert monitor.ping_reader.__file__ == os.path.join(os.path.dirname(SCRIPT), "wgdoctor_ping.py")
    assert monitor.parse_ping(BUSYBOX_ANSWERED["stdout"])["received"] == 3


def test_the_check_without_its_ping_reader_says_what_is_missing(tmp_path):
    script = install(str(tmp_path))
    os.remove(str(tmp_path / "wgdoctor_ping.py"))
    result = subprocess.run([sys.executable, "-I", script, "--help"], capture_output=True, text=True, check=False)
    assert result.returncode != 0
    assert "wgdoctor_ping.py is missing" in result.stderr and "Traceback" not in result.stderr
