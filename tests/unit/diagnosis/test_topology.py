"""Pairing: an end's [Peer] PublicKey names the other end; the Endpoint says who was meant when it does not."""
from __future__ import annotations

import copy

from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.topology import pair_ends
from diagnosis_facts import (
    CLIENT_KEY, OUTSIDE_KEY, SERVER_KEY, STRANGER_KEY, config_peer, runtime_peer, wg0,
)


def test_two_ends_pair_by_their_keys(facts):
    topology = pair_ends(facts)
    assert topology["outside"] == []
    [tunnel] = topology["tunnels"]
    assert tunnel["matched_by"] == "keys"
    assert tunnel["a"] == {"host": "client", "interface": "wg0", "public_key": CLIENT_KEY,
                           "peer": SERVER_KEY, "peer_matched_by": "keys"}
    assert tunnel["b"]["host"] == "server"
    assert tunnel["initiators"] == ["client"]
    assert tunnel["responder"] == "server"


def test_wrong_key_is_paired_by_endpoint_address_and_port(facts):
    config_peer(facts, "client")["public_key"] = STRANGER_KEY
    runtime_peer(facts, "client")["public_key"] = STRANGER_KEY
    [tunnel] = pair_ends(facts)["tunnels"]
    assert tunnel["matched_by"] == "endpoint"
    assert tunnel["a"]["peer"] == STRANGER_KEY
    assert tunnel["a"]["peer_matched_by"] == "endpoint"
    assert tunnel["b"]["peer_matched_by"] == "keys"


def test_hostname_endpoint_pairs_by_its_resolved_address(facts):
    for peer in (config_peer(facts, "client"), runtime_peer(facts, "client")):
        peer["public_key"] = STRANGER_KEY
    config_peer(facts, "client")["endpoint"] = {
        "raw": "vpn.example.test:51820", "host": "vpn.example.test", "port": 51820, "is_hostname": True,
        "resolved": ["198.51.100.10"], "resolve_error": None}
    runtime_peer(facts, "client")["endpoint"] = None
    [tunnel] = pair_ends(facts)["tunnels"]
    assert tunnel["a"]["peer_matched_by"] == "endpoint"


def test_peer_outside_the_inventory_is_reported_not_paired(facts):
    wg0(facts, "server")["config"]["peers"].append({
        "public_key": OUTSIDE_KEY, "line": 11, "endpoint": None, "allowed_ips": ["10.99.0.9/32"],
        "persistent_keepalive": None, "has_preshared_key": False, "preshared_key_digest": None})
    topology = pair_ends(facts)
    assert len(topology["tunnels"]) == 1
    assert topology["outside"] == [{"host": "server", "interface": "wg0", "public_key": OUTSIDE_KEY, "endpoint": None}]


def test_mesh_of_three_makes_three_tunnels(facts):
    third = copy.deepcopy(facts["client"])
    third_key = OUTSIDE_KEY
    third["interfaces"]["wg0"]["config"]["public_key"] = third_key
    third["interfaces"]["wg0"]["runtime"]["public_key"] = third_key
    third["addresses"][0]["address"] = "198.51.100.30"
    facts["laptop"] = third
    for host in ("server", "client"):
        wg0(facts, host)["config"]["peers"].append({"public_key": third_key, "line": 20, "endpoint": None,
                                                    "allowed_ips": ["10.99.0.3/32"]})
    third["interfaces"]["wg0"]["config"]["peers"].append({"public_key": CLIENT_KEY, "line": 20, "endpoint": None,
                                                          "allowed_ips": ["10.99.0.2/32"]})
    pairs = sorted(tuple(sorted((t["a"]["host"], t["b"]["host"]))) for t in pair_ends(facts)["tunnels"])
    assert pairs == [("client", "laptop"), ("client", "server"), ("laptop", "server")]


def test_hub_with_ten_thousand_peers_pairs_in_one_pass(facts):
    hub = wg0(facts, "server")["config"]["peers"]
    for n in range(10000):
        hub.append({"public_key": "%043dA=" % n, "line": 20 + n, "endpoint": None,
                    "allowed_ips": ["10.100.%d.%d/32" % (n // 250, n % 250 + 1)]})
    topology = pair_ends(facts)
    assert len(topology["tunnels"]) == 1
    assert len(topology["outside"]) == 10000
