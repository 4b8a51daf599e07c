"""A remedy carries what the diagnosis proved: the other end's interface, the port, the uplink (issue #11 item 3).

The tunnel here is not wg0 on 51820: the server's interface is `wgsrv` on 51999, the client's `wgcli`,
so a remedy that leans on a default name or port, or takes one end's name for the other's, shows.
"""
from __future__ import annotations

import copy
import json
import os
import typing as t

from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.diagnosis import diagnose

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "diagnosis", "fixtures", "healthy_pair.json")
NOW = 1764085000.0
PORT = 51999
NAMES = {"server": "wgsrv", "client": "wgcli"}


def renamed_pair() -> dict[str, t.Any]:
    with open(FIXTURE) as handle:
        text = handle.read()
    facts = json.loads(text)
    for host, name in NAMES.items():
        facts[host] = json.loads(json.dumps(facts[host]).replace("wg0", name).replace("51820", str(PORT)))
    return facts


def iface(facts: dict, host: str) -> dict:
    return facts[host]["interfaces"][NAMES[host]]


def full_tunnel_gateway(facts: dict) -> dict:
    """The client sends everything into the tunnel: the server must forward and masquerade."""
    for source in ("config", "runtime"):
        iface(facts, "client")[source]["peers"][0]["allowed_ips"] = ["0.0.0.0/0"]
    return facts


def probe(outcome: str) -> dict:
    return {"initiator": "client", "responder": "server", "interface": NAMES["server"],
            "peer": iface(renamed_pair(), "server")["runtime"]["public_key"],
            "target": {"host": "198.51.100.10", "port": PORT}, "vantage": "client",
            "outcome": outcome, "rtt_ms": None, "attempts": 2, "arrived": 1, "error": None}


def only(report: dict, code: str) -> dict:
    found = [f for f in report["findings"] if f["code"] == code]
    assert len(found) == 1, [f["code"] for f in report["findings"]]
    return found[0]


def test_psk_remedy_names_the_interface_of_the_end_it_copies_from():
    facts = renamed_pair()
    iface(facts, "client")["config"]["peers"][0]["preshared_key_digest"] = "0123456789abcdef"
    finding = only(diagnose(facts, [probe("auth_failed")], [], {}, NOW), "preshared_key_mismatch")
    assert finding["remedy"]["host"] == "client"
    assert finding["remedy"]["vars"]["peer_interface"] == "wgcli"
    assert finding["remedy"]["vars"]["peer_preshared_key_from_host"] == "server"
    assert finding["remedy"]["vars"]["peer_preshared_key_from_interface"] == "wgsrv"


def test_forward_remedy_carries_the_port_the_tunnel_listens_on():
    facts = full_tunnel_gateway(renamed_pair())
    iface(facts, "server")["firewall"]["forward"] = {"verdict": "drop", "backend": "iptables-nft", "rule": None}
    facts["server"]["uplinks"] = [{"interface": "eth0", "family": 4, "via": "198.51.100.1"}]
    finding = only(diagnose(facts, [probe("ok")], [], {}, NOW), "forward_chain_blocks")
    # What the diagnosis proved travels with the remedy: the backend to change and the uplink to forward out of.
    assert finding["remedy"]["vars"] == {"firewall_interface": "wgsrv", "firewall_port": PORT, "firewall_forward": True,
                                         "firewall_backend": "iptables", "firewall_forward_uplinks": ["eth0"]}


def test_masquerade_goes_out_of_the_default_route_not_the_first_address():
    facts = full_tunnel_gateway(renamed_pair())
    # A bridge listed before the uplink: the old guess took the first non-WireGuard address.
    facts["server"]["addresses"].insert(0, {"interface": "docker0", "address": "172.17.0.1", "prefixlen": 16, "family": 4})
    facts["server"]["uplinks"] = [{"interface": "ens3", "family": 4, "via": "198.51.100.1"}]
    finding = only(diagnose(facts, [probe("ok")], [], {}, NOW), "nat_masquerade_missing")
    assert finding["remedy"]["vars"] == {
        "firewall_interface": "wgsrv", "firewall_port": PORT,
        "firewall_masquerade_source": "10.99.0.0/24", "firewall_masquerade_interface": "ens3", "firewall_forward_uplinks": ["ens3"]}


def test_masquerade_takes_the_ipv4_uplink_when_ipv6_leaves_elsewhere():
    facts = full_tunnel_gateway(renamed_pair())
    facts["server"]["uplinks"] = [{"interface": "ens4", "family": 6, "via": "fe80::1"},
                                  {"interface": "ens3", "family": 4, "via": "198.51.100.1"}]
    finding = only(diagnose(facts, [probe("ok")], [], {}, NOW), "nat_masquerade_missing")
    assert finding["remedy"]["vars"]["firewall_masquerade_interface"] == "ens3"


def test_without_a_default_route_the_masquerade_finding_has_no_guessed_remedy():
    facts = full_tunnel_gateway(renamed_pair())
    facts["server"]["uplinks"] = []
    finding = only(diagnose(facts, [probe("ok")], [], {}, NOW), "nat_masquerade_missing")
    assert finding["remedy"] is None
    assert "no IPv4 default route" in " ".join(finding["evidence"])


def test_facts_without_uplinks_are_not_guessed_from_addresses():
    facts = full_tunnel_gateway(renamed_pair())
    facts["server"].pop("uplinks", None)
    finding = only(diagnose(copy.deepcopy(facts), [probe("ok")], [], {}, NOW), "nat_masquerade_missing")
    assert finding["remedy"] is None
