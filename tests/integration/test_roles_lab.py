"""Roles used on their own, in the situations their Molecule scenarios do not build: they fail clearly.

Each test starts from the healthy tunnel and puts it back afterwards.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import subprocess
import sys
import time

import pytest

from conftest import LAB, PREFIX, lab_env


def lab_topology():
    """tests/lab/lab.py as a module, for the addresses of the lab this run uses."""
    spec = importlib.util.spec_from_file_location("lab_topology", LAB)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def podman(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(["podman", *args], env=lab_env(), text=True, capture_output=True, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"podman {' '.join(args[:3])}... failed ({proc.returncode}): {proc.stderr}")
    return proc


PLAY = """\
- name: Copy the client's PresharedKey from the server
  hosts: client
  gather_facts: false
  roles:
    - role: wgdoctor.wireguard.peer
      vars:
        peer_interface: wg0
        peer_public_key: "{server_public_key}"
        peer_preshared_key_from_host: server
"""


@pytest.fixture
def healthy(lab):
    lab.restore_healthy()
    yield lab
    lab.back_to_healthy()


def secrets(lab) -> list[str]:
    keys = lab.sh("server", "cat /etc/wireguard/wg0.key; wg show wg0 preshared-keys | cut -f2").stdout.split()
    return [key for key in keys if key != "(none)"]


def write_play(lab, tmp_path) -> str:
    path = os.path.join(str(tmp_path), "copy_psk.yml")
    server_public_key = lab.sh("server", "wg pubkey < /etc/wireguard/wg0.key").stdout.strip()
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(PLAY.format(server_public_key=server_public_key))
    return path


def give_the_server_a_preshared_key(lab) -> None:
    """The server's entry for the client gets a PresharedKey, live: the client's has none."""
    client_public_key = lab.sh("client", "wg show wg0 public-key").stdout.strip()
    lab.sh("server", f"umask 077; wg genpsk > /root/psk; wg set wg0 peer {client_public_key} preshared-key /root/psk")


def key_traces(keys: list[str]) -> list[str]:
    """What would give a key away in an output: the key, a recognisable part, its sha256 (as sha256sum prints it)."""
    return [trace for key in keys for trace in (key[:12], key[-16:], hashlib.sha256(key.encode()).hexdigest()[:16],
                                                hashlib.sha256((key + "\n").encode()).hexdigest()[:16])]


def test_peer_role_copies_the_preshared_key_from_a_running_server_without_printing_it(healthy, tmp_path):
    give_the_server_a_preshared_key(healthy)
    play, hidden = write_play(healthy, tmp_path), secrets(healthy)
    hidden += [healthy.sh("client", "cat /etc/wireguard/wg0.key").stdout.strip()]
    # --diff -vvv and the module's arguments in its result (invocation): as much as a user can ask to see.
    run = healthy.playbook(play, "--diff", "-vvv", "-e", "ansible_inject_invocation=true")
    assert "failed=0" in run.stdout
    output = run.stdout + run.stderr
    assert len(hidden) == 3 and not [trace for trace in key_traces(hidden) if trace in output], "a key is in the role's output"
    # The task that writes the key shows its diff and result (it was no_log: "changed" and nothing else): the entry
    # gains a PresharedKey in the file and on the running peer, named by the server's key; the key itself is masked.
    server_public_key = healthy.sh("server", "wg pubkey < /etc/wireguard/wg0.key").stdout.strip()
    task = output.split("TASK [wgdoctor.wireguard.peer : Correct the [Peer] entry in the config and on the running interface]")[1]
    task = task.split("\nTASK [")[0]
    assert "the output has been hidden" not in task and "changed: [client]" in task, task[-3000:]
    assert "+++ after: /etc/wireguard/wg0.conf" in task and "\n+PresharedKey = (hidden)\n" in task, task[-3000:]
    assert f"+++ after: wg0 (running): peer {server_public_key}" in task, task[-3000:]
    assert "-  preshared key: (none)\n+  preshared key: (hidden)" in task, task[-3000:]
    assert "preshared_key: VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in task and "applied_live: true" in task, task[-3000:]
    # Compared inside the hosts: the key itself never reaches the test's output.
    copied = healthy.sh("client", "wg show wg0 preshared-keys | cut -f2 | sha256sum").stdout
    assert copied == healthy.sh("server", "sha256sum < /root/psk").stdout
    assert healthy.sh("client", "grep -c '^PresharedKey' /etc/wireguard/wg0.conf").stdout.strip() == "1"
    healthy.wait_for_handshake()


def test_peer_role_says_the_server_must_run_when_its_interface_is_down(healthy, tmp_path):
    give_the_server_a_preshared_key(healthy)
    play, hidden = write_play(healthy, tmp_path), secrets(healthy)
    healthy.sh("server", "systemctl stop wg-quick@wg0")
    run = healthy.playbook(play, "-v", check=False)
    output = run.stdout + run.stderr
    assert run.returncode != 0
    # The read is no_log (it returns keys): without the explicit check the user saw only "output hidden".
    assert "Could not read the PresharedKeys of wg0 on server" in output, output[-3000:]
    assert "start it first" in output
    assert not [key for key in hidden if key[:12] in output], "a server key is in the role's output"
    # Nothing was written on the client.
    assert healthy.sh("client", "cmp /root/wg0.conf.healthy /etc/wireguard/wg0.conf", check=False).returncode == 0


# ---------------------------------------------------------------- keepalive on a host without systemd
CRON_INVENTORY = {"all": {"hosts": {"cronhost": {"ansible_connection": "containers.podman.podman",
                                                 "ansible_python_interpreter": "/usr/bin/python3"}}}}
# Neither wg0 nor 51820 on the cron host's side: the job must follow the name on whatever it is given.
CRON_INTERFACE = "wg-roam"
CRON_LISTEN_PORT = 47213
# Names the cron host's own /etc/hosts answers (the lab's DNS serves one name, the server's): each
# answer is one the job must refuse, so these peers keep the endpoint they had before.
RELAY_NAME = "relay.wgdoctor.test"  # answers 10.99.0.3, inside the interface's AllowedIPs
V6_ONLY_NAME = "v6only.wgdoctor.test"  # answers only IPv6, which the host has no route for
LOOPBACK_NAME = "lo.wgdoctor.test"  # answers 127.0.0.1
KEEPALIVE_PLAY = """\
- name: Keep the server reachable from a host that has cron and no systemd
  hosts: cronhost
  gather_facts: false
  roles:
    - role: wgdoctor.wireguard.keepalive
      vars:
        keepalive_interface: {interface}
        keepalive_peer: "{server_public_key}"
"""


@pytest.fixture
def cron_host(lab, tmp_path):
    """A host of the site network whose PID 1 is cron: the re-resolution job must fall back to cron there.

    Its wg-roam (ListenPort 47213) has several peers: a relay and two sites whose names moved to answers
    the job must refuse (their endpoints are still the old addresses), a site by literal address, then
    the server by its DNS name (last, so that a job that stops at an earlier peer never reaches it),
    and one peer added at runtime that is in no file.
    The server does not know this host, so no peer ever handshakes: the job treats every one as stale."""
    topology = lab_topology()
    container = f"{PREFIX}-cronhost"
    tag = subprocess.run([sys.executable, LAB, "image"], env=lab_env(), check=True, capture_output=True, text=True).stdout.strip()
    router_site = topology.HOSTS["router"]["networks"]["site"]
    podman("run", "-d", "--name", container, "--hostname", "cronhost", "--label", f"wgdoctor-lab={PREFIX}",
           "--cap-add", "NET_ADMIN,NET_RAW", "--device", "/dev/net/tun",
           "--network", f"{PREFIX}-site:ip={topology.SITE}.12", "--dns", router_site, "--dns-search", "wgdoctor.test",
           "--add-host", f"{RELAY_NAME}:10.99.0.3",
           "--add-host", f"{V6_ONLY_NAME}:{topology.HOSTS['server']['networks6']['public']}",
           "--add-host", f"{LOOPBACK_NAME}:127.0.0.1",
           tag, "/usr/sbin/cron", "-f")
    server_public_key = lab.sh("server", "wg pubkey < /etc/wireguard/wg0.key").stdout.strip()
    # The site net is --internal: the host reaches the server's public address only through the router,
    # and the re-resolve job only takes an answer this host has a route to (it has none for IPv6).
    podman("exec", container, "sh", "-ec", f"""
ip route replace default via {router_site}
umask 077
public_key() {{ wg genkey | wg pubkey; }}
relay=$(public_key) v6_only=$(public_key) loopback=$(public_key)
cat > /etc/wireguard/{CRON_INTERFACE}.conf <<CONF
[Interface]
Address = 10.99.0.50/24
ListenPort = {CRON_LISTEN_PORT}
PrivateKey = $(wg genkey)

[Peer]
# relay: its name answers its own tunnel address
PublicKey = $relay
AllowedIPs = 10.99.0.3/32
Endpoint = {RELAY_NAME}:47331

[Peer]
# a site whose name answers only IPv6
PublicKey = $v6_only
AllowedIPs = 10.99.0.4/32
Endpoint = {V6_ONLY_NAME}:47332

[Peer]
# a site whose name answers loopback
PublicKey = $loopback
AllowedIPs = 10.99.0.7/32
Endpoint = {LOOPBACK_NAME}:47335

[Peer]
# a site by address: nothing to re-resolve
PublicKey = $(public_key)
AllowedIPs = 10.99.0.5/32
Endpoint = {topology.PUB}.30:47333

[Peer]
PublicKey = {server_public_key}
AllowedIPs = 10.99.0.1/32
Endpoint = {topology.SERVER_NAME}:51820
CONF
WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go wg-quick up {CRON_INTERFACE} >/dev/null 2>&1
# Where the three names pointed before they moved to what the job must refuse: a job that took their
# first answer would move these peers too.
wg set {CRON_INTERFACE} peer $relay endpoint {topology.PUB}.33:47331 peer $v6_only endpoint {topology.PUB}.34:47332 \\
  peer $loopback endpoint {topology.PUB}.35:47335
wg set {CRON_INTERFACE} peer $(public_key) allowed-ips 10.99.0.6/32 endpoint {topology.PUB}.31:47334 persistent-keepalive 7
""")
    inventory = tmp_path / "cron_inventory.json"
    hosts = json.loads(json.dumps(CRON_INVENTORY))
    hosts["all"]["hosts"]["cronhost"]["ansible_host"] = container
    inventory.write_text(json.dumps(hosts))
    play = tmp_path / "keepalive.yml"
    play.write_text(KEEPALIVE_PLAY.format(interface=CRON_INTERFACE, server_public_key=server_public_key))
    try:
        yield {"container": container, "inventory": str(inventory), "play": str(play), "topology": topology,
               "server_public_key": server_public_key}
    finally:
        lab.lab("dns", topology.SERVER_NAME, topology.HOSTS["server"]["networks"]["public"])
        podman("rm", "-f", "-t", "0", container, check=False)


def test_keepalive_role_without_systemd_installs_a_cron_job_that_follows_a_moved_name(lab, cron_host):
    container, topology, server = cron_host["container"], cron_host["topology"], cron_host["server_public_key"]

    def on_host(script: str) -> str:
        return podman("exec", container, "sh", "-ec", script).stdout

    def state() -> dict[str, list[str]]:
        """In one exec: what wg says of the interface per view (each peer's line once, sorted: wg orders
        peers by handshake), the config without its PrivateKey line (compared below: the key must not
        reach the test output), the cron file and the systemd units of the job."""
        views = ("listen-port", "endpoints", "allowed-ips", "persistent-keepalive")
        text = on_host("; ".join([f"echo '== {view}'; wg show {CRON_INTERFACE} {view}" for view in views] + [
            f"echo '== config'; grep -v '^PrivateKey' /etc/wireguard/{CRON_INTERFACE}.conf",
            f"echo '== cron'; cat /etc/cron.d/wgdoctor-reresolve-{CRON_INTERFACE} 2>/dev/null || true",
            "echo '== units'; ls /etc/systemd/system | grep wgdoctor || true"]))
        found: dict[str, list[str]] = {}
        for block in text.split("== ")[1:]:
            view, _newline, lines = block.partition("\n")
            found[view] = lines.splitlines() if view in ("config", "cron", "units") else sorted(lines.splitlines())
        return found

    def peers_but_the_server(config_lines: list[str]) -> list[str]:
        return [section for section in "\n".join(config_lines).split("[Peer]") if server not in section]

    public = topology.HOSTS["server"]["networks"]["public"]
    before = state()
    assert f"{server}\t{public}:51820" in before["endpoints"]
    assert f"{server}\toff" in before["persistent-keepalive"]
    assert len(before["endpoints"]) == 6 and before["listen-port"] == [str(CRON_LISTEN_PORT)], before
    run = subprocess.run(["ansible-playbook", "-i", cron_host["inventory"], cron_host["play"]], env=lab_env(),
                         text=True, capture_output=True, check=False)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    moved = f"{topology.PUB}.20"
    lab.lab("dns", topology.SERVER_NAME, moved)

    installed = state()
    assert f"{server}\t25" in installed["persistent-keepalive"]
    assert "PersistentKeepalive = 25" in "\n".join(installed["config"]).split(server, 1)[1]
    assert peers_but_the_server(installed["config"]) == peers_but_the_server(before["config"]), \
        "the role changed a peer it was not given, or the [Interface] section"
    assert f"/usr/local/sbin/wgdoctor-reresolve --interface {CRON_INTERFACE}" in "\n".join(installed["cron"])
    assert installed["units"] == [], "a systemd unit on a host without systemd"

    # cron starts the job every minute, and again 30 s later: within about 90 s it has run twice.
    deadline = time.monotonic() + 100
    while time.monotonic() < deadline:
        endpoint = on_host(f"wg show {CRON_INTERFACE} endpoints | grep -F '{server}' | cut -f2").strip()
        if endpoint == f"{moved}:51820":
            break
        time.sleep(5)
    assert endpoint == f"{moved}:51820", f"cron's re-resolution job did not follow the name: still {endpoint}"
    # Only the server's endpoint moved (and its keepalive is the role's): the refused names, the literal
    # address, the runtime-only peer and the ListenPort are as they were, byte for byte.
    expected = {view: sorted(line.replace(f"{server}\t{public}:51820", f"{server}\t{moved}:51820")
                             .replace(f"{server}\toff", f"{server}\t25") for line in lines)
                for view, lines in before.items() if view not in ("config", "cron", "units")}
    followed = state()
    assert {view: lines for view, lines in followed.items() if view in expected} == expected
    assert followed["config"] == installed["config"], "the job wrote the config"
    # Refused for what the names answer, not for a failed lookup: the job says why, as cron's runs did.
    said = on_host(f"/usr/bin/python3 -I /usr/local/sbin/wgdoctor-reresolve --interface {CRON_INTERFACE} --dry-run")
    assert f"{RELAY_NAME} has no usable address: 10.99.0.3 (inside the tunnel's AllowedIPs 10.99.0.3/32)" in said, said
    assert f"{V6_ONLY_NAME} has no usable address: {topology.HOSTS['server']['networks6']['public']} (no route)" in said, said
    assert f"{LOOPBACK_NAME} has no usable address: 127.0.0.1 (loopback)" in said, said
    assert "setting endpoint" not in said, said

    again = subprocess.run(["ansible-playbook", "-i", cron_host["inventory"], cron_host["play"]], env=lab_env(),
                           text=True, capture_output=True, check=False)
    assert again.returncode == 0 and re.search(r"cronhost\s*:.*changed=0", again.stdout), again.stdout[-3000:]
    assert state() == followed, "the second role run changed the interface, its config or the job"
