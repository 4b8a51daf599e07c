"""After the handshake: AllowedIPs, routes, forwarding, NAT - and the ping that proves it (step 5)."""
from __future__ import annotations

import pytest

from diagnosis_facts import (
    CLIENT_KEY, OUTSIDE_KEY, codes, config_peer, only, ping, run, runtime_peer, wg0,
)


def test_server_allowed_ips_miss_the_client_address(facts):
    for peer in (config_peer(facts, "server"), runtime_peer(facts, "server")):
        peer["allowed_ips"] = ["10.99.0.3/32"]
    report = run(facts, pings=[ping("client", "server", "10.99.0.1", ok=False), ping("server", "client", "10.99.0.2", ok=False)])
    finding = report["findings"][0]
    assert (finding["code"], finding["host"]) == ("allowed_ips_missing_peer_address", "server")
    assert finding["remedy"]["vars"] == {"peer_interface": "wg0", "peer_public_key": CLIENT_KEY,
                                         "peer_allowed_ips": ["10.99.0.3/32", "10.99.0.2/32"]}
    symptom = [f for f in report["findings"] if f["code"] == "tunnel_ping_fails"][0]
    assert symptom["follows_from"] == ["allowed_ips_missing_peer_address"]
    assert symptom["host"] == "client"


def test_ipv4_only_tunnel_is_not_missing_the_ipv6_address(facts):
    wg0(facts, "client")["config"]["address"].append("fd00:99::2/64")
    assert "allowed_ips_missing_peer_address" not in codes(run(facts))


def test_two_peers_claiming_overlapping_prefixes(facts):
    wg0(facts, "server")["config"]["peers"].append({
        "public_key": OUTSIDE_KEY, "line": 12, "endpoint": None, "allowed_ips": ["10.99.0.0/28"],
        "persistent_keepalive": None, "has_preshared_key": False, "preshared_key_digest": None})
    finding = only(run(facts), "allowed_ips_overlap")
    assert finding["host"] == "server"
    assert "10.99.0.0/28" in finding["evidence"][0] and "10.99.0.2/32" in finding["evidence"][0]


def test_adjacent_prefixes_do_not_overlap(facts):
    wg0(facts, "server")["config"]["peers"].append({
        "public_key": OUTSIDE_KEY, "line": 12, "endpoint": None, "allowed_ips": ["10.99.0.3/32", "10.99.0.4/30"]})
    assert "allowed_ips_overlap" not in codes(run(facts))


def test_allowed_ips_not_routed_into_the_interface(facts):
    wg0(facts, "client")["config"]["table"] = "off"
    wg0(facts, "client")["routes"] = {"10.99.0.0/24": None}
    finding = only(run(facts), "no_route_for_allowed_ips")
    assert finding["evidence"][0] == "client: Table = off in /etc/wireguard/wg0.conf: wg-quick adds no routes"
    assert "client: 10.99.0.0/24 goes nowhere (no route)" in finding["evidence"]


def full_tunnel(facts):
    for peer in (config_peer(facts, "client"), runtime_peer(facts, "client")):
        peer["allowed_ips"] = ["0.0.0.0/0"]
    return facts


def test_full_tunnel_gateway_with_forwarding_off(facts):
    report = run(full_tunnel(facts))
    finding = only(report, "ip_forward_disabled")
    assert finding["host"] == "server"
    assert "server: net.ipv4.ip_forward forwarding = 0" in finding["evidence"]
    assert finding["remedy"] == {"role": "wgdoctor.wireguard.ip_forwarding", "host": "server",
                                 "vars": {"ip_forwarding_ipv4": True, "ip_forwarding_ipv6": False}}


def test_full_tunnel_gateway_without_masquerade(facts):
    finding = only(run(full_tunnel(facts)), "nat_masquerade_missing")
    assert finding["remedy"] == {"role": "wgdoctor.wireguard.firewall", "host": "server", "vars": {
        "firewall_interface": "wg0", "firewall_port": 51820,
        "firewall_masquerade_source": "10.99.0.0/24", "firewall_masquerade_interface": "eth0", "firewall_forward_uplinks": ["eth0"]}}


def test_forward_policy_drop_on_the_gateway(facts):
    full_tunnel(facts)
    wg0(facts, "server")["firewall"]["forward"] = {"verdict": "drop", "backend": "iptables-nft", "rule": None}
    finding = only(run(facts), "forward_chain_blocks")
    assert finding["evidence"][0] == "iptables-nft: forward verdict drop (chain policy)"
    assert finding["remedy"]["vars"] == {"firewall_interface": "wg0", "firewall_port": 51820, "firewall_forward": True,
                                         "firewall_backend": "iptables", "firewall_forward_uplinks": ["eth0"]}


def test_well_configured_gateway_is_healthy(facts):
    full_tunnel(facts)
    facts["server"]["forwarding"]["ipv4"] = True
    facts["server"]["firewall"]["masquerade"] = [
        {"backend": "nftables", "source": "10.99.0.0/24", "out_interface": "eth0",
         "rule": "ip saddr 10.99.0.0/24 oifname \"eth0\" masquerade"}]
    report = run(facts)
    assert report["healthy"] is True, codes(report)


@pytest.mark.parametrize("masquerade, covered", [
    ({"source": "10.99.0.0/24", "out_interface": "eth1"}, False),  # out of another interface than the uplink
    ({"source": "!10.99.0.0/24", "out_interface": "eth0"}, False),  # everything but the tunnel
    ({"source": "10.99.0.0/16", "out_interface": "eth0"}, True),
    ({"source": None, "out_interface": None}, True),
])
def test_a_masquerade_covers_the_tunnel_only_out_of_the_uplink_and_not_negated(facts, masquerade, covered):
    full_tunnel(facts)
    facts["server"]["forwarding"]["ipv4"] = True
    facts["server"]["firewall"]["masquerade"] = [dict(
        masquerade, backend="iptables-nft", rule="-A POSTROUTING -j MASQUERADE", counter=0, chain="POSTROUTING",
        target="masquerade")]
    assert ("nat_masquerade_missing" not in codes(run(facts))) is covered


def test_hub_relaying_inside_its_own_subnet_needs_no_forwarding_finding(facts):
    # The client routes 10.99.0.0/24 to the server: that is the tunnel subnet, not a site.
    assert "ip_forward_disabled" not in codes(run(facts))


def test_ping_fails_with_handshake_up_and_no_cause_found(facts):
    report = run(facts, pings=[ping("server", "client", "10.99.0.2", ok=False), ping("client", "server", "10.99.0.1")])
    finding = only(report, "tunnel_ping_fails")
    assert finding["follows_from"] == []
    assert finding["host"] == "server"
    assert "ping client -> server (10.99.0.1): works" in finding["evidence"]
    assert report["healthy"] is False
