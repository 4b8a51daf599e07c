"""The monitor role on the lab's client: a tunnel that dies is announced once, after exactly two failed checks.

The webhook goes to a small HTTP server this test runs on the lab's router, on the router's own site
address; the alert command writes what it was given to a file on the client. Checks are started with
`systemctl start wgdoctor-monitor.service` (the timer's interval is an hour), so every step of the story
is one known check. The tunnel is broken the way a cloud firewall breaks it: UDP to the server's
ListenPort dropped on the server.
"""
from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import time

import pytest
import yaml

from conftest import LAB, PREFIX, lab_env

prometheus_parser = pytest.importorskip("prometheus_client.parser")

RECEIVER = r"""
import http.server, sys

class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with open("/root/webhook.log", "ab") as log:
            log.write(body.replace(b"\n", b" ") + b"\n")
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass

http.server.HTTPServer((sys.argv[1], int(sys.argv[2])), Receiver).serve_forever()
"""
RECEIVER_PORT = 18080
HOOK = """#!/bin/sh
echo "$WG_STATE $WG_INTERFACE $WG_FAILURES $WG_PEER $WG_ENDPOINT handshake=$WG_HANDSHAKE_AGE" >> /root/monitor-alerts.log
"""
TEXTFILE_DIR = "/var/lib/node_exporter/textfile_collector"
PLAY = """\
- name: Watch the client's tunnel
  hosts: client
  gather_facts: false
  roles:
    - role: wgdoctor.wireguard.monitor
      vars:
        monitor_state: {state}
        monitor_interfaces: [wg0]
        monitor_interval: 3600
        monitor_ping_count: 1
        monitor_ping_timeout: 1
        monitor_alert_command: [/usr/local/bin/lab-monitor-alert]
        monitor_webhook_url: "http://{receiver}:{port}/alert"
        monitor_webhook_timeout: 5
        monitor_textfile_dir: {textfile_dir}
"""
BREAK = ("nft add table inet lab_monitor_test; "
         "nft add chain inet lab_monitor_test input '{{ type filter hook input priority 0; }}'; "
         "nft add rule inet lab_monitor_test input udp dport {port} drop")


def lab_topology():
    spec = importlib.util.spec_from_file_location("lab_topology", LAB)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def watched(lab, tmp_path):
    """The healthy tunnel, the webhook receiver on the router, the hook script on the client, and two plays."""
    lab.restore_healthy()
    lab.wait_for_handshake()
    receiver = lab_topology().HOSTS["router"]["networks"]["site"]
    lab.sh("router", f"cat > /root/webhook_receiver.py <<'PY'\n{RECEIVER}\nPY\n: > /root/webhook.log; "
                     f"systemd-run --unit=lab-monitor-webhook python3 /root/webhook_receiver.py {receiver} {RECEIVER_PORT}")
    lab.sh("client", f"cat > /usr/local/bin/lab-monitor-alert <<'SH'\n{HOOK}SH\nchmod 755 /usr/local/bin/lab-monitor-alert; "
                     f"rm -f /root/monitor-alerts.log; mkdir -p {TEXTFILE_DIR}")
    plays = {}
    for state in ("present", "absent"):
        plays[state] = str(tmp_path / f"monitor_{state}.yml")
        with open(plays[state], "w", encoding="utf-8") as handle:
            handle.write(PLAY.format(state=state, receiver=receiver, port=RECEIVER_PORT, textfile_dir=TEXTFILE_DIR))
    try:
        yield {"plays": plays, "port": lab.sh("server", "wg show wg0 listen-port").stdout.strip()}
    finally:
        lab.sh("server", "nft delete table inet lab_monitor_test", check=False)
        lab.sh("router", "systemctl stop lab-monitor-webhook", check=False)
        lab.playbook(plays["absent"], check=False)
        lab.sh("client", "rm -f /usr/local/bin/lab-monitor-alert /root/monitor-alerts.log", check=False)
        lab.back_to_healthy()


def check(lab) -> None:
    """One run of the check, to its end (a oneshot service: systemctl start waits for it)."""
    lab.sh("client", "systemctl start wgdoctor-monitor.service")


def alerts(lab) -> list[str]:
    return lab.sh("client", "cat /root/monitor-alerts.log 2>/dev/null || true").stdout.splitlines()


def webhooks(lab) -> list[dict]:
    return [json.loads(line) for line in lab.sh("router", "cat /root/webhook.log").stdout.splitlines()]


def metrics(lab) -> dict:
    text = lab.sh("client", f"cat {TEXTFILE_DIR}/wgdoctor_monitor.prom").stdout
    found = {}
    for family in prometheus_parser.text_string_to_metric_families(text):
        for sample in family.samples:
            assert sample.labels.get("interface", "wg0") == "wg0"
            found[sample.name] = sample.value
    return found


def test_a_dropped_tunnel_alerts_once_after_two_failed_checks_and_once_when_it_is_back(lab, watched):
    plays = watched["plays"]
    private_key = lab.sh("client", "wg show wg0 private-key").stdout.strip()
    server_key = lab.sh("server", "wg show wg0 public-key").stdout.strip()

    preview = lab.playbook(plays["present"], "--check", "--diff")
    assert "/usr/local/sbin/wgdoctor-monitor" in preview.stdout
    # A chat webhook URL is a token: the settings file is never shown in a diff while one is set.
    assert f":{RECEIVER_PORT}/alert" not in preview.stdout
    assert lab.sh("client", "ls /usr/local/sbin/wgdoctor-monitor /etc/systemd/system/wgdoctor-monitor.timer",
                  check=False).returncode != 0, "check mode installed the monitor"

    first = lab.playbook(plays["present"])
    again = lab.playbook(plays["present"])
    assert re.search(r"client\s*:.*changed=0", again.stdout), again.stdout[-3000:]
    assert lab.sh("client", "systemctl is-enabled wgdoctor-monitor.timer; systemctl is-active wgdoctor-monitor.timer").stdout.split() == [
        "enabled", "active"]
    # The timer's first run at its start: wait for it so every later run is one of ours.
    lab.sh("client", "for _ in $(seq 50); do test -s /var/lib/wgdoctor-monitor/state.json && break; sleep 0.2; done; "
                     "while systemctl is-active -q wgdoctor-monitor.service; do sleep 0.2; done")

    for _healthy_run in range(3):
        check(lab)
        assert metrics(lab)["wireguard_peer_up"] == 1
    assert alerts(lab) == [] and webhooks(lab) == []
    healthy = metrics(lab)
    assert healthy["wireguard_consecutive_failures"] == 0 and 0 < healthy["wireguard_ping_rtt_seconds"] < 1
    assert 0 <= healthy["wireguard_latest_handshake_age_seconds"] < 180

    lab.sh("server", BREAK.format(port=watched["port"]))
    check(lab)
    assert alerts(lab) == [] and webhooks(lab) == [], "an alert after one failed check"
    down = metrics(lab)
    assert down["wireguard_peer_up"] == 0 and down["wireguard_consecutive_failures"] == 1
    assert "wireguard_ping_rtt_seconds" not in down

    check(lab)
    assert len(alerts(lab)) == 1 and alerts(lab)[0].startswith(f"down wg0 2 {server_key} ")
    (alert,) = webhooks(lab)
    assert {name: alert[name] for name in ("state", "interface", "peer", "failures", "host")} == {
        "state": "down", "interface": "wg0", "peer": server_key, "failures": 2, "host": "client"}
    assert alert["endpoint"].endswith(":" + watched["port"]) and alert["down_for_seconds"] >= 1
    assert alert["diagnose"] == "ansible-playbook wgdoctor.wireguard.diagnose --limit client"
    assert metrics(lab)["wireguard_consecutive_failures"] == 2

    for failures in (3, 4):
        check(lab)
        assert metrics(lab)["wireguard_consecutive_failures"] == failures
    assert len(alerts(lab)) == 1 and len(webhooks(lab)) == 1, "the outage was announced again"
    assert "is DOWN" in lab.sh("client", "journalctl -u wgdoctor-monitor.service --no-pager").stdout

    # A reboot of the client keeps the timer and the state: the outage is not announced again.
    lab.lab("restart", "client")
    assert lab.sh("client", "systemctl is-enabled wgdoctor-monitor.timer; systemctl is-active wgdoctor-monitor.timer").stdout.split() == [
        "enabled", "active"]
    check(lab)
    assert metrics(lab)["wireguard_consecutive_failures"] == 5
    assert len(alerts(lab)) == 1 and len(webhooks(lab)) == 1, "the outage was announced again after a reboot"

    lab.sh("server", "nft delete table inet lab_monitor_test")
    lab.wait_for_handshake()
    check(lab)
    assert [line.split()[0] for line in alerts(lab)] == ["down", "up"]
    assert [body["state"] for body in webhooks(lab)] == ["down", "up"]
    assert webhooks(lab)[1]["down_for_seconds"] >= webhooks(lab)[0]["down_for_seconds"]
    back = metrics(lab)
    assert back["wireguard_peer_up"] == 1 and back["wireguard_consecutive_failures"] == 0
    check(lab)
    assert len(alerts(lab)) == 2 and len(webhooks(lab)) == 2

    everything = "\n".join([first.stdout, again.stdout, preview.stdout, json.dumps(webhooks(lab)), "\n".join(alerts(lab)),
                            lab.sh("client", f"cat /var/lib/wgdoctor-monitor/state.json {TEXTFILE_DIR}/wgdoctor_monitor.prom; "
                                             "journalctl -u wgdoctor-monitor.service --no-pager").stdout])
    assert private_key and private_key not in everything

    removed = lab.playbook(plays["absent"])
    assert "changed=0" not in removed.stdout
    leftovers = lab.sh("client", "ls -d /usr/local/sbin/wgdoctor-monitor /usr/local/sbin/wgdoctor_ping.py /etc/wgdoctor-monitor.json /var/lib/wgdoctor-monitor "
                                 f"/etc/systemd/system/wgdoctor-monitor.* /etc/cron.d/wgdoctor-monitor {TEXTFILE_DIR}/wgdoctor_monitor.prom "
                                 "2>/dev/null || true").stdout
    assert leftovers.strip() == ""
    assert lab.sh("client", "systemctl is-active wgdoctor-monitor.timer", check=False).stdout.strip() != "active"
    assert re.search(r"client\s*:.*changed=0", lab.playbook(plays["absent"]).stdout)


# ---------------------------------------------------------------- a host whose PID 1 is cron
CRON_PLAY = """\
- name: Watch the tunnel of a host without systemd
  hosts: moncron
  gather_facts: false
  roles:
    - role: wgdoctor.wireguard.monitor
      vars:
        monitor_state: {state}
        monitor_interfaces: [wgmon7]
        monitor_interval: {interval}
        monitor_ping_count: 1
        monitor_ping_timeout: 1
        monitor_alert_command: [/usr/local/bin/lab-monitor-alert]
        monitor_webhook_url: "http://{receiver}:{port}/alert"
        monitor_textfile_dir: {textfile_dir}
"""


@pytest.fixture
def cron_host(lab, watched, tmp_path):
    """A site host whose PID 1 is cron, with its own tunnel wgmon7 to the server (its peer added live there)."""
    topology = lab_topology()
    container = f"{PREFIX}-moncron"
    tag = subprocess.run([sys.executable, LAB, "image"], env=lab_env(), check=True, capture_output=True, text=True).stdout.strip()
    router_site = topology.HOSTS["router"]["networks"]["site"]
    subprocess.run(["podman", "run", "-d", "--name", container, "--hostname", "moncron", "--label", f"wgdoctor-lab={PREFIX}",
                    "--cap-add", "NET_ADMIN,NET_RAW", "--device", "/dev/net/tun",
                    "--network", f"{PREFIX}-site:ip={topology.SITE}.13", tag, "/usr/sbin/cron", "-f"],
                   env=lab_env(), check=True, capture_output=True)

    def on_host(script: str, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(["podman", "exec", container, "sh", "-ec", script], env=lab_env(), text=True, capture_output=True,
                              check=False)
        assert not check or proc.returncode == 0, proc.stdout + proc.stderr
        return proc

    server_key = lab.sh("server", "wg show wg0 public-key").stdout.strip()
    server = topology.HOSTS["server"]["networks"]["public"]
    on_host(f"""
ip route replace default via {router_site}
umask 077
cat > /etc/wireguard/wgmon7.conf <<CONF
[Interface]
Address = 10.99.0.57/24
PrivateKey = $(wg genkey)

[Peer]
PublicKey = {server_key}
AllowedIPs = 10.99.0.1/32
Endpoint = {server}:{watched['port']}
CONF
WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go wg-quick up wgmon7 >/dev/null 2>&1
cat > /usr/local/bin/lab-monitor-alert <<'SH'
{HOOK}SH
chmod 755 /usr/local/bin/lab-monitor-alert
mkdir -p {TEXTFILE_DIR}
""")
    host_key = on_host("wg show wgmon7 public-key").stdout.strip()
    lab.sh("server", f"wg set wg0 peer {host_key} allowed-ips 10.99.0.57/32")
    inventory = tmp_path / "moncron.json"
    inventory.write_text(json.dumps({"all": {"hosts": {"moncron": {
        "ansible_connection": "containers.podman.podman", "ansible_host": container,
        "ansible_python_interpreter": "/usr/bin/python3"}}}}))
    receiver = topology.HOSTS["router"]["networks"]["site"]

    def play(state: str, interval: int) -> subprocess.CompletedProcess:
        path = tmp_path / f"moncron_{state}_{interval}.yml"
        path.write_text(CRON_PLAY.format(state=state, interval=interval, receiver=receiver, port=RECEIVER_PORT,
                                         textfile_dir=TEXTFILE_DIR))
        return subprocess.run(["ansible-playbook", "-i", str(inventory), str(path)], env=lab_env(), text=True,
                              capture_output=True, check=False)

    try:
        yield {"on_host": on_host, "play": play, "server_key": server_key}
    finally:
        subprocess.run(["podman", "rm", "-f", "-t", "0", container], env=lab_env(), check=False, capture_output=True)


def test_without_systemd_cron_runs_the_same_check_with_the_same_alerts(lab, cron_host):
    on_host, play = cron_host["on_host"], cron_host["play"]
    # An hour between cron runs: the story's checks are the ones this test starts.
    installed = play("present", 3600)
    assert installed.returncode == 0, installed.stdout[-4000:] + installed.stderr[-2000:]
    cron_file = on_host("cat /etc/cron.d/wgdoctor-monitor").stdout
    job = re.search(r"^0 \*/1 \* \* \* root (.*)$", cron_file, re.M)
    assert job and job.group(1) == "/usr/bin/python3 -I /usr/local/sbin/wgdoctor-monitor --config /etc/wgdoctor-monitor.json"
    assert on_host("ls /etc/systemd/system | grep -c wgdoctor || true").stdout.strip() == "0"
    again = play("present", 3600)
    assert re.search(r"moncron\s*:.*changed=0", again.stdout), again.stdout[-3000:]

    def check() -> None:
        on_host(job.group(1))

    def host_alerts() -> list[str]:
        return on_host("cat /root/monitor-alerts.log 2>/dev/null || true").stdout.splitlines()

    def host_webhooks() -> list[dict]:
        return [body for body in webhooks(lab) if body["host"] == "moncron"]

    check()
    check()
    assert host_alerts() == [] and host_webhooks() == []
    lab.sh("server", BREAK.format(port=lab.sh("server", "wg show wg0 listen-port").stdout.strip()))
    check()
    assert host_alerts() == []
    check()
    assert [line.split()[:3] for line in host_alerts()] == [["down", "wgmon7", "2"]]
    assert [(body["state"], body["interface"], body["peer"]) for body in host_webhooks()] == [("down", "wgmon7", cron_host["server_key"])]
    check()
    assert len(host_alerts()) == 1
    lab.sh("server", "nft delete table inet lab_monitor_test")
    deadline = time.monotonic() + 25
    while on_host("ping -c 1 -W 1 10.99.0.1", check=False).returncode != 0 and time.monotonic() < deadline:
        time.sleep(0.5)
    check()
    assert [line.split()[0] for line in host_alerts()] == ["down", "up"]
    assert [body["state"] for body in host_webhooks()] == ["down", "up"]

    # cron itself runs the job: every 5 s is twelve offsets a minute.
    assert play("present", 5).returncode == 0
    assert len(re.findall(r"^\* \* \* \* \* root ", on_host("cat /etc/cron.d/wgdoctor-monitor").stdout, re.M)) == 12
    before = on_host(f"grep '^wireguard_monitor_last_run_timestamp_seconds' {TEXTFILE_DIR}/wgdoctor_monitor.prom").stdout.split()[1]
    deadline = time.monotonic() + 75
    while time.monotonic() < deadline:
        now = on_host(f"grep '^wireguard_monitor_last_run_timestamp_seconds' {TEXTFILE_DIR}/wgdoctor_monitor.prom").stdout.split()[1]
        if now != before:
            break
        time.sleep(3)
    assert now != before, "cron did not run the check within 75 s"

    removed = play("absent", 5)
    assert removed.returncode == 0
    assert on_host("ls /etc/cron.d/wgdoctor-monitor /usr/local/sbin/wgdoctor-monitor /var/lib/wgdoctor-monitor 2>/dev/null || true").stdout == ""


# ---------------------------------------------------------------- the diagnosis notices the monitor
def test_the_diagnosis_shows_the_monitors_last_state_and_suggests_it_where_there_is_none(lab, watched, tmp_path):
    """The client's monitor saw an outage (down after two failed checks); the tunnel is back, its next check not yet run.
    The diagnosis shows that last word on the client's side, suggests the monitor for the server, and
    wg_remediate=true installs nothing there."""
    lab.playbook(watched["plays"]["present"])
    lab.sh("client", "for _ in $(seq 50); do test -s /var/lib/wgdoctor-monitor/state.json && break; sleep 0.2; done; "
                     "while systemctl is-active -q wgdoctor-monitor.service; do sleep 0.2; done")
    lab.sh("server", BREAK.format(port=watched["port"]))
    check(lab)
    check(lab)
    assert len(alerts(lab)) == 1
    lab.sh("server", "nft delete table inet lab_monitor_test")
    lab.wait_for_handshake()

    report = lab.diagnose(tmp_path, "-e", "wg_remediate=true")
    before = report["before"]
    (tunnel,) = [t for t in before["tunnels"] if {t["a"]["host"], t["b"]["host"]} == {"client", "server"}]
    sides = {tunnel["a"]["host"]: tunnel["a"], tunnel["b"]["host"]: tunnel["b"]}
    client = sides["client"]["monitor"]
    assert (client["installed"], client["scheduler"], client["state"], client["failures"], client["error"]) == (
        True, "systemd timer", "down", 2, None), client
    assert 0 <= client["last_check_age"] < 600
    assert sides["server"]["monitor"]["installed"] is False

    missing = [f for f in before["findings"] if f["code"] == "monitor_missing"]
    assert "server" in [f["host"] for f in missing] and "client" not in [f["host"] for f in missing], missing
    (server_finding,) = [f for f in missing if f["host"] == "server"]
    assert server_finding["severity"] == "info" and server_finding["remedy"] is None and server_finding["interface"] == "wg0"
    assert before["healthy"] is True and report["healthy"] is True
    # Remediation ran and applied nothing: the monitor is only ever installed when asked for.
    assert report["remediation"]["remedies"] == []
    assert lab.sh("server", "ls /usr/local/sbin/wgdoctor-monitor /etc/systemd/system/wgdoctor-monitor.timer 2>&1 || true"
                  ).stdout.count("No such file") == 2

    with open(tmp_path / "wg-report" / "report.md", encoding="utf-8") as handle:
        markdown = handle.read()
    assert "| client/wg0 | server | down | 2 |" in markdown and "| server/wg0 | client | not installed |" in markdown
    assert "Monitor on client/wg0: server DOWN, 2 failed checks in a row" in lab.last_run.stdout


# ---------------------------------------------------------------- a host with neither systemd nor cron
NO_SCHEDULER_INTERFACE = "wgmon9"
NO_SCHEDULER_PLAY = """\
- name: Watch the tunnel of a host that can schedule nothing
  hosts: nosched
  gather_facts: false
  roles:
    - role: wgdoctor.wireguard.monitor
      vars:
        monitor_interfaces: [{interface}]
        monitor_interval: 30
        monitor_ping_count: 1
        monitor_ping_timeout: 1
  tasks:
    - name: Keep what the role returned, for the test
      ansible.builtin.copy:
        content: "{{{{ monitor_result | to_json }}}}"
        dest: /root/monitor_result.json
        mode: "0600"

    - name: The task after the role runs too
      ansible.builtin.copy:
        content: "ran\\n"
        dest: /root/next_task_ran
        mode: "0600"
"""


@pytest.fixture(scope="module")
def no_scheduler_host(tmp_path_factory):
    """PID 1 is sleep, crontab and /etc/cron.d removed, no network."""
    container = f"{PREFIX}-nosched"
    tag = subprocess.run([sys.executable, LAB, "image"], env=lab_env(), check=True, capture_output=True, text=True).stdout.strip()

    def podman(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(["podman", *args], env=lab_env(), text=True, capture_output=True, check=False)
        assert not check or proc.returncode == 0, f"podman {' '.join(args[:3])}: {proc.stderr}"
        return proc

    podman("rm", "-f", "-t", "0", container, check=False)
    podman("run", "-d", "--name", container, "--hostname", "nosched", "--label", f"wgdoctor-lab={PREFIX}",
           "--cap-add", "NET_ADMIN,NET_RAW", "--device", "/dev/net/tun", "--network", "none", tag, "sleep", "infinity")
    try:
        # No WireGuard interface: the role and its check do not need one, and a new wireguard-go needs an inotify
        # instance, which a busy CI machine may have none of.
        podman("exec", container, "sh", "-ec", """
for binary in crontab cron crond; do
    path=$(command -v $binary || true)
    [ -z "$path" ] || rm -f "$path"
done
rm -rf /etc/cron.d
""")
        directory = tmp_path_factory.mktemp("nosched")
        inventory = directory / "inventory.json"
        inventory.write_text(json.dumps({"all": {"hosts": {"nosched": {
            "ansible_connection": "containers.podman.podman", "ansible_host": container,
            "ansible_python_interpreter": "/usr/bin/python3"}}}}))
        play = directory / "monitor.yml"
        play.write_text(NO_SCHEDULER_PLAY.format(interface=NO_SCHEDULER_INTERFACE))

        def on_host(script: str) -> str:
            return podman("exec", container, "sh", "-ec", script).stdout

        def run(*args: str, program: str = "ansible-playbook") -> subprocess.CompletedProcess:
            return subprocess.run([program, "-i", str(inventory), *args], env=lab_env(), text=True, capture_output=True, check=False)

        yield {"on_host": on_host, "run": run, "play": str(play)}
    finally:
        podman("rm", "-f", "-t", "0", container, check=False)


def test_without_systemd_or_cron_the_role_warns_plainly_installs_the_check_and_the_play_goes_on(no_scheduler_host):
    on_host, run, play = no_scheduler_host["on_host"], no_scheduler_host["run"], no_scheduler_host["play"]
    installed = run(play)
    assert installed.returncode == 0 and re.search(r"nosched\s*:.*failed=0", installed.stdout), installed.stdout[-4000:]
    assert "WARNING: nosched runs neither systemd nor cron" in installed.stdout, installed.stdout[-4000:]
    assert on_host("cat /root/next_task_ran").strip() == "ran"
    result = json.loads(on_host("cat /root/monitor_result.json"))
    assert result["scheduled"] is False and result["scheduler"] is None and "neither systemd nor cron" in result["reason"]
    # Nothing pretends to schedule it; the check itself is there for the host's own scheduler.
    assert on_host("ls /etc/cron.d /etc/systemd/system/wgdoctor-monitor.timer 2>&1 || true").count("No such file") == 2
    on_host("/usr/bin/python3 -I /usr/local/sbin/wgdoctor-monitor --config /etc/wgdoctor-monitor.json")
    assert re.search(r"nosched\s*:.*changed=0.*failed=0", run(play).stdout)

    # wg_facts tells the diagnosis what is there: the check and its state file, and nothing running it.
    facts_run = run("nosched", "-m", "wgdoctor.wireguard.wg_facts", "-a", "resolve_endpoints=false", program="ansible")
    assert facts_run.returncode == 0, facts_run.stdout[-3000:] + facts_run.stderr[-2000:]
    # The ad-hoc result as the collection's ansible.cfg prints it (YAML, of which JSON is a subset).
    monitor = yaml.safe_load(facts_run.stdout.split("=>", 1)[1])["ansible_facts"]["wireguard"]["monitor"]
    assert (monitor["installed"], monitor["scheduler"], monitor["active"], monitor["error"], monitor["peers"]) == (
        True, None, None, None, []), monitor
