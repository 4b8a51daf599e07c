"""After the keepalive role: keepalive 25 in the file and live, the DDNS job runs, a moved name is
followed, all of it is back after the client reboots, and keepalive_reresolve: false removes the job.

The tests run in file order and share one lab: the moved-name test needs the client as the role
left it, the reboot (module-scoped `rebooted_client`) comes after it, and the removal comes last.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time

import pytest

from conftest import PUBLIC_NET, REPO, lab_host, tunnel_works

MOVED_ADDRESS = f"{PUBLIC_NET}.20"
TIMER = "wgdoctor-reresolve@wg0.timer"
UNIT_FILES = ("/etc/systemd/system/wgdoctor-reresolve@.timer", "/etc/systemd/system/wgdoctor-reresolve@.service",
              f"/etc/systemd/system/timers.target.wants/{TIMER}")
ROLE_FILES = UNIT_FILES + ("/usr/local/sbin/wgdoctor-reresolve", "/usr/local/sbin/wgdoctor_resolve.py",
                           "/usr/local/sbin/wgdoctor_config.py", "/usr/local/sbin/wgdoctor_keys.py",
                           "/etc/default/wgdoctor-reresolve")
RERESOLVE_OFF = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reresolve_off.yml")


def running_keepalive(host) -> str:
    output = host.check_output("wg show wg0 persistent-keepalive")
    return output.split("\t")[1].strip()


def timer_state(host) -> tuple[str, str]:
    return (host.run(f"systemctl is-active {TIMER}").stdout.strip(), host.run(f"systemctl is-enabled {TIMER}").stdout.strip())


def test_keepalive_is_25_in_the_client_config(client):
    assert "PersistentKeepalive = 25" in client.file("/etc/wireguard/wg0.conf").content_string


def test_keepalive_is_25_on_the_running_interface(client):
    assert running_keepalive(client) == "25"


def test_reresolve_timer_is_active_and_enabled(client):
    assert timer_state(client) == ("active", "enabled")


def client_endpoint() -> str:
    return lab_host("client").check_output("wg show wg0 endpoints").split("\t")[1].strip()


def test_client_follows_the_server_name_to_its_new_address(client, server):
    if MOVED_ADDRESS + "/24" not in server.check_output("ip -o addr show dev eth0"):
        server.check_output(f"ip addr add {MOVED_ADDRESS}/24 dev eth0")
    subprocess.run([sys.executable, str(REPO / "tests" / "lab" / "lab.py"), "dns", "vpn.wgdoctor.test", MOVED_ADDRESS],
                   check=True)
    # Timer every 5 s, stale after 5 s in this scenario (converge.yml): well within 75 s.
    deadline = time.monotonic() + 75
    while client_endpoint() != f"{MOVED_ADDRESS}:51820" and time.monotonic() < deadline:
        time.sleep(1)
    assert client_endpoint() == f"{MOVED_ADDRESS}:51820"
    log = client.check_output("journalctl -u wgdoctor-reresolve@wg0.service --no-pager -o cat")
    assert f"setting endpoint {MOVED_ADDRESS}:51820" in log
    ping = client.run("for i in 1 2 3 4 5; do ping -c 1 -W 2 10.99.0.1 && exit 0; done; exit 1")
    assert ping.rc == 0, ping.stdout


def test_the_job_runs_confined_and_a_second_run_changes_nothing(client):
    # The job that just followed the name ran under the unit's hardening (issue #11 item 11).
    shown = client.check_output("systemctl show wgdoctor-reresolve@wg0.service -p NoNewPrivileges -p ProtectSystem "
                                "-p ProtectHome -p PrivateTmp -p CapabilityBoundingSet -p ExecStart")
    for setting in ("NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
                    "CapabilityBoundingSet=cap_net_admin\n"):
        assert setting in shown + "\n", shown
    assert "/usr/bin/python3 -I /usr/local/sbin/wgdoctor-reresolve" in shown
    before = client.check_output("journalctl -u wgdoctor-reresolve@wg0.service --no-pager -o cat").count("setting endpoint")
    # Once more under the same confinement, told to re-resolve now: the peer is already at the name's address.
    run = client.run("systemd-run --wait --pipe --collect --quiet -p NoNewPrivileges=yes -p ProtectSystem=strict "
                     "-p ReadWritePaths=-/run/wireguard -p ProtectHome=yes -p PrivateTmp=yes -p CapabilityBoundingSet=CAP_NET_ADMIN "
                     "/usr/bin/python3 -I /usr/local/sbin/wgdoctor-reresolve --interface wg0 --now")
    assert run.rc == 0 and "setting endpoint" not in run.stdout, run.stdout + run.stderr
    client.check_output("systemctl start wgdoctor-reresolve@wg0.service")
    after = client.check_output("journalctl -u wgdoctor-reresolve@wg0.service --no-pager -o cat").count("setting endpoint")
    assert after == before
    assert client_endpoint() == f"{MOVED_ADDRESS}:51820"


# ---- after a reboot of the client: only what the role persisted is left

def test_after_a_client_reboot_wg0_is_up_with_keepalive_25(rebooted_client):
    assert rebooted_client.run("systemctl is-active wg-quick@wg0").stdout.strip() == "active"
    assert running_keepalive(rebooted_client) == "25"


def test_after_a_client_reboot_the_reresolve_timer_is_active_and_enabled(rebooted_client):
    assert timer_state(rebooted_client) == ("active", "enabled")


def test_after_a_client_reboot_the_tunnel_works(rebooted_client):
    assert tunnel_works(timeout=120), "after a reboot the client cannot ping 10.99.0.1 through wg0"


# ---- keepalive_reresolve: false removes the job (runs the role against the lab's client)

@pytest.fixture(scope="module")
def run_reresolve_off(tmp_path_factory):
    inventory = tmp_path_factory.mktemp("inventory") / "lab.json"
    inventory.write_text(subprocess.run([sys.executable, str(REPO / "tests" / "lab" / "lab.py"), "inventory"],
                                        check=True, stdout=subprocess.PIPE, text=True).stdout)
    playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    if not os.path.exists(playbook):
        playbook = shutil.which("ansible-playbook")
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(REPO / ".cache" / "collections"))

    def run(*args: str) -> tuple[int, str]:
        proc = subprocess.run([playbook, "-i", str(inventory), RERESOLVE_OFF, *args], env=env, cwd=str(REPO),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300, check=False)
        recap = re.search(r"^client\s*:\s*ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", proc.stdout, re.M)
        assert proc.returncode == 0 and recap, proc.stdout[-4000:]
        assert recap.group(2) == recap.group(3) == "0", proc.stdout[-4000:]
        return int(recap.group(1)), proc.stdout
    return run


def test_reresolve_false_in_check_mode_shows_the_removal_and_changes_nothing(run_reresolve_off, client):
    changed, output = run_reresolve_off("--check", "--diff")
    assert changed > 0, output[-4000:]
    for path in ("/etc/systemd/system/wgdoctor-reresolve@.timer", "/usr/local/sbin/wgdoctor-reresolve"):
        assert re.search(rf'"?path"?: "?{re.escape(path)}', output), f"no diff for {path}:\n{output[-4000:]}"
    assert timer_state(client) == ("active", "enabled")
    assert all(client.file(path).exists for path in ROLE_FILES)


def test_reresolve_false_removes_the_job(run_reresolve_off, client):
    changed, output = run_reresolve_off()
    assert changed > 0, output[-4000:]
    assert "wgdoctor-reresolve" not in client.check_output("systemctl list-timers --all --no-legend")
    assert timer_state(client)[0] != "active"
    present = [path for path in ROLE_FILES + ("/etc/cron.d/wgdoctor-reresolve-wg0",) if client.file(path).exists]
    assert not present, f"still installed: {present}"
    assert "not-found" in client.check_output(f"systemctl show --property=LoadState {TIMER}")
    # Re-resolution off leaves the keepalive itself alone.
    assert running_keepalive(client) == "25"


def test_reresolve_false_a_second_time_changes_nothing(run_reresolve_off):
    changed, output = run_reresolve_off()
    assert changed == 0, output[-4000:]
