# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Before a tunnel is deployed: does each host's key pair belong together, do its [Peer] entries hold the right keys?

Key pairs in fixtures/wg_genkey_pubkey.tsv were made by a real `wg genkey | wg pubkey`
(wireguard-tools v1.0.20210914); fixtures/*.conf and *_peers.txt were recorded in the lab.
"""
from __future__ import annotations

import os

import pytest

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard import crypto as wg_crypto
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard.config import parse_config
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard.derive import derive_public_key
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard.keypair import (
    KeypairInputError, check_pair, check_peers, has_problems, pair_problems, parse_peers_output, peer_problems, require_key,
)
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard.keys import key_problem

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


def fixture(name: str) -> str:
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as handle:
        return handle.read()


PAIRS = [tuple(line.split("\t")) for line in fixture("wg_genkey_pubkey.tsv").splitlines()]
(SERVER_PRIVATE, SERVER), (CLIENT_PRIVATE, CLIENT), (_, CLIENT2) = PAIRS
STRANGER = "YJxs/Xv1rk/q7NfjD0vQzHPvYQzHLYgqFoW6E2X0sFQ="

SERVER_CONF = """\
[Interface]
Address = 10.99.0.1/24
ListenPort = 51820
PrivateKey = {server_private}

[Peer]
# client
PublicKey = {client}
AllowedIPs = 10.99.0.2/32

[Peer]
# client2
PublicKey = {client2}
AllowedIPs = 10.99.0.3/32
""".format(server_private=SERVER_PRIVATE, client=CLIENT, client2=CLIENT2)


@pytest.fixture(params=wg_crypto.available_backends())
def backend(request):
    wg_crypto.force_backend(request.param)
    yield request.param
    wg_crypto.force_backend(None)


# ---------------------------------------------------------------- key text

def test_keys_as_wg_prints_them_have_no_problem():
    for private, public in PAIRS:
        assert key_problem(private) is None and key_problem(public) is None
    assert require_key(SERVER + "\n", "public_key") == SERVER


@pytest.mark.parametrize("text, reason", [
    ("not a key at all", "not base64"),
    ("c2hvcnQ=", "decodes to 5 bytes, expected 32"),
    # Same 32 bytes as a real key but a stray bit in the last group: b64decode takes it, wg refuses it.
    (SERVER[:42] + chr(ord(SERVER[42]) + 1) + "=", "not in the form wg prints"),
])
def test_malformed_key_is_described_never_quoted(text, reason):
    with pytest.raises(KeypairInputError) as info:
        require_key(text, "private_key")
    message = str(info.value)
    assert message.startswith("private_key is not a WireGuard key: " + reason)
    assert text not in message and text[:10] not in message


def test_a_truncated_private_key_is_refused_without_echoing_it():
    with pytest.raises(KeypairInputError) as info:
        require_key(SERVER_PRIVATE[:-4], "the private key of /etc/wireguard/wg0.key")
    assert SERVER_PRIVATE[:8] not in str(info.value)
    assert "/etc/wireguard/wg0.key" in str(info.value)


# ---------------------------------------------------------------- (a) the host's own pair

def test_real_wg_pairs_belong_together_on_every_backend(backend):
    for private, public in PAIRS:
        pair = check_pair(private, public)
        assert pair == {"derived_public_key": public, "public_key": public, "match": True, "backend": backend}


def test_public_key_of_another_host_does_not_match_and_says_whose_key_it_derived():
    pair = check_pair(CLIENT_PRIVATE, SERVER)
    assert pair["match"] is False and pair["derived_public_key"] == CLIENT
    problems = pair_problems(pair)
    assert problems == ["the private key's public key is %s, not the public_key %s: they do not belong together" % (CLIENT, SERVER)]
    assert CLIENT_PRIVATE not in problems[0]
    assert has_problems(pair, None)


def test_without_a_public_key_only_the_derived_key_is_returned():
    pair = check_pair(SERVER_PRIVATE)
    assert pair["match"] is None and pair["derived_public_key"] == SERVER
    assert pair_problems(pair) == [] and not has_problems(pair, None)


def test_wg_pubkey_is_used_for_a_long_term_key_when_only_pure_python_is_here(monkeypatch):
    monkeypatch.setattr(wg_crypto, "backend_name", lambda: "pure")
    seen = []

    def wg_pubkey(private):
        seen.append(private)
        return SERVER + "\n"

    assert derive_public_key(SERVER_PRIVATE, wg_pubkey) == (SERVER, "wg")
    assert seen == [SERVER_PRIVATE]


def test_library_backend_is_preferred_over_wg_pubkey():
    if wg_crypto.available_backends()[0] == "pure":
        pytest.skip("no library backend installed")

    def wg_pubkey(private):
        raise AssertionError("wg pubkey called although a library backend is installed")

    assert derive_public_key(SERVER_PRIVATE, wg_pubkey) == (SERVER, wg_crypto.available_backends()[0])


@pytest.mark.parametrize("answer", [None, "garbage", RuntimeError("wg pubkey failed reading " + SERVER_PRIVATE)])
def test_a_failing_wg_pubkey_falls_back_to_pure_python(monkeypatch, answer):
    monkeypatch.setattr(wg_crypto, "backend_name", lambda: "pure")
    wg_crypto.force_backend("pure")
    try:
        def wg_pubkey(private):
            if isinstance(answer, Exception):
                raise answer
            return answer

        assert derive_public_key(SERVER_PRIVATE, wg_pubkey) == (SERVER, "pure")
    finally:
        wg_crypto.force_backend(None)


# ---------------------------------------------------------------- (b) the host's peers

def test_healthy_server_holds_both_clients_in_file_and_runtime():
    config = parse_config(SERVER_CONF, "/etc/wireguard/wg0.conf")
    peers = check_peers({"client": CLIENT, "client2": CLIENT2}, config, [CLIENT, CLIENT2], SERVER)
    assert peers["sources"] == ["config", "runtime"]
    assert peers["ok"] == [{"name": "client", "public_key": CLIENT, "lines": [6]},
                           {"name": "client2", "public_key": CLIENT2, "lines": [11]}]
    assert not (peers["unknown"] or peers["missing"] or peers["malformed"] or peers["duplicates"])
    assert peer_problems(peers, "/etc/wireguard/wg0.conf", "wg0") == []
    assert not has_problems(None, peers)


def test_client_holding_a_wrong_server_key_is_named_with_line_and_the_peer_it_stands_for():
    client_conf = fixture("client_wrong_server_key.conf")
    config = parse_config(client_conf, "/etc/wireguard/wg0.conf")
    runtime = parse_peers_output(fixture("client_wrong_server_key_peers.txt"))
    peers = check_peers({"server": SERVER}, config, runtime)
    assert peers["ok"] == []
    assert peers["missing"] == [{"name": "server", "public_key": SERVER, "missing_from": ["config", "runtime"]}]
    assert [(u["source"], u["public_key"], u["instead_of"]) for u in peers["unknown"]] == [
        ("config", STRANGER, "server"), ("runtime", STRANGER, "server")]
    line = [u["line"] for u in peers["unknown"] if u["source"] == "config"][0]
    assert client_conf.splitlines()[line - 1] == "[Peer]"
    problems = peer_problems(peers, "/etc/wireguard/wg0.conf", "wg0")
    assert problems[0] == ("/etc/wireguard/wg0.conf line %d: peer %s is none of the expected peers "
                           "(probably a wrong key for server, whose key is missing there)" % (line, STRANGER))
    assert problems[2] == "server (%s) is not a peer in /etc/wireguard/wg0.conf nor in the running wg0" % SERVER
    assert has_problems(None, peers)


def test_file_fixed_but_interface_not_restarted_shows_the_runtime_alone_is_wrong():
    config = parse_config(SERVER_CONF, "/etc/wireguard/wg0.conf")
    peers = check_peers({"client": CLIENT, "client2": CLIENT2}, config, [STRANGER, CLIENT2])
    assert [m["name"] for m in peers["missing"]] == ["client"]
    assert peers["missing"][0]["missing_from"] == ["runtime"]
    assert peers["unknown"] == [{"public_key": STRANGER, "source": "runtime", "line": None, "instead_of": "client"}]


def test_two_strangers_are_not_guessed_to_be_anyone():
    config = parse_config(SERVER_CONF.replace(CLIENT, STRANGER).replace(CLIENT2, SERVER), "wg0.conf")
    peers = check_peers({"client": CLIENT, "client2": CLIENT2}, config)
    assert peers["sources"] == ["config"]
    assert {u["instead_of"] for u in peers["unknown"]} == {None}


def test_stopped_interface_checks_the_file_only():
    config = parse_config(SERVER_CONF, "/etc/wireguard/wg0.conf")
    peers = check_peers({"client": CLIENT}, config, None)
    assert peers["sources"] == ["config"]
    assert [o["name"] for o in peers["ok"]] == ["client"]
    assert [u["public_key"] for u in peers["unknown"]] == [CLIENT2]


def test_nothing_to_check_is_an_input_error():
    with pytest.raises(KeypairInputError):
        check_peers({"client": CLIENT}, None, None)


def test_malformed_public_key_lines_are_reported_with_file_line_and_reason_not_the_text():
    text = fixture("server_malformed_peers.conf")
    config = parse_config(text, "/etc/wireguard/wg0.conf")
    peers = check_peers({"client": CLIENT}, config)
    assert [(m["line"], m["reason"]) for m in peers["malformed"]] == [
        (8, "PublicKey is not base64 of 32 bytes (wg pubkey prints 44 characters ending in '=')"),
        (11, "[Peer] has no PublicKey"),
    ]
    for line in peer_problems(peers, "/etc/wireguard/wg0.conf", "wg0")[:2]:
        assert line.startswith("/etc/wireguard/wg0.conf line ")
        assert CLIENT[:-4] not in line


def test_two_hosts_sharing_a_key_are_duplicates_cloned_vm():
    config = parse_config(SERVER_CONF.replace(CLIENT2, CLIENT), "wg0.conf")
    peers = check_peers({"client": CLIENT, "client2": CLIENT}, config)
    sources = {d["source"]: d for d in peers["duplicates"]}
    assert sources["expected_peers"]["names"] == ["client", "client2"]
    assert sources["config"]["lines"] == [6, 11]
    problems = peer_problems(peers, "wg0.conf", "wg0")
    assert "client, client2 share the public key %s: two hosts with one key cannot both connect" % CLIENT in problems
    assert "wg0.conf lines 6, 11: the same PublicKey %s in more than one [Peer]" % CLIENT in problems


def test_own_key_listed_as_a_peer_is_reported():
    config = parse_config(SERVER_CONF.replace(CLIENT2, SERVER), "wg0.conf")
    peers = check_peers({"client": CLIENT}, config, None, own_public_key=SERVER)
    own = [d for d in peers["duplicates"] if d["source"] == "own_key"]
    assert own == [{"public_key": SERVER, "source": "own_key", "names": [], "lines": [11]}]
    assert "this host's own public key %s is listed as a peer" % SERVER in peer_problems(peers, "wg0.conf", "wg0")


def test_wg_show_peers_output_is_read_and_garbage_is_named_by_line():
    assert parse_peers_output(fixture("server_peers.txt")) == [CLIENT]
    assert parse_peers_output("") == []
    with pytest.raises(ValueError, match=r"^wg show peers, line 2: not a public key$"):
        parse_peers_output(CLIENT + "\nUnable to access interface: No such device\n")


def test_private_key_handed_in_as_the_public_key_is_refused_not_echoed():
    with pytest.raises(KeypairInputError) as info:
        check_pair(SERVER_PRIVATE, SERVER_PRIVATE + "\n")
    assert "the public key given is the private key itself" in str(info.value)
    assert SERVER_PRIVATE[:10] not in str(info.value)
