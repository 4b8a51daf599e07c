"""Handshake path: can the client's initiation reach a listening server?"""
from __future__ import annotations

from diagnosis_facts import (
    CLIENT_KEY, HEALTHY_PINGS, SERVER_KEY, codes, config_peer, never_handshaken, only, probe, run, wg0,
)


def drop_rule(facts, backend="nftables", verdict="drop", counter=6):
    wg0(facts, "server")["firewall"]["input"] = {
        "verdict": verdict, "backend": backend, "table": "inet filter", "chain": "input",
        "rule": "udp dport 51820 %s" % verdict, "counter": counter}
    return never_handshaken(facts)


def test_healthy_tunnel_has_no_finding_above_info(facts):
    report = run(facts, pings=HEALTHY_PINGS)
    assert report["healthy"] is True
    assert [f for f in report["findings"] if f["severity"] != "info"] == []


def test_drop_rule_on_server_is_named_as_root_cause(facts):
    report = run(drop_rule(facts), probes=[probe("timeout", arrived=2)])
    first = report["findings"][0]
    assert first["code"] == "udp_blocked_host_firewall"
    assert first["host"] == "server"
    assert first["severity"] == "critical"
    assert "nftables: inet filter/input verdict drop by rule 'udp dport 51820 drop' (counter 6 packets)" in first["evidence"]
    assert any("saw 2 initiation(s) arrive" in line for line in first["evidence"])
    assert first["remedy"] == {"role": "wgdoctor.wireguard.firewall", "host": "server",
                               "vars": {"firewall_port": 51820, "firewall_interface": "wg0", "firewall_backend": "nftables",
                                        "firewall_nftables_chains": ["inet filter input"], "firewall_forward_uplinks": ["eth0"]}}
    assert report["healthy"] is False


def test_handshake_never_follows_from_the_firewall_drop(facts):
    report = run(drop_rule(facts), probes=[probe("timeout", arrived=2)])
    symptom = only(report, "handshake_never")
    assert symptom["follows_from"] == ["udp_blocked_host_firewall"]
    assert codes(report).index("udp_blocked_host_firewall") < codes(report).index("handshake_never")
    assert "latest handshake (none)" in " ".join(symptom["evidence"])


def test_drop_rule_without_probe_is_still_reported_from_the_ruleset(facts):
    report = run(drop_rule(facts, backend="ufw"), probes=[])
    finding = only(report, "udp_blocked_host_firewall")
    assert "ufw" in finding["summary"]


def test_drop_rule_that_a_probe_got_past_is_not_blamed(facts):
    report = run(drop_rule(facts), probes=[probe("ok")])
    assert "udp_blocked_host_firewall" not in codes(report)


def test_reject_rule_is_the_firewall_not_an_empty_port(facts):
    report = run(drop_rule(facts, verdict="reject"), probes=[probe("refused", arrived=1)])
    assert "udp_blocked_host_firewall" in codes(report)
    assert "port_not_listening" not in codes(report)


def test_packets_lost_before_the_server_are_blocked_upstream(facts):
    never_handshaken(facts)
    report = run(facts, probes=[probe("timeout", arrived=0)])
    finding = report["findings"][0]
    assert finding["code"] == "udp_blocked_upstream"
    assert finding["host"] == "server"
    assert finding["remedy"] is None  # a cloud security group is not ours to change
    assert any("saw none" in line for line in finding["evidence"])
    assert "udp_blocked_host_firewall" not in codes(report)


def test_timeout_without_capture_does_not_claim_upstream(facts):
    never_handshaken(facts)
    report = run(facts, probes=[probe("timeout", arrived=None)])
    assert "udp_blocked_upstream" not in codes(report)
    assert only(report, "handshake_never")["follows_from"] == []


def test_controller_getting_through_points_at_the_initiators_side(facts):
    never_handshaken(facts)
    report = run(facts, probes=[probe("timeout", arrived=0), probe("ok", vantage="controller")])
    finding = only(report, "udp_blocked_upstream")
    assert any("initiator's side" in line for line in finding["evidence"])


def test_nothing_bound_is_port_not_listening(facts):
    never_handshaken(facts)
    wg0(facts, "server")["listening"]["bound"] = False
    report = run(facts, probes=[probe("refused", arrived=None)])
    finding = report["findings"][0]
    assert finding["code"] == "port_not_listening"
    assert "server: nothing bound to UDP 51820 (socket table)" in finding["evidence"]
    assert finding["remedy"]["role"] == "wgdoctor.wireguard.service"


def test_stopped_service_is_interface_down_not_a_firewall_problem(facts):
    never_handshaken(facts)
    wg0(facts, "server")["runtime"] = None
    wg0(facts, "server")["unit"]["active"] = "inactive"
    wg0(facts, "server")["listening"]["bound"] = False
    report = run(facts, probes=[probe("refused", arrived=None)])
    first = report["findings"][0]
    assert (first["code"], first["host"]) == ("interface_down", "server")
    assert "unit wg-quick@wg0: inactive (enabled: True)" in first["evidence"]
    assert first["remedy"] == {"role": "wgdoctor.wireguard.service", "host": "server",
                               "vars": {"service_interface": "wg0"}}
    assert "port_not_listening" not in codes(report)
    assert "interface_down" in only(report, "handshake_never")["follows_from"]


def test_syntax_error_names_file_line_and_reason(facts):
    wg0(facts, "server")["config"]["parse_errors"] = [
        {"file": "/etc/wireguard/wg0.conf", "line": 9, "reason": "unknown key 'AllowedIP'"}]
    finding = only(run(facts), "config_invalid")
    assert finding["evidence"] == ["/etc/wireguard/wg0.conf:9: unknown key 'AllowedIP'"]
    assert finding["remedy"] is None


def test_wrong_endpoint_port_on_client(facts):
    peer = config_peer(facts, "client")
    peer["endpoint"].update(raw="198.51.100.10:51821", port=51821)
    never_handshaken(facts)
    finding = report_first(run(facts, probes=[]), "listen_port_mismatch")
    assert finding["host"] == "client"
    assert finding["remedy"]["vars"] == {"peer_interface": "wg0", "peer_public_key": SERVER_KEY,
                                         "peer_endpoint": "198.51.100.10:51820"}


def report_first(report, code):
    assert report["findings"][0]["code"] == code, codes(report)
    return report["findings"][0]


def test_unresolvable_hostname_endpoint(facts):
    config_peer(facts, "client")["endpoint"] = {
        "raw": "vpn.example.test:51820", "host": "vpn.example.test", "port": 51820, "is_hostname": True,
        "resolved": [], "resolve_error": "Name or service not known"}
    facts["client"]["interfaces"]["wg0"]["runtime"]["peers"][0]["endpoint"] = None
    report = run(facts, probes=[])
    finding = only(report, "endpoint_unresolvable")
    assert finding["host"] == "client"
    assert finding["evidence"] == ["client: resolving vpn.example.test: Name or service not known"]


def test_nobody_has_an_endpoint(facts):
    never_handshaken(facts)
    config_peer(facts, "client")["endpoint"] = None
    wg0(facts, "client")["runtime"]["peers"][0]["endpoint"] = None
    report = run(facts, probes=[])
    assert report["tunnels"][0]["initiators"] == []
    assert report["tunnels"][0]["responder"] is None
    assert report_first(report, "missing_endpoint")["summary"].startswith("Neither")


def test_unreachable_server_leaves_the_client_diagnosed(facts):
    del facts["server"]
    report = run(facts, probes=[], unreachable={"server": "UNREACHABLE! ssh: connect to host server port 22: No route to host"})
    first = report["findings"][0]
    assert (first["code"], first["host"], first["severity"]) == ("host_unreachable", "server", "critical")
    assert "ssh: connect to host server" in first["evidence"][0]
    assert report["outside_peers"] == [{"host": "client", "interface": "wg0", "public_key": SERVER_KEY,
                                        "endpoint": "198.51.100.10:51820"}]
    assert report["unchecked"][0]["host"] == "server"
    assert report["healthy"] is False


def test_unreachable_host_listed_as_plain_names(facts):
    report = run(facts, unreachable=["client"])
    assert only(report, "host_unreachable")["host"] == "client"


def test_host_without_wireguard(facts):
    facts["server"]["implementation"] = "none"
    facts["server"]["tools"] = {"wg": None, "wg_quick": False, "wireguard_go": None}
    wg0(facts, "server")["runtime"] = None
    never_handshaken(facts)
    report = run(facts, probes=[])
    assert report["findings"][0]["code"] == "wireguard_missing"
    assert "interface_down" not in codes(report)
    assert only(report, "handshake_never")["follows_from"] == ["wireguard_missing"]


def test_probe_to_the_client_key_is_not_mixed_up_with_the_server(facts):
    stray = probe("timeout", arrived=0)
    stray["peer"] = CLIENT_KEY
    report = run(facts, probes=[stray])
    assert "udp_blocked_upstream" not in codes(report)


def test_refused_probe_to_the_wrong_port_is_a_port_mismatch_not_an_empty_port(facts):
    """The client sends to 51821 where nothing listens: the server's 51820 is fine, the client's Endpoint is not."""
    for peer in (config_peer(facts, "client"),):
        peer["endpoint"].update(raw="198.51.100.10:51821", port=51821)
    never_handshaken(facts)
    wrong_port = probe("refused", arrived=None)
    wrong_port["target"]["port"] = 51821
    report = run(facts, probes=[wrong_port])
    assert report["findings"][0]["code"] == "listen_port_mismatch", codes(report)
    assert "port_not_listening" not in codes(report)


def test_unresolvable_name_that_kept_wg_quick_down_is_the_root_cause(facts):
    """wg-quick up fails when the Endpoint does not resolve: the interface is down because of it."""
    config_peer(facts, "client")["endpoint"] = {
        "raw": "nosuchhost.example.test:51820", "host": "nosuchhost.example.test", "port": 51820,
        "is_hostname": True, "resolved": [], "resolve_error": "Name or service not known"}
    wg0(facts, "client")["runtime"] = None
    report = run(facts, probes=[])
    critical = [f["code"] for f in report["findings"] if f["severity"] == "critical"]
    # The start finding is the one that says what the name did; naming the name twice would be noise.
    assert critical[0] == "start_endpoint_unresolvable", critical
    assert "endpoint_unresolvable" not in critical
    assert "interface_down" in critical
