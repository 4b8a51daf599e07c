"""Lab access shared by the role scenarios' tests: the test hosts, the tunnel check, a reboot.

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


@pytest.fixture(scope="session")
def server():
    return lab_host("server")


@pytest.fixture(scope="module")
def rebooted_server():
    """Restart the server container as a reboot would, so only what was persisted is left."""
    subprocess.run([sys.executable, str(REPO / "tests" / "lab" / "lab.py"), "restart", "server"],
                   env=dict(os.environ), check=True, timeout=180)
    return lab_host("server")
