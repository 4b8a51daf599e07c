"""`wg show all dump` as recorded from wireguard-go pairs in network namespaces (see facts/fixtures/record.sh)."""
from __future__ import annotations

import json
import os

import pytest

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard.dump import DumpParseError, parse_dump

HERE = os.path.dirname(__file__)
FIXTURES = os.path.join(HERE, "fixtures")
SECRETS = os.path.join(HERE, "..", "facts", "fixtures", "secrets.txt")
# The moment the fixtures were recorded, a little after the handshake.
RECORDED_AT = 1795622131


def read(name: str) -> str:
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


def secrets() -> list:
    with open(SECRETS) as handle:
        return [line.strip() for line in handle if line.strip()]


def test_healthy_server_knows_its_client_and_when_they_last_shook_hands():
    server = parse_dump(read("healthy_server.dump"), now=RECORDED_AT)["wgF0"]
    assert server["up"] is True
    assert server["listen_port"] == 51831
    assert server["fwmark"] is None
    assert server["has_private_key"] is True
    assert server["public_key"] == "amWm682tbJ6e7Ik/1DrZUkFLnFU78wWeHLXELqsaCTk="
    [client] = server["peers"]
    assert client["public_key"] == "WW2tzky9Mlq3Db+kEnbbRYtKQ2BSL4wzDLJ/T+B2rSw="
    assert client["endpoint"] == {"raw": "10.200.31.2:55845", "host": "10.200.31.2", "port": 55845}
    assert client["allowed_ips"] == ["10.99.31.2/32"]
    assert client["latest_handshake"] == 1795622121
    assert client["latest_handshake_age"] == 10
    assert (client["transfer_rx"], client["transfer_tx"]) == (180, 92)
    assert client["persistent_keepalive"] is None


def test_both_ends_see_the_same_preshared_key_digest_without_the_key():
    server = parse_dump(read("healthy_server.dump"), now=RECORDED_AT)["wgF0"]["peers"][0]
    client = parse_dump(read("healthy_client.dump"), now=RECORDED_AT)["wgF1"]["peers"][0]
    assert server["has_preshared_key"] and client["has_preshared_key"]
    assert len(server["preshared_key_digest"]) == 16
    assert server["preshared_key_digest"] == client["preshared_key_digest"]


def test_client_has_keepalive_and_the_configured_endpoint():
    client = parse_dump(read("healthy_client.dump"), now=RECORDED_AT)["wgF1"]
    assert client["peers"][0]["persistent_keepalive"] == 25
    assert client["peers"][0]["endpoint"]["port"] == 51831


def test_stopped_interface_is_absent_from_the_dump():
    assert parse_dump(read("stopped_client.dump")) == {}


def test_a_thousand_peers_added_with_wg_set_have_never_shaken_hands():
    server = parse_dump(read("many_peers_server.dump"), now=RECORDED_AT)["wgF0"]
    assert len(server["peers"]) == 1001
    # wireguard-go lists peers in hash order, not in the order they were added.
    fresh = [peer for peer in server["peers"] if peer["public_key"] != "WW2tzky9Mlq3Db+kEnbbRYtKQ2BSL4wzDLJ/T+B2rSw="]
    assert len(fresh) == 1000
    assert all(peer["latest_handshake"] is None and peer["latest_handshake_age"] is None for peer in fresh)
    assert all(peer["endpoint"] is None and not peer["has_preshared_key"] for peer in fresh)
    assert len({peer["public_key"] for peer in server["peers"]}) == 1001


@pytest.mark.parametrize("name", ["healthy_server.dump", "healthy_client.dump", "link_down_server.dump", "many_peers_server.dump"])
def test_no_private_or_preshared_key_survives_parsing(name):
    text = read(name)
    recorded = [secret for secret in secrets() if secret in text]
    assert recorded, "the fixture must contain a secret for this test to mean anything"
    out = json.dumps(parse_dump(text, now=RECORDED_AT))
    for secret in secrets():
        assert secret not in out


def test_ipv6_endpoint_with_zone_and_fwmark():
    key = "WW2tzky9Mlq3Db+kEnbbRYtKQ2BSL4wzDLJ/T+B2rSw="
    text = "wg9\t(none)\t(none)\t0\t0xca6c\nwg9\t%s\t(none)\t[fe80::1%%eth0]:51820\t(none)\t0\t0\t0\toff\n" % key
    wg9 = parse_dump(text)["wg9"]
    assert wg9["has_private_key"] is False and wg9["public_key"] is None
    assert wg9["fwmark"] == 0xCA6C
    assert wg9["peers"][0]["endpoint"]["host"] == "fe80::1%eth0"
    assert wg9["peers"][0]["allowed_ips"] == []


@pytest.mark.parametrize("text,line", [
    ("garbage\n", 1),
    ("wg0\tk\tk\t51820\toff\nwg0\tk\t(none)\t(none)\t(none)\tsoon\t0\t0\toff\n", 2),
    ("wg1\tk\t(none)\t(none)\t(none)\t0\t0\t0\toff\n", 1),
    ("wg0\tk\tk\tport\toff\n", 1),
])
def test_garbage_raises_with_the_line_number(text, line):
    with pytest.raises(DumpParseError) as caught:
        parse_dump(text)
    assert caught.value.line == line
    assert "line %d" % line in str(caught.value)


def test_error_message_never_quotes_a_bad_preshared_key():
    psk = secrets()[2]
    text = "wg0\t(none)\t(none)\t1\toff\nwg0\tpub\t%s\tnot-an-endpoint\t(none)\t0\t0\t0\toff\n" % psk[:-2]
    with pytest.raises(DumpParseError) as caught:
        parse_dump(text)
    assert psk[:-2] not in str(caught.value)
