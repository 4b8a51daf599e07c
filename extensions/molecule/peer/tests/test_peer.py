"""After the peer role: the client holds the server's real key and the pair's PresharedKey; the tunnel works."""
from __future__ import annotations

import hashlib
import os
import time

import testinfra

PREFIX = os.environ.get("WGD_LAB_PREFIX", "wgd")


def lab_host(role: str):
    return testinfra.get_host(f"podman://{PREFIX}-{role}")


def server_public_key() -> str:
    return lab_host("server").check_output("wg show wg0 public-key").strip()


def test_client_entry_holds_the_server_public_key_in_file_and_live():
    client, key = lab_host("client"), server_public_key()
    assert f"PublicKey = {key}" in client.file("/etc/wireguard/wg0.conf").content_string
    assert client.check_output("wg show wg0 peers").split() == [key]


def psk_fingerprint(role: str) -> str:
    """A hash of the running preshared keys: compared, never printed."""
    output = lab_host(role).check_output("wg show wg0 preshared-keys")
    return hashlib.sha256(output.split("\t")[1].strip().encode()).hexdigest()


def test_both_ends_hold_the_same_preshared_key():
    none = hashlib.sha256(b"(none)").hexdigest()
    assert psk_fingerprint("server") != none, "the server should have a PresharedKey"
    assert psk_fingerprint("client") == psk_fingerprint("server")


def test_handshake_completes_and_ping_works_both_ways():
    client = lab_host("client")
    ping = client.run("for i in $(seq 10); do ping -c 1 -W 2 10.99.0.1 && exit 0; done; exit 1")
    assert ping.rc == 0, ping.stdout
    deadline = time.monotonic() + 10
    while client.check_output("wg show wg0 latest-handshakes").split("\t")[1].strip() == "0" and time.monotonic() < deadline:
        time.sleep(1)
    assert client.check_output("wg show wg0 latest-handshakes").split("\t")[1].strip() != "0"
    back = lab_host("server").run("ping -c 2 -W 2 10.99.0.2")
    assert back.rc == 0, back.stdout
