"""wg_peer on a real running interface touches its one peer only (issue #11 items 2 and 11).

The server gets a second WireGuard interface, wgh9peer on UDP 51733 (neither wg0 nor 51820), brought up with
wg-quick from a file with two peers. Then, the way an operator or another tool does it at runtime, a third peer
is added with `wg set` (it is in no file) and the ListenPort is moved to 51735. wg_peer sets PersistentKeepalive
on one peer, and later replaces the key of the other: the runtime-only peer and the runtime ListenPort are still
there afterwards, the private key is the same, the target peer changed live, `--check --diff` showed exactly that
before, a second run changes nothing, and no private or preshared key reached ansible's -vvv output.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys

import pytest

from conftest import LAB, PREFIX, Lab, lab_env

IFACE, FILE_PORT, RUNTIME_PORT = "wgh9peer", 51733, 51735
CONF = "/etc/wireguard/%s.conf" % IFACE
# wg-quick outside systemd: the drop-in that names wireguard-go is only seen by the unit.
WG_QUICK = "WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go wg-quick"


def run_wg_peer(lab, args: dict, *extra: str) -> tuple[dict, str]:
    """(wg_peer's result, everything ansible printed at -vvv) of `ansible server -m wgdoctor.wireguard.wg_peer`."""
    env = lab_env()
    env["ANSIBLE_CALLBACK_RESULT_FORMAT"] = "json"
    argv = ["ansible", "-i", lab.inventory, "server", "-m", "wgdoctor.wireguard.wg_peer", "-vvv", "-a", json.dumps(args), *extra]
    proc = subprocess.run(argv, env=env, text=True, capture_output=True, check=False)
    output = proc.stdout + proc.stderr
    marker = re.search(r"^server \| ([A-Z!]+) => ", proc.stdout, re.M)
    assert marker, "no result for server in:\n" + output[-4000:]
    result, _end = json.JSONDecoder().raw_decode(proc.stdout[marker.end():])
    result["failed"] = marker.group(1) == "FAILED!"
    return result, output


def runtime(lab) -> dict:
    """The running interface from `wg show IF dump`, secrets reduced to digests."""
    lines = [line.split("\t") for line in lab.sh("server", "wg show %s dump" % IFACE).stdout.splitlines()]
    private, public, port, fwmark = lines[0]
    peers = {}
    for public_key, psk, endpoint, allowed_ips, _hs, _rx, _tx, keepalive in lines[1:]:
        peers[public_key] = {"psk": None if psk == "(none)" else hashlib.sha256(psk.encode()).hexdigest(),
                             "endpoint": endpoint, "allowed_ips": allowed_ips, "keepalive": keepalive}
    return {"private": hashlib.sha256(private.encode()).hexdigest(), "public": public, "port": int(port), "fwmark": fwmark,
            "peers": peers}


def secrets(lab) -> list[str]:
    text = lab.sh("server", "wg show %s private-key; wg show %s preshared-keys; cat %s" % (IFACE, IFACE, CONF)).stdout
    return sorted(set(re.findall(r"[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=", text)) - set(re.findall(r"PublicKey = (\S+)", text))
                  - set(runtime(lab)["peers"]))


def assert_no_secret(lab, text: str) -> None:
    for secret in secrets(lab):
        assert secret not in text and secret[:12] not in text, "a private or preshared key reached the output"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The lab's server as it boots: these tests need no tunnel deployed, only a host with WireGuard tools.

    The lab is taken down afterwards only when this fixture started it (the session's `lab` fixture owns one it started).
    """
    env = lab_env()
    already_up = subprocess.run(["podman", "container", "exists", "%s-server" % PREFIX], env=env, check=False).returncode == 0
    subprocess.run([sys.executable, LAB, "up"], env=env, check=True)
    inventory = tmp_path_factory.mktemp("peer-lab") / "inventory.json"
    inventory.write_text(subprocess.run([sys.executable, LAB, "inventory"], env=env, check=True, capture_output=True, text=True).stdout)
    try:
        yield Lab(str(inventory))
    finally:
        if not already_up and not os.environ.get("WGD_KEEP_LAB"):
            subprocess.run([sys.executable, LAB, "down"], env=env, check=False)


@pytest.fixture
def second_interface(server):
    """wgh9peer up from its file, plus a runtime-only peer and a runtime ListenPort; removed afterwards."""
    lab = server
    keys = lab.sh("server", "for i in 1 2 3 4; do wg genkey | wg pubkey; done; wg genpsk").stdout.split()
    target, with_psk, runtime_only, replacement, psk = keys
    lab.sh("server", "umask 077 && cat > %s <<EOF\n"
                     "# a tunnel managed by hand\n"
                     "[Interface]\n"
                     "Address = 10.123.0.1/24\n"
                     "ListenPort = %d\n"
                     "PrivateKey = $(wg genkey)\n"
                     "\n"
                     "[Peer]\n"
                     "# branch office\n"
                     "PublicKey = %s\n"
                     "AllowedIPs = 10.123.0.2/32\n"
                     "Endpoint = 198.18.5.77:51744\n"
                     "\n"
                     "[Peer]\n"
                     "# laptop\n"
                     "PublicKey = %s\n"
                     "PresharedKey = %s\n"
                     "AllowedIPs = 10.123.0.3/32, 10.124.0.0/24\n"
                     "Endpoint = 198.18.5.78:51745\n"
                     "PersistentKeepalive = 15\n"
                     "EOF\n" % (CONF, FILE_PORT, target, with_psk, psk))
    lab.sh("server", "%s up %s >/dev/null 2>&1" % (WG_QUICK, IFACE))
    lab.sh("server", "wg set %s listen-port %d peer %s allowed-ips 10.123.0.9/32" % (IFACE, RUNTIME_PORT, runtime_only))
    try:
        yield {"target": target, "with_psk": with_psk, "runtime_only": runtime_only, "replacement": replacement,
               "psk_digest": hashlib.sha256(psk.encode()).hexdigest()}
    finally:
        lab.sh("server", "%s down %s >/dev/null 2>&1; ip link delete %s 2>/dev/null; rm -f %s %s.*"
               % (WG_QUICK, IFACE, IFACE, CONF, CONF), check=False)


def test_keepalive_on_one_peer_leaves_the_runtime_only_peer_and_the_runtime_port(server, second_interface):
    lab = server
    keys = second_interface
    before = runtime(lab)
    assert before["port"] == RUNTIME_PORT and keys["runtime_only"] in before["peers"]
    file_before = lab.sh("server", "cat %s" % CONF).stdout
    args = {"interface": IFACE, "public_key": keys["target"], "persistent_keepalive": 25}

    checked, output = run_wg_peer(lab, args, "--check", "--diff")
    assert not checked["failed"] and checked["changed"], output[-4000:]
    assert checked["live_drift"] == ["persistent_keepalive"]
    live_diff = [d for d in checked["diff"] if keys["target"] in d.get("before_header", "")][0]
    assert "persistent keepalive: off" in live_diff["before"] and "persistent keepalive: 25" in live_diff["after"]
    assert keys["runtime_only"] not in json.dumps(checked["diff"])
    assert runtime(lab) == before and lab.sh("server", "cat %s" % CONF).stdout == file_before
    assert_no_secret(lab, output)

    result, output = run_wg_peer(lab, args)
    assert not result["failed"] and result["changed"] and result["applied_live"], output[-4000:]
    after = runtime(lab)
    assert after["peers"][keys["target"]]["keepalive"] == "25"
    # Everything the file does not hold, or holds differently from the runtime, is as it was.
    assert after["port"] == RUNTIME_PORT and after["private"] == before["private"]
    assert after["peers"][keys["runtime_only"]] == before["peers"][keys["runtime_only"]]
    assert after["peers"][keys["with_psk"]] == before["peers"][keys["with_psk"]]
    assert "PersistentKeepalive = 25" in lab.sh("server", "cat %s" % CONF).stdout
    assert lab.sh("server", "stat -c %%a %s" % CONF).stdout.strip() == "600" and result["mode"] == "0600"
    assert_no_secret(lab, output)

    again, output = run_wg_peer(lab, args)
    assert not again["failed"] and again["changed"] is False, output[-4000:]
    assert runtime(lab) == after


def test_replacing_a_key_re_adds_the_peer_live_with_everything_the_file_holds(server, second_interface):
    lab = server
    keys = second_interface
    before = runtime(lab)
    args = {"interface": IFACE, "public_key": keys["with_psk"], "new_public_key": keys["replacement"]}

    result, output = run_wg_peer(lab, args)
    assert not result["failed"] and result["changed"] and result["applied_live"], output[-4000:]
    after = runtime(lab)
    assert keys["with_psk"] not in after["peers"]
    # Only the key was passed: the PresharedKey, AllowedIPs, Endpoint and keepalive come from the file's entry.
    assert after["peers"][keys["replacement"]] == {"psk": keys["psk_digest"], "endpoint": "198.18.5.78:51745",
                                                   "allowed_ips": "10.123.0.3/32,10.124.0.0/24", "keepalive": "15"}
    assert after["port"] == RUNTIME_PORT and after["private"] == before["private"]
    assert after["peers"][keys["runtime_only"]] == before["peers"][keys["runtime_only"]]
    assert after["peers"][keys["target"]] == before["peers"][keys["target"]]
    assert_no_secret(lab, output)

    again, output = run_wg_peer(lab, args)
    assert not again["failed"] and again["changed"] is False, output[-4000:]
