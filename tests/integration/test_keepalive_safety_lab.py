"""The keepalive role on a host that can schedule nothing: PID 1 is `sleep`, there is no systemd and no cron.

The re-resolution job cannot run there. The role must say so (a warning and keepalive_result), still set
the keepalive, and leave the host in the play so that the remedies after it run. It must also refuse an
interface name that is not one before it touches anything.

The host is one container of the lab image with no network (wireguard-go, interface wgka3, port 51377):
this needs no lab tunnel, so the `lab` fixture is not used.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from conftest import LAB, PREFIX, lab_env

INTERFACE = "wgka3"
LISTEN_PORT = 51377
PEER_NAME = "hub.keepalive.test"
PEER_ADDRESS = "192.0.2.77"

PLAY = """\
- name: Keep the hub reachable from a host with neither systemd nor cron
  hosts: sleephost
  gather_facts: false
  roles:
    - role: wgdoctor.wireguard.keepalive
      vars:
        keepalive_interface: {interface}
        keepalive_peer: "{peer}"
  tasks:
    - name: Keep what the role returned, for the test
      ansible.builtin.copy:
        content: "{{{{ keepalive_result | to_json }}}}"
        dest: /root/keepalive_result.json
        mode: "0600"

    - name: The remedy after the keepalive runs too
      ansible.builtin.copy:
        content: "ran\\n"
        dest: /root/next_remedy_ran
        mode: "0600"
"""

BAD_NAME_PLAY = """\
- name: An interface name that is a shell command
  hosts: sleephost
  gather_facts: false
  roles:
    - role: wgdoctor.wireguard.keepalive
      vars:
        keepalive_interface: "{interface}"
        keepalive_peer: "{peer}"
        keepalive_reresolve: true
"""


def podman(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(["podman", *args], env=lab_env(), text=True, capture_output=True, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"podman {' '.join(args[:3])}... failed ({proc.returncode}): {proc.stderr}")
    return proc


@pytest.fixture(scope="module")
def sleep_host(tmp_path_factory):
    """PID 1 is sleep, crontab removed; wgka3 is up with one peer reached by a name (from /etc/hosts)."""
    container = f"{PREFIX}-sleephost"
    tag = subprocess.run([sys.executable, LAB, "image"], env=lab_env(), check=True, capture_output=True, text=True).stdout.strip()
    podman("rm", "-f", "-t", "0", container, check=False)
    podman("run", "-d", "--name", container, "--hostname", "sleephost", "--label", f"wgdoctor-lab={PREFIX}",
           "--cap-add", "NET_ADMIN,NET_RAW", "--device", "/dev/net/tun", "--network", "none",
           tag, "sleep", "infinity")
    try:
        peer = podman("exec", container, "sh", "-ec", f"""
for binary in crontab cron crond; do
    path=$(command -v $binary || true)
    [ -z "$path" ] || rm -f "$path"
done
rm -rf /etc/cron.d
echo '{PEER_ADDRESS} {PEER_NAME}' >> /etc/hosts
umask 077
peer=$(wg genkey | wg pubkey)
cat > /etc/wireguard/{INTERFACE}.conf <<CONF
[Interface]
Address = 10.77.0.2/24
ListenPort = {LISTEN_PORT}
PrivateKey = $(wg genkey)

[Peer]
PublicKey = $peer
AllowedIPs = 10.77.0.1/32
Endpoint = {PEER_NAME}:{LISTEN_PORT}
CONF
WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go wg-quick up {INTERFACE} >/dev/null 2>&1
echo "$peer"
""").stdout.strip()
        directory = tmp_path_factory.mktemp("sleephost")
        inventory = directory / "inventory.json"
        inventory.write_text(json.dumps({"all": {"hosts": {"sleephost": {
            "ansible_connection": "containers.podman.podman", "ansible_host": container,
            "ansible_python_interpreter": "/usr/bin/python3"}}}}))
        play = directory / "keepalive.yml"
        play.write_text(PLAY.format(interface=INTERFACE, peer=peer))
        bad_play = directory / "bad_name.yml"
        bad_play.write_text(BAD_NAME_PLAY.format(interface="wg0;touch /tmp/owned", peer=peer))
        yield {"container": container, "inventory": str(inventory), "play": str(play), "bad_play": str(bad_play), "peer": peer}
    finally:
        podman("rm", "-f", "-t", "0", container, check=False)


def on_host(host: dict, script: str, check: bool = True) -> str:
    return podman("exec", host["container"], "sh", "-ec", script, check=check).stdout


def playbook(host: dict, play: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["ansible-playbook", "-i", host["inventory"], play, *args], env=lab_env(),
                          text=True, capture_output=True, check=False)


def recap(run: subprocess.CompletedProcess) -> dict:
    match = re.search(r"^sleephost\s*:\s*(.*)$", run.stdout, re.M)
    assert match, run.stdout[-4000:] + run.stderr[-2000:]
    return {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", match.group(1))}


def test_a_name_that_is_not_an_interface_is_refused_before_anything_changes(sleep_host):
    run = playbook(sleep_host, sleep_host["bad_play"])
    assert run.returncode != 0
    assert "is not a valid interface name" in run.stdout, run.stdout[-3000:]
    assert on_host(sleep_host, "ls /tmp/owned /usr/local/sbin/wgdoctor-reresolve 2>&1 || true").count("No such file") == 2


def test_check_mode_says_the_job_cannot_be_scheduled_and_changes_nothing(sleep_host):
    run = playbook(sleep_host, sleep_host["play"], "--check", "--diff")
    counts = recap(run)
    assert run.returncode == 0 and counts["failed"] == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "WARNING: sleephost runs neither systemd nor cron" in run.stdout, run.stdout[-4000:]
    # The diff shows the keepalive line the real run then writes.
    assert counts["changed"] >= 1 and "+PersistentKeepalive = 25" in run.stdout, run.stdout[-4000:]
    assert "PersistentKeepalive" not in on_host(sleep_host, f"cat /etc/wireguard/{INTERFACE}.conf")
    assert on_host(sleep_host, f"wg show {INTERFACE} persistent-keepalive | cut -f2").strip() == "off"
    assert on_host(sleep_host, "ls /root/next_remedy_ran /usr/local/sbin/wgdoctor-reresolve 2>&1 || true").count("No such file") == 2


def test_without_systemd_or_cron_the_keepalive_is_set_the_job_reported_unscheduled_and_the_play_goes_on(sleep_host):
    run = playbook(sleep_host, sleep_host["play"])
    counts = recap(run)
    assert run.returncode == 0 and counts["failed"] == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "WARNING: sleephost runs neither systemd nor cron" in run.stdout, run.stdout[-4000:]

    assert on_host(sleep_host, f"wg show {INTERFACE} persistent-keepalive | cut -f2").strip() == "25"
    assert "PersistentKeepalive = 25" in on_host(sleep_host, f"cat /etc/wireguard/{INTERFACE}.conf")
    assert on_host(sleep_host, "cat /root/next_remedy_ran").strip() == "ran"

    result = json.loads(on_host(sleep_host, "cat /root/keepalive_result.json"))
    assert result["interface"] == INTERFACE
    assert result["reresolve"] == {"wanted": True, "scheduled": False, "scheduler": None,
                                   "reason": result["reresolve"]["reason"]}
    assert "neither systemd nor cron" in result["reresolve"]["reason"]
    # Nothing pretends to schedule it: no cron file, no unit; the facts would say nothing re-resolves.
    assert on_host(sleep_host, "ls /etc/cron.d /etc/systemd/system/wgdoctor-reresolve@.service 2>&1 || true").count("No such file") == 2
    # The job itself is installed, for the host's own scheduler to start as the warning says.
    on_host(sleep_host, f"/usr/bin/python3 -I /usr/local/sbin/wgdoctor-reresolve --interface {INTERFACE} --dry-run")


def test_a_second_run_changes_nothing(sleep_host):
    run = playbook(sleep_host, sleep_host["play"])
    counts = recap(run)
    assert run.returncode == 0 and counts["failed"] == 0, run.stdout[-4000:]
    # The test's own two copy tasks are unchanged too: the whole play is idempotent.
    assert counts["changed"] == 0, run.stdout[-4000:]
