"""After the monitor role: the timer runs the check, a dropped tunnel alerts once after two failed checks and once
when it is back, the metrics follow, all of it survives a reboot, and monitor_state: absent removes it.

The tests run in file order and share one lab.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

from conftest import REPO, lab_host, tunnel_works

TEXTFILE = "/var/lib/node_exporter/textfile_collector/wgdoctor_monitor.prom"
ALERTS = "/root/monitor-alerts.log"
DROP = ("nft add table inet molecule_monitor; "
        "nft add chain inet molecule_monitor input '{ type filter hook input priority 0; }'; "
        "nft add rule inet molecule_monitor input udp dport $(wg show wg0 listen-port) drop")
REMOVE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "remove.yml")


def check(client) -> None:
    client.check_output("systemctl start wgdoctor-monitor.service")


def metric(client, name: str) -> float:
    for line in client.file(TEXTFILE).content_string.splitlines():
        if line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} is not in {TEXTFILE}")


def alerts(client) -> list[str]:
    return client.run(f"cat {ALERTS}").stdout.splitlines()


def test_timer_is_active_and_enabled(client):
    assert client.run("systemctl is-active wgdoctor-monitor.timer").stdout.strip() == "active"
    assert client.run("systemctl is-enabled wgdoctor-monitor.timer").stdout.strip() == "enabled"


def test_healthy_checks_say_up_and_do_not_alert(client):
    assert tunnel_works()
    for _run in range(3):
        check(client)
    assert metric(client, "wireguard_peer_up") == 1 and metric(client, "wireguard_consecutive_failures") == 0
    assert alerts(client) == []


def test_a_dropped_tunnel_alerts_once_after_two_checks_and_once_when_back(client, server):
    server.check_output(DROP)
    try:
        check(client)
        assert alerts(client) == [] and metric(client, "wireguard_peer_up") == 0
        check(client)
        check(client)
        assert [line.split()[:3] for line in alerts(client)] == [["down", "wg0", "2"]]
        assert metric(client, "wireguard_consecutive_failures") == 3
    finally:
        server.run("nft delete table inet molecule_monitor")
    assert tunnel_works()
    check(client)
    assert [line.split()[0] for line in alerts(client)] == ["down", "up"]
    assert metric(client, "wireguard_peer_up") == 1


def test_timer_and_state_survive_a_reboot(rebooted_client):
    client = rebooted_client
    assert client.run("systemctl is-enabled wgdoctor-monitor.timer").stdout.strip() == "enabled"
    assert client.run("systemctl is-active wgdoctor-monitor.timer").stdout.strip() == "active"
    assert client.file("/var/lib/wgdoctor-monitor/state.json").exists
    assert tunnel_works()
    check(client)
    assert len(alerts(client)) == 2


def test_absent_removes_everything(tmp_path):
    inventory = tmp_path / "lab.json"
    inventory.write_text(subprocess.run([sys.executable, str(REPO / "tests" / "lab" / "lab.py"), "inventory"],
                                        check=True, stdout=subprocess.PIPE, text=True).stdout)
    playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    if not os.path.exists(playbook):
        playbook = shutil.which("ansible-playbook")
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(REPO / ".cache" / "collections"))
    runs = [subprocess.run([playbook, "-i", str(inventory), REMOVE], env=env, cwd=str(REPO), text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300, check=False) for _run in range(2)]
    assert [run.returncode for run in runs] == [0, 0], runs[-1].stdout[-4000:]
    assert not re.search(r"^client\s*:.*changed=0", runs[0].stdout, re.M)
    assert re.search(r"^client\s*:.*changed=0", runs[1].stdout, re.M), runs[1].stdout[-3000:]
    client = lab_host("client")
    for path in ("/usr/local/sbin/wgdoctor-monitor", "/usr/local/sbin/wgdoctor_ping.py", "/etc/wgdoctor-monitor.json", "/var/lib/wgdoctor-monitor",
                 "/etc/systemd/system/wgdoctor-monitor.timer", "/etc/systemd/system/wgdoctor-monitor.service", TEXTFILE):
        assert not client.file(path).exists, path
    assert client.run("systemctl is-active wgdoctor-monitor.timer").stdout.strip() != "active"
