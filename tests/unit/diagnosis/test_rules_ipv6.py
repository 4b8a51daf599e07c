"""Both address families (issue #16): the host firewall is judged in the family the initiators use."""
from __future__ import annotations

from diagnosis_facts import codes, config_peer, never_handshaken, only, probe, run, runtime_peer, wg0

SERVER6 = "2001:db8:3:100::10"
DROP6 = {"verdict": "drop", "backend": "iptables-nft", "table": "filter", "chain": "INPUT",
         "rule": "-p udp -m multiport --dports 51820 -j DROP", "counter": 4}


def over_ipv6(facts):
    """The client reaches the server at [SERVER6]:51820; the server has that address on its uplink."""
    raw = "[%s]:51820" % SERVER6
    config_peer(facts, "client")["endpoint"] = {"raw": raw, "host": SERVER6, "port": 51820, "is_hostname": False,
                                                "resolved": [SERVER6], "resolve_error": None}
    runtime_peer(facts, "client")["endpoint"] = {"raw": raw, "host": SERVER6, "port": 51820}
    facts["server"]["addresses"].append({"interface": "eth0", "address": SERVER6, "prefixlen": 64, "family": 6})
    return facts


def probe6(outcome, arrived=1):
    sent = probe(outcome, arrived=arrived)
    sent["target"] = {"host": SERVER6, "port": 51820}
    return sent


def drop_ipv6_only(facts):
    wg0(facts, "server")["firewall"]["input_ipv6"] = dict(DROP6)
    return never_handshaken(facts)


def test_ipv6_only_drop_is_named_for_an_ipv6_endpoint(facts):
    report = run(drop_ipv6_only(over_ipv6(facts)), probes=[probe6("timeout", arrived=2)])
    finding = only(report, "udp_blocked_host_firewall")
    assert finding["host"] == "server" and report["findings"][0] is finding
    assert "incoming IPv6 UDP 51820" in finding["summary"]
    assert finding["evidence"][0] == ("iptables-nft: filter/INPUT verdict drop by rule '-p udp -m multiport --dports 51820 -j DROP' "
                                      "(counter 4 packets) for IPv6, the family its initiators reach it over")
    assert finding["remedy"]["vars"]["firewall_port"] == 51820
    assert only(report, "handshake_never")["follows_from"] == ["udp_blocked_host_firewall"]
    assert "udp_blocked_upstream" not in codes(report)


def test_ipv6_only_drop_is_named_from_the_endpoint_when_no_probe_ran(facts):
    report = run(drop_ipv6_only(over_ipv6(facts)), probes=[])
    assert "IPv6" in only(report, "udp_blocked_host_firewall")["summary"]


def test_ipv6_only_drop_says_nothing_about_an_ipv4_endpoint(facts):
    report = run(drop_ipv6_only(facts), probes=[probe("ok")])
    assert "udp_blocked_host_firewall" not in codes(report)
    report = run(drop_ipv6_only(facts), probes=[probe("timeout", arrived=0)])
    assert "udp_blocked_host_firewall" not in codes(report)
    assert "udp_blocked_upstream" in codes(report)


def test_ipv4_drop_says_nothing_about_an_ipv6_endpoint_whose_family_passes(facts):
    over_ipv6(facts)
    wg0(facts, "server")["firewall"]["input"] = dict(DROP6, rule="-p udp --dport 51820 -j DROP")
    wg0(facts, "server")["firewall"]["input_ipv6"] = {"verdict": "accept", "backend": "iptables-nft", "table": "filter",
                                                      "chain": "INPUT", "rule": None, "counter": None}
    report = run(never_handshaken(facts), probes=[probe6("timeout", arrived=0)])
    assert "udp_blocked_host_firewall" not in codes(report)
    assert "udp_blocked_upstream" in codes(report)


def test_an_ipv6_probe_target_is_written_as_an_endpoint_is(facts):
    finding = only(run(drop_ipv6_only(over_ipv6(facts)), probes=[probe6("timeout", arrived=2)]), "udp_blocked_host_firewall")
    assert any(line.startswith("probe from client to [%s]:51820: timeout" % SERVER6) for line in finding["evidence"]), finding["evidence"]
