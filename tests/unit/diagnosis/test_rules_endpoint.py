"""Endpoint, DNS and NAT: does the client send to where the server is now, and keep the way back open?"""
from __future__ import annotations

from diagnosis_facts import (
    SERVER_KEY, codes, config_peer, never_handshaken, only, ping, probe, run, runtime_peer, wg0,
)


def hostname_endpoint(facts, resolved="198.51.100.10"):
    config_peer(facts, "client")["endpoint"] = {
        "raw": "vpn.example.test:51820", "host": "vpn.example.test", "port": 51820, "is_hostname": True,
        "resolved": [resolved], "resolve_error": None}
    return facts


def server_moved(facts):
    """The server got a new address, DNS followed, the client kept the address it resolved at start."""
    hostname_endpoint(facts, resolved="198.51.100.50")
    facts["server"]["addresses"][0]["address"] = "198.51.100.50"
    return never_handshaken(facts)


def test_client_still_sending_to_the_servers_old_address(facts):
    report = run(server_moved(facts), probes=[probe("timeout", arrived=0)])
    finding = report["findings"][0]
    assert (finding["code"], finding["host"]) == ("stale_endpoint", "client")
    assert finding["evidence"][:2] == ["client: wg0 sends to 198.51.100.10:51820 (runtime endpoint of peer LmOC49ER…)",
                                       "client: vpn.example.test resolves to 198.51.100.50 now"]
    assert finding["remedy"]["vars"] == {"peer_interface": "wg0", "peer_public_key": SERVER_KEY, "peer_reresolve": True}
    # The probe went to the old address too: that is the same cause, not a second, upstream one.
    assert "udp_blocked_upstream" not in codes(report)
    assert only(report, "handshake_never")["follows_from"] == ["stale_endpoint"]


def test_old_address_with_a_live_session_is_not_stale(facts):
    hostname_endpoint(facts, resolved="198.51.100.50")
    facts["server"]["addresses"][0]["address"] = "198.51.100.50"
    assert "stale_endpoint" not in codes(run(facts))


def test_hostname_endpoint_without_reresolution_is_a_warning(facts):
    report = run(hostname_endpoint(facts))
    finding = only(report, "hostname_endpoint_not_reresolved")
    assert finding["severity"] == "warning"
    assert finding["remedy"]["role"] == "wgdoctor.wireguard.keepalive"
    assert finding["remedy"]["vars"]["keepalive_reresolve"] is True
    assert report["healthy"] is True


def test_hostname_endpoint_with_reresolve_timer_is_fine(facts):
    hostname_endpoint(facts)
    wg0(facts, "client")["reresolve"] = {"method": "systemd-timer", "interval": 30}
    assert "hostname_endpoint_not_reresolved" not in codes(run(facts))


def client_behind_nat(facts):
    facts["client"]["addresses"][0]["address"] = "192.168.1.20"
    runtime_peer(facts, "server")["endpoint"] = {"raw": "203.0.113.77:40123", "host": "203.0.113.77", "port": 40123}
    return facts


def test_nat_without_keepalive_seen_from_the_server(facts):
    finding = only(run(client_behind_nat(facts)), "nat_without_keepalive")
    assert finding["host"] == "client"
    assert finding["evidence"][0] == ("server sees client's packets coming from 203.0.113.77:40123, "
                                      "not from client's addresses (192.168.1.20)")
    assert finding["remedy"] == {"role": "wgdoctor.wireguard.keepalive", "host": "client", "vars": {
        "keepalive_interface": "wg0", "keepalive_peer": SERVER_KEY, "keepalive_interval": 25}}


def test_nat_with_keepalive_is_fine(facts):
    client_behind_nat(facts)
    config_peer(facts, "client")["persistent_keepalive"] = 25
    assert "nat_without_keepalive" not in codes(run(facts))


def test_private_client_reaching_a_public_server_is_behind_nat(facts):
    facts["client"]["addresses"][0]["address"] = "192.168.1.20"
    facts["server"]["addresses"][0]["address"] = "93.184.216.34"
    for peer in (config_peer(facts, "client"), runtime_peer(facts, "client")):
        peer["endpoint"].update(raw="93.184.216.34:51820", host="93.184.216.34")
    config_peer(facts, "client")["endpoint"]["resolved"] = ["93.184.216.34"]
    runtime_peer(facts, "server")["endpoint"] = None
    finding = only(run(facts), "nat_without_keepalive")
    assert "client has only private addresses (192.168.1.20)" in finding["evidence"][0]


def test_bare_address_of_a_dhcp_server_is_advice(facts):
    facts["server"]["addresses"][0]["dynamic"] = True
    report = run(facts)
    finding = only(report, "dynamic_ip_bare_endpoint")
    assert finding["severity"] == "info"
    assert report["healthy"] is True


def test_rfc1918_client_reaching_a_documentation_address_is_behind_nat(facts):
    """Before any handshake only the addresses tell: an RFC 1918 client sending to an address outside
    the NAT ranges (here a documentation range, as in the lab) sits behind NAT."""
    facts["client"]["addresses"][0]["address"] = "10.77.0.10"
    facts["server"]["addresses"][0]["address"] = "198.51.100.10"
    for peer in (config_peer(facts, "client"), runtime_peer(facts, "client")):
        peer["endpoint"].update(raw="198.51.100.10:51820", host="198.51.100.10")
    config_peer(facts, "client")["endpoint"]["resolved"] = ["198.51.100.10"]
    runtime_peer(facts, "server")["endpoint"] = None
    finding = only(run(facts), "nat_without_keepalive")
    assert "client has only private addresses (10.77.0.10)" in finding["evidence"][0]


def test_client_and_server_on_one_private_network_is_not_nat(facts):
    facts["client"]["addresses"][0]["address"] = "10.77.0.10"
    facts["server"]["addresses"][0]["address"] = "10.77.0.20"
    for peer in (config_peer(facts, "client"), runtime_peer(facts, "client")):
        peer["endpoint"].update(raw="10.77.0.20:51820", host="10.77.0.20")
    config_peer(facts, "client")["endpoint"]["resolved"] = ["10.77.0.20"]
    runtime_peer(facts, "server")["endpoint"] = None
    assert "nat_without_keepalive" not in codes(run(facts))


def test_recent_handshake_with_the_old_address_gone_and_pings_dying_is_stale(facts):
    """The server moved a minute ago: the client's handshake is still recent, but its pings die."""
    hostname_endpoint(facts, resolved="198.51.100.50")
    facts["server"]["addresses"][0]["address"] = "198.51.100.50"
    dying = [ping("client", "server", "10.99.0.1", ok=False), ping("server", "client", "10.99.0.2", ok=False)]
    finding = only(run(facts, pings=dying), "stale_endpoint")
    assert finding["host"] == "client"
    assert any("through the tunnel failed" in line for line in finding["evidence"])
