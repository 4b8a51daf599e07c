"""Lab suites: a real tunnel between the lab's client and server, broken and diagnosed.

The lab (tests/lab/lab.py) is started once per session, the healthy tunnel deployed
with the same playbook the Molecule baseline uses; each test breaks it the way it
breaks in real life, runs the playbooks as a user would and reads report.json.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import jsonschema
import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LAB = os.path.join(REPO, "tests", "lab", "lab.py")
DEPLOY = os.path.join(REPO, "extensions", "molecule", "resources", "playbooks", "deploy_tunnel.yml")
DIAGNOSE = os.path.join(REPO, "playbooks", "diagnose.yml")
PREFIX = os.environ.get("WGD_LAB_PREFIX", "wgd")


def pytest_addoption(parser):
    group = parser.getgroup("wgdoctor lanes")
    group.addoption("--shard", default=None, metavar="I/N",
                    help="run only every N-th test (from the I-th, 0-based) of the suite named by --shard-suite: "
                         "scripts/test.sh splits the fault matrix between two lab lanes with it")
    group.addoption("--shard-suite", default="test_fault_matrix.py", metavar="FILE",
                    help="the file whose tests --shard splits (default test_fault_matrix.py); other files run whole")


def pytest_collection_modifyitems(config, items):
    shard = config.getoption("--shard")
    if not shard:
        return
    try:
        index, count = (int(part) for part in shard.split("/"))
        if not 0 <= index < count:
            raise ValueError
    except ValueError:
        raise pytest.UsageError(f"--shard wants I/N with 0 <= I < N, got {shard!r}") from None
    suite = config.getoption("--shard-suite")
    in_suite = [item for item in items if os.path.basename(str(item.fspath)) == suite]
    dropped = set(id(item) for position, item in enumerate(in_suite) if position % count != index)
    config.hook.pytest_deselected(items=[item for item in items if id(item) in dropped])
    items[:] = [item for item in items if id(item) not in dropped]


def lab_env() -> dict:
    env = dict(os.environ)
    env.setdefault("CONTAINERS_CONF", os.path.join(REPO, "tests", "lab", "containers.conf"))
    env["ANSIBLE_CONFIG"] = os.path.join(REPO, "ansible.cfg")
    env["ANSIBLE_COLLECTIONS_PATH"] = os.path.join(REPO, ".cache", "collections")
    env["ANSIBLE_NOCOLOR"] = "1"
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return env


class Lab:
    """The running lab: run commands on its hosts, run playbooks against it."""

    def __init__(self, inventory_path: str):
        self.inventory = inventory_path
        with open(inventory_path, encoding="utf-8") as handle:
            self.inventory_data = json.load(handle)
        self.vars = self.inventory_data["all"]["vars"]
        self.last_run = None

    def sh(self, host: str, script: str, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(["podman", "exec", f"{PREFIX}-{host}", "sh", "-ec", script], env=lab_env(),
                              text=True, capture_output=True, check=False)
        if check and proc.returncode != 0:
            raise AssertionError(f"{host}: `{script}` failed ({proc.returncode}): {proc.stdout}{proc.stderr}")
        return proc

    def lab(self, *args: str) -> None:
        subprocess.run([sys.executable, LAB, *args], env=lab_env(), check=True, capture_output=True, text=True)

    def playbook(self, playbook: str, *args: str, cwd: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(["ansible-playbook", "-i", self.inventory, playbook, *args], env=lab_env(), cwd=cwd,
                              text=True, capture_output=True, check=False)
        if check and proc.returncode != 0:
            raise AssertionError(f"{os.path.basename(playbook)} failed ({proc.returncode}):\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}")
        return proc

    def deploy_healthy(self) -> None:
        self.playbook(DEPLOY, "--limit", "client,server")
        for host in ("server", "client"):
            self.sh(host, "cp -p /etc/wireguard/wg0.conf /root/wg0.conf.healthy")

    def restore_healthy(self) -> None:
        """Back to the deployed tunnel in about a second (a redeploy through Ansible takes ten)."""
        for host in ("server", "client"):
            self.sh(host, "cmp -s /root/wg0.conf.healthy /etc/wireguard/wg0.conf || "
                          "cp -p /root/wg0.conf.healthy /etc/wireguard/wg0.conf; systemctl restart wg-quick@wg0")

    def back_to_healthy(self) -> None:
        """The healthy tunnel again, whatever a test left behind."""
        self.restore_healthy()
        try:
            self.wait_for_handshake()
        except AssertionError:
            # A test left more behind than its undo knew about: redeploy the whole baseline.
            self.deploy_healthy()
            self.restore_healthy()
            self.wait_for_handshake()

    def diagnose(self, tmp_path, *extra: str) -> dict:
        """report.json of a diagnose.yml run; the run itself is kept in self.last_run."""
        report_dir = os.path.join(str(tmp_path), "wg-report")
        self.last_run = self.playbook(DIAGNOSE, "-e", f"wg_report_dir={report_dir}", *extra, cwd=str(tmp_path))
        with open(os.path.join(report_dir, "report.json"), encoding="utf-8") as handle:
            report = json.load(handle)
        # Every report a lab run writes must match the schema the collection ships.
        with open(os.path.join(REPO, "plugins", "plugin_utils", "report_schema.json"), encoding="utf-8") as schema:
            jsonschema.validate(report, json.load(schema))
        return report

    def wait_for_handshake(self, host: str = "client", target: str = "10.99.0.1", timeout: float = 25) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.sh(host, f"ping -c 1 -W 1 {target}", check=False).returncode == 0:
                return
            time.sleep(0.5)
        raise AssertionError(f"{host} could not reach {target} through the tunnel within {timeout:.0f} s")


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    env = lab_env()
    subprocess.run([sys.executable, LAB, "up", "--client2"], env=env, check=True)
    inventory = tmp_path_factory.mktemp("lab") / "inventory.json"
    inventory.write_text(subprocess.run([sys.executable, LAB, "inventory"], env=env, check=True,
                                        capture_output=True, text=True).stdout)
    the_lab = Lab(str(inventory))
    # client2 exists for faults that need a second peer; the baseline tunnel is client <-> server.
    the_lab.deploy_healthy()
    # A TCP service standing in for SSH: remediation must never make it unreachable.
    the_lab.sh("server", "systemd-run --unit=lab-tcp22 python3 -m http.server --bind 0.0.0.0 22 >/dev/null")
    try:
        yield the_lab
    finally:
        if not os.environ.get("WGD_KEEP_LAB"):
            subprocess.run([sys.executable, LAB, "down"], env=env, check=False)
