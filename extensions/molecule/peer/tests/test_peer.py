"""After the peer role: the client holds the server's real key and the pair's PresharedKey, in its
file and live; the tunnel works; all of it still holds after the client (the host the role
changed) reboots (the module-scoped `rebooted_client`: those tests come last).

Preshared keys are compared by digest only, never printed."""
from __future__ import annotations

import hashlib
import time

from conftest import lab_host, tunnel_works

NO_PSK = hashlib.sha256(b"(none)").hexdigest()


def server_public_key() -> str:
    return lab_host("server").check_output("wg show wg0 public-key").strip()


def assert_client_entry_holds_the_server_public_key(client) -> None:
    key = server_public_key()
    assert f"PublicKey = {key}" in client.file("/etc/wireguard/wg0.conf").content_string
    assert client.check_output("wg show wg0 peers").split() == [key]


def psk_fingerprint(role: str) -> str:
    """A hash of the running preshared key of wg0's one peer: compared, never printed."""
    output = lab_host(role).check_output("wg show wg0 preshared-keys")
    return hashlib.sha256(output.split("\t")[1].strip().encode()).hexdigest()


def config_psk_fingerprint(role: str) -> str:
    """A hash of the PresharedKey line of wg0.conf, computed inside the container: only the digest leaves it."""
    return lab_host(role).check_output(
        "sed -n 's/^PresharedKey[[:space:]]*=[[:space:]]*//p' /etc/wireguard/wg0.conf | tr -d '[:space:]' | sha256sum"
    ).split()[0]


def assert_both_ends_hold_the_same_preshared_key() -> None:
    assert psk_fingerprint("server") != NO_PSK, "the server should have a PresharedKey"
    assert psk_fingerprint("client") == psk_fingerprint("server"), "the client's running PresharedKey differs from the server's"


def assert_handshake_and_ping_both_ways(client) -> None:
    ping = client.run("for i in $(seq 10); do ping -c 1 -W 2 10.99.0.1 && exit 0; done; exit 1")
    assert ping.rc == 0, ping.stdout
    deadline = time.monotonic() + 10
    while client.check_output("wg show wg0 latest-handshakes").split("\t")[1].strip() == "0" and time.monotonic() < deadline:
        time.sleep(1)
    assert client.check_output("wg show wg0 latest-handshakes").split("\t")[1].strip() != "0"
    back = lab_host("server").run("ping -c 2 -W 2 10.99.0.2")
    assert back.rc == 0, back.stdout


def test_client_entry_holds_the_server_public_key_in_file_and_live(client):
    assert_client_entry_holds_the_server_public_key(client)


def test_both_ends_hold_the_same_preshared_key():
    assert_both_ends_hold_the_same_preshared_key()


def test_the_client_file_holds_the_preshared_key_it_runs_with():
    assert config_psk_fingerprint("client") == psk_fingerprint("client"), "the client's file and interface disagree on the PresharedKey"


def test_handshake_completes_and_ping_works_both_ways(client):
    assert_handshake_and_ping_both_ways(client)


# ---- after a reboot of the client: wg-quick rebuilt wg0 from the file alone

def test_after_a_reboot_the_client_entry_holds_the_server_public_key(rebooted_client):
    assert_client_entry_holds_the_server_public_key(rebooted_client)


def test_after_a_reboot_both_ends_hold_the_same_preshared_key(rebooted_client):
    assert_both_ends_hold_the_same_preshared_key()
    assert config_psk_fingerprint("client") == psk_fingerprint("client"), "the client's file and interface disagree on the PresharedKey"


def test_after_a_reboot_the_tunnel_works(rebooted_client):
    assert tunnel_works(timeout=120), "after a reboot of the client it cannot ping 10.99.0.1 through wg0"
    assert_handshake_and_ping_both_ways(rebooted_client)
