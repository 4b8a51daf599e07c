"""Roles used on their own, in the situations their Molecule scenarios do not build: they fail clearly.

Each test starts from the healthy tunnel and puts it back afterwards.
"""
from __future__ import annotations

import os

import pytest

PLAY = """\
- name: Copy the client's PresharedKey from the server
  hosts: client
  gather_facts: false
  roles:
    - role: wgdoctor.wireguard.peer
      vars:
        peer_public_key: "{server_public_key}"
        peer_preshared_key_from_host: server
"""


@pytest.fixture
def healthy(lab):
    lab.restore_healthy()
    yield lab
    lab.restore_healthy()


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


def test_peer_role_copies_the_preshared_key_from_a_running_server_without_printing_it(healthy, tmp_path):
    give_the_server_a_preshared_key(healthy)
    play, hidden = write_play(healthy, tmp_path), secrets(healthy)
    run = healthy.playbook(play, "-v")
    assert "failed=0" in run.stdout
    output = run.stdout + run.stderr
    assert len(hidden) == 2 and not [key for key in hidden if key[:12] in output], "a server key is in the role's output"
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
