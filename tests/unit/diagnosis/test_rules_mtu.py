"""The handshake works, the traffic hangs (issue #16): a path MTU black hole is named from the DF bisection."""
from __future__ import annotations

from diagnosis_facts import CLIENT_KEY, HEALTHY_PINGS, NOW, SERVER_KEY, codes, config_peer, wg0

from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.diagnosis import diagnose
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.diagnosis.mtu import header_of


def mtu_record(source, target, address, largest, mtu=1420, smallest_lost=None, underlay=None):
    return {"from": source, "to": target, "address": address, "interface": "wg0", "mtu": mtu, "largest": largest,
            "smallest_lost": smallest_lost, "probes": 11, "seconds": 3.2, "complete": True, "underlay": underlay,
            "error": None}


UNDERLAY = {"address": "198.51.100.10", "interface": "eth0", "mtu": 1500, "largest": 1272, "error": None}
BLACKHOLE = [mtu_record("client", "server", "10.99.0.1", 1212, smallest_lost=1213, underlay=UNDERLAY),
             mtu_record("server", "client", "10.99.0.2", 1212, smallest_lost=1213)]


def run(facts, mtu_records):
    from diagnosis_facts import probe
    return diagnose(facts, [probe("ok")], HEALTHY_PINGS, {}, NOW, mtu_records=mtu_records)


def blackholes(report):
    return [f for f in report["findings"] if f["code"] == "tunnel_mtu_blackhole"]


def test_big_packets_lost_in_both_directions_set_the_mtu_on_both_ends(facts):
    report = run(facts, BLACKHOLE)
    found = blackholes(report)
    assert sorted(f["host"] for f in found) == ["client", "server"]
    assert not report["healthy"]
    for finding in found:
        assert finding["severity"] == "error"
        remedy = finding["remedy"]
        assert remedy["role"] == "wgdoctor.wireguard.peer"
        # 1212 bytes of payload crossed: an inner packet of 1212 + 28 fits, so that is the MTU to set.
        assert remedy["vars"]["peer_mtu"] == 1240
        assert remedy["vars"]["peer_interface"] == "wg0"
    by_host = dict((f["host"], f) for f in found)
    assert by_host["client"]["remedy"]["vars"]["peer_public_key"] == SERVER_KEY
    assert by_host["server"]["remedy"]["vars"]["peer_public_key"] == CLIENT_KEY
    evidence = by_host["client"]["evidence"]
    assert "client: wg0 MTU 1420 promises DF ping payloads up to 1392 bytes (MTU - 28 for IPv4 ICMP)" in evidence
    assert any(line.startswith("ping -M do client -> server (10.99.0.1) over wg0: largest payload that crossed 1212 bytes, "
                               "1213 did not") for line in evidence)
    assert any("underlay client -> 198.51.100.10 via eth0 (link MTU 1500): largest DF payload that crossed 1272 bytes, "
               "a path MTU of 1300" in line for line in evidence)
    assert "the underlay path MTU was not measured" in " ".join(evidence)
    assert "MTU = 1240" in by_host["client"]["summary"] and "ip link set dev wg0 mtu 1240" in by_host["client"]["summary"]


def test_full_size_pings_that_cross_are_no_finding(facts):
    healthy = [mtu_record("client", "server", "10.99.0.1", 1392), mtu_record("server", "client", "10.99.0.2", 1392)]
    report = run(facts, healthy)
    assert "tunnel_mtu_blackhole" not in codes(report)
    assert report["healthy"]


def test_without_mtu_records_nothing_is_claimed(facts):
    assert "tunnel_mtu_blackhole" not in codes(run(facts, None))
    assert "tunnel_mtu_blackhole" not in codes(run(facts, []))


def test_nothing_crossing_at_all_is_not_an_mtu_problem(facts):
    # Even the smallest DF ping was lost: the tunnel carries nothing, which is tunnel_ping_fails' story.
    lost = [mtu_record("client", "server", "10.99.0.1", None), mtu_record("server", "client", "10.99.0.2", None)]
    assert "tunnel_mtu_blackhole" not in codes(run(facts, lost))


def test_an_end_whose_mtu_already_fits_is_left_alone(facts):
    records = [mtu_record("client", "server", "10.99.0.1", 1212), mtu_record("server", "client", "10.99.0.2", 1212, mtu=1240)]
    found = blackholes(run(facts, records))
    assert [f["host"] for f in found] == ["client"]


def test_one_measured_direction_fixes_the_other_end_by_its_configured_mtu(facts):
    wg0(facts, "server")["config"]["mtu"] = 1200
    found = blackholes(run(facts, [mtu_record("client", "server", "10.99.0.1", 1212)]))
    assert [f["host"] for f in found] == ["client"]
    wg0(facts, "server")["config"]["mtu"] = None
    found = blackholes(run(facts, [mtu_record("client", "server", "10.99.0.1", 1212)]))
    # An automatic MTU (no MTU = line) on the unmeasured end is what wg-quick derives from the route: 1420 or so.
    assert sorted(f["host"] for f in found) == ["client", "server"]


def test_ipv6_tunnel_addresses_count_the_ipv6_header():
    assert header_of("fd00::1") == 48 and header_of("10.0.0.1") == 28


def test_a_router_for_others_gets_the_mss_clamp_as_well(facts):
    facts["server"]["forwarding"]["ipv4"] = True
    # The client reaches the server's LAN through it: the server forwards for others.
    config_peer(facts, "client")["allowed_ips"] = ["10.99.0.0/24", "192.168.50.0/24"]
    found = blackholes(run(facts, BLACKHOLE))
    server = [f for f in found if f["host"] == "server"]
    roles = sorted(f["remedy"]["role"] for f in server)
    assert roles == ["wgdoctor.wireguard.firewall", "wgdoctor.wireguard.peer"]
    clamp = [f for f in server if f["remedy"]["role"].endswith("firewall")][0]
    assert clamp["remedy"]["vars"] == {"firewall_interface": "wg0", "firewall_port": 51820, "firewall_mss_clamp": True}
    assert "clamp the TCP MSS" in clamp["summary"]
    assert any("forwards for others" in line for line in clamp["evidence"])
    # The client routes for nobody: the MTU alone.
    assert [f["remedy"]["role"] for f in found if f["host"] == "client"] == ["wgdoctor.wireguard.peer"]


def test_forwarding_off_is_no_router_for_the_clamp(facts):
    config_peer(facts, "client")["allowed_ips"] = ["10.99.0.0/24", "192.168.50.0/24"]
    found = blackholes(run(facts, BLACKHOLE))
    assert all(f["remedy"]["role"] == "wgdoctor.wireguard.peer" for f in found)


def test_malformed_mtu_records_cost_nothing(facts):
    report = run(facts, ["garbage", {"from": "client"}, mtu_record("client", "server", "10.99.0.1", "big")])
    assert "tunnel_mtu_blackhole" not in codes(report)
    assert not report["incomplete"]


def test_a_direction_whose_search_gave_no_size_is_unchecked_not_healthy(facts):
    """A search that failed or timed out claims no size, and the report says what was not measured."""
    lost = dict(mtu_record("client", "server", "10.99.0.1", None, mtu=None), complete=False,
                error="the search gave no result: it had not finished when the playbook stopped waiting")
    report = run(facts, [lost, mtu_record("server", "client", "10.99.0.2", 1392)])
    assert "tunnel_mtu_blackhole" not in codes(report)
    assert report["unchecked"] == [{"host": "client", "what": "the largest packet through wg0 to server (10.99.0.1): "
                                    "the search gave no result: it had not finished when the playbook stopped waiting"}]
    assert report["incomplete"] and not report["healthy"]
