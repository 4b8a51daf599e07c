"""Lab access shared by the role scenarios' tests: the test hosts, the tunnel check, reboots.

testinfra's podman backend talks to the lab containers directly (about ten times
faster than going through Ansible for every command).
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import testinfra

PREFIX = os.environ.get("WGD_LAB_PREFIX", "wgd")
REPO = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY") or Path(__file__).resolve().parents[4])
SERVER_TUNNEL_ADDRESS = "10.99.0.1"
# The lab's own addressing (tests/lab/lab.py), for the WGD_LAB_INDEX this run uses.
sys.path.insert(0, str(REPO / "tests" / "lab"))
import lab as _lab  # noqa: E402  pylint: disable=wrong-import-position

PUBLIC_NET = _lab.PUB


def lab_host(role: str):
    return testinfra.get_host(f"podman://{PREFIX}-{role}")


def tunnel_works(timeout: float = 45.0) -> bool:
    """Ping the server through wg0 from the client until it answers or timeout (a handshake may take a REKEY_TIMEOUT)."""
    client = lab_host("client")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.run(f"ping -c 1 -W 2 -I wg0 {SERVER_TUNNEL_ADDRESS}").rc == 0:
            return True
    return False


def restart_lab_host(role: str):
    """Restart a lab container as a reboot would, so only what was persisted is left; the host once systemd is up."""
    before = container_started_at(role)
    subprocess.run([sys.executable, str(REPO / "tests" / "lab" / "lab.py"), "restart", role],
                   env=dict(os.environ), check=True, timeout=180)
    assert container_started_at(role) != before, f"{PREFIX}-{role} did not restart"
    return lab_host(role)


def container_started_at(role: str) -> str:
    return subprocess.run(["podman", "inspect", "--format", "{{.State.StartedAt}}", f"{PREFIX}-{role}"],
                          env=dict(os.environ, CONTAINERS_CONF=str(REPO / "tests" / "lab" / "containers.conf")),
                          check=True, stdout=subprocess.PIPE, text=True, timeout=60).stdout.strip()


@pytest.fixture(scope="session")
def server():
    return lab_host("server")


@pytest.fixture(scope="session")
def client():
    return lab_host("client")


# Module scope: the reboot happens once, when the first test of a module asks for it, so a test
# file lists the tests that need the host as the role left it first and the reboot tests last.
@pytest.fixture(scope="module")
def rebooted_server():
    """The server after a reboot."""
    return restart_lab_host("server")


@pytest.fixture(scope="module")
def rebooted_client():
    """The client (behind NAT) after a reboot."""
    return restart_lab_host("client")
