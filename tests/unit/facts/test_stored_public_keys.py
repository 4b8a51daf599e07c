"""wg_facts' `keypair_checks`: the public-key files kept beside a config (wgF0.pub, publickey, ...) against the key
the interface's private key derives. The file is what was handed to the peers: a stale one makes every new peer
fail the handshake, and one that holds the private key has published it. The diagnosis names both
(local_keypair_mismatch)."""
from __future__ import annotations

import json
import os
import shutil
import sys

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard.derive import public_key_from_private

sys.path.insert(0, os.path.dirname(__file__))
from test_wg_facts_module import CONFIGS, FakeModule, gather, host, server_outputs  # noqa: E402,F401  # pylint: disable=unused-import

SERVER_PRIVATE = "aOsbIOed6pNEAdTzgqkM3K+n6eOLPY6GHjvathviwUg="  # healthy_server.conf's PrivateKey
SERVER_PUBLIC = public_key_from_private(SERVER_PRIVATE)
STALE = "YJxs/Xv1rk/q7NfjD0vQzHPvYQzHLYgqFoW6E2X0sFQ="


def checks(host: dict, **files: str) -> list:
    for name, content in files.items():
        with open(os.path.join(host["config_dir"], name), "w") as handle:
            handle.write(content)
    facts = gather(FakeModule(host, server_outputs()))
    assert SERVER_PRIVATE not in json.dumps(facts) and SERVER_PRIVATE[:12] not in json.dumps(facts)
    return facts["keypair_checks"]


def test_no_stored_public_key_no_check(host):
    assert checks(host) == []


def test_a_stored_public_key_that_belongs_to_the_private_key_matches(host):
    assert checks(host, **{"wgF0.pub": SERVER_PUBLIC + "\n"}) == [
        {"interface": "wgF0", "source": os.path.join(host["config_dir"], "wgF0.pub"), "public_key": SERVER_PUBLIC,
         "derived_public_key": SERVER_PUBLIC, "match": True, "problem": None}]


def test_a_stale_public_key_file_is_a_mismatch(host):
    [check] = checks(host, **{"wgF0.pub": STALE + "\n"})
    assert (check["public_key"], check["derived_public_key"], check["match"], check["problem"]) == (STALE, SERVER_PUBLIC, False, None)


def test_a_public_key_file_holding_the_private_key_is_named_and_never_returned(host):
    [check] = checks(host, **{"wgF0.pub": SERVER_PRIVATE + "\n"})
    assert check["public_key"] is None and check["match"] is False
    assert check["problem"] == "holds the private key, not the public key"


def test_a_public_key_file_that_is_no_key_says_why_without_quoting_it(host):
    [check] = checks(host, **{"wgF0.pub": "ssh-ed25519 AAAAC3Nza my laptop\n"})
    assert check["public_key"] is None and check["match"] is False
    assert check["problem"].startswith("is not a WireGuard key: ") and "laptop" not in check["problem"]


def test_the_private_key_file_beside_it_is_never_read(host):
    assert checks(host, **{"wgF0.key": SERVER_PRIVATE + "\n", "privatekey": SERVER_PRIVATE + "\n"}) == []


def test_a_shared_publickey_file_counts_only_where_one_interface_has_a_config(host):
    [check] = checks(host, publickey=STALE + "\n")
    assert check["source"] == os.path.join(host["config_dir"], "publickey") and check["match"] is False
    # With a second config in the directory the file could be either interface's: it says nothing.
    shutil.copy(os.path.join(CONFIGS, "healthy_server.conf"), os.path.join(host["config_dir"], "wgF1.conf"))
    assert checks(host) == []
