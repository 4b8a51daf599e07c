"""After the keepalive role: keepalive 25 in the file and live, the DDNS job runs, and a moved name is followed."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import testinfra

PREFIX = os.environ.get("WGD_LAB_PREFIX", "wgd")
# The lab's own addressing (tests/lab/lab.py), for the WGD_LAB_INDEX this run uses.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "tests", "lab"))
import lab as _lab  # noqa: E402  pylint: disable=wrong-import-position

PUBLIC_NET = _lab.PUB
REPO = os.environ.get("MOLECULE_PROJECT_DIRECTORY") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
MOVED_ADDRESS = f"{PUBLIC_NET}.20"


def lab_host(role: str):
    return testinfra.get_host(f"podman://{PREFIX}-{role}")


def test_keepalive_is_25_in_the_client_config():
    config = lab_host("client").file("/etc/wireguard/wg0.conf").content_string
    assert "PersistentKeepalive = 25" in config


def test_keepalive_is_25_on_the_running_interface():
    output = lab_host("client").check_output("wg show wg0 persistent-keepalive")
    assert output.split("\t")[1].strip() == "25", output


def test_reresolve_timer_is_active_and_enabled():
    client = lab_host("client")
    assert client.run("systemctl is-active wgdoctor-reresolve@wg0.timer").stdout.strip() == "active"
    assert client.run("systemctl is-enabled wgdoctor-reresolve@wg0.timer").stdout.strip() == "enabled"


def client_endpoint() -> str:
    return lab_host("client").check_output("wg show wg0 endpoints").split("\t")[1].strip()


def test_client_follows_the_server_name_to_its_new_address():
    server = lab_host("server")
    if MOVED_ADDRESS + "/24" not in server.check_output("ip -o addr show dev eth0"):
        server.check_output(f"ip addr add {MOVED_ADDRESS}/24 dev eth0")
    subprocess.run([sys.executable, os.path.join(REPO, "tests", "lab", "lab.py"), "dns", "vpn.wgdoctor.test", MOVED_ADDRESS],
                   check=True)
    # Timer every 30 s, stale after 5 s in this scenario: well within 75 s.
    deadline = time.monotonic() + 75
    while client_endpoint() != f"{MOVED_ADDRESS}:51820" and time.monotonic() < deadline:
        time.sleep(3)
    assert client_endpoint() == f"{MOVED_ADDRESS}:51820"
    log = lab_host("client").check_output("journalctl -u wgdoctor-reresolve@wg0.service --no-pager -o cat")
    assert f"setting endpoint {MOVED_ADDRESS}:51820" in log
    ping = lab_host("client").run("for i in 1 2 3 4 5; do ping -c 1 -W 2 10.99.0.1 && exit 0; done; exit 1")
    assert ping.rc == 0, ping.stdout
