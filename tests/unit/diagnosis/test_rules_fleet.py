"""A hub with several spokes (issue #10): a cause on the hub that cuts every spoke is one finding on
the hub, and that finding names the spokes it cuts, so a report of a 50-spoke hub says who is affected."""
from __future__ import annotations

import base64
import copy
import re

import pytest

from diagnosis_facts import CLIENT_KEY, codes, never_handshaken, only, probe, run, wg0

SPOKES = ("client", "client2", "client3")


def spoke_key(number: int) -> str:
    return base64.b64encode(bytes([number]) * 32).decode()


def hub_with_spokes(facts: dict) -> dict:
    """The pair's server as a hub: client2 and client3 are copies of the client with keys and addresses of their own."""
    server = wg0(facts, "server")
    for number, name in enumerate(SPOKES[1:], start=2):
        spoke = copy.deepcopy(facts["client"])
        spoke["hostname"] = name
        key, tunnel, public = spoke_key(number), "10.99.0.%d" % (number + 1), "198.51.100.%d" % (20 + number)
        iface = spoke["interfaces"]["wg0"]
        for section in ("config", "runtime"):
            iface[section]["public_key"] = key
        iface["config"]["address"] = [tunnel + "/24"]
        spoke["addresses"] = [{"interface": "eth0", "address": public, "prefixlen": 24, "family": 4},
                              {"interface": "wg0", "address": tunnel, "prefixlen": 24, "family": 4}]
        facts[name] = spoke
        for section in ("config", "runtime"):
            peer = copy.deepcopy(next(p for p in server[section]["peers"] if p["public_key"] == CLIENT_KEY))
            peer.update(public_key=key, allowed_ips=[tunnel + "/32"])
            if section == "runtime":
                peer["endpoint"] = {"raw": "%s:45678" % public, "host": public, "port": 45678}
            server[section]["peers"].append(peer)
    return facts


def probes_to_hub(outcome: str, arrived: int) -> list[dict]:
    """Probes from two of the three spokes: the third (a spoke the hub dials, say) sent none, and is cut all the same."""
    return [dict(probe(outcome, arrived=arrived), initiator=name, vantage=name) for name in SPOKES[:2]]


def hub_firewall_drop(facts: dict) -> dict:
    wg0(facts, "server")["firewall"]["input"] = {
        "verdict": "drop", "backend": "nftables", "table": "inet filter", "chain": "input",
        "rule": "udp dport 51820 drop", "counter": 9}
    return facts


def hub_down(facts: dict) -> dict:
    server = wg0(facts, "server")
    server["runtime"] = None
    server["listening"] = {"bound": False, "port": None}
    return facts


@pytest.mark.parametrize("code, breaks, outcome", [
    ("udp_blocked_host_firewall", hub_firewall_drop, "timeout"),
    ("interface_down", hub_down, "refused"),
])
def test_a_hub_cause_is_one_finding_that_names_every_spoke(facts, code, breaks, outcome):
    hub = never_handshaken(breaks(hub_with_spokes(facts)))
    for name in SPOKES[1:]:
        for peer in wg0(hub, name)["runtime"]["peers"]:
            peer.update(latest_handshake=None, latest_handshake_age=None, transfer_rx=0)
    report = run(hub, probes=probes_to_hub(outcome, arrived=3 if outcome == "timeout" else 0))
    assert len(report["tunnels"]) == len(SPOKES)
    finding = only(report, code)
    assert finding["host"] == "server"
    text = " ".join([finding["summary"]] + finding["evidence"])
    assert all(re.search(r"\b%s\b" % name, text) for name in SPOKES), finding["evidence"]
    assert not [f for f in report["findings"] if f["host"] in SPOKES and f["code"] == code]


def test_a_pair_keeps_its_evidence_as_it_was(facts):
    """One tunnel: the finding names it already, no line about the tunnels through the end."""
    finding = only(run(never_handshaken(hub_down(facts)), probes=[probe("refused", arrived=0)]), "interface_down")
    assert not [line for line in finding["evidence"] if "carries the tunnels" in line], finding["evidence"]


# A spoke that dials its hub from a port of its own. Its firewall reader asks two questions of that port (issue #10): does
# a NEW packet get in (`input`: what a responder needs) and does the REPLY to what the spoke sent from it (`input_reply`:
# the handshake response an initiator waits for).
SPOKE_PORT = 45678
STATELESS_DROP = {"verdict": "drop", "backend": "nftables", "table": "inet filter", "chain": "input",
                  "rule": "udp dport %d counter drop" % SPOKE_PORT, "counter": 4, "in_interface": "eth0"}
ESTABLISHED_FIRST = {"verdict": "accept", "backend": "nftables", "table": "inet filter", "chain": "input",
                     "rule": "ct state established,related accept", "counter": 17, "in_interface": "eth0"}


def initiator_with_own_port(facts: dict, reply: dict | None) -> dict:
    """The client listens on SPOKE_PORT (fixed in its file) and initiates; its firewall drops NEW packets to that port,
    and does what `reply` says with the responses."""
    client = wg0(facts, "client")
    client["config"]["listen_port"] = SPOKE_PORT
    client["firewall"]["input"] = dict(STATELESS_DROP)
    if reply is not None:
        client["firewall"]["input_reply"] = dict(reply)
    return never_handshaken(facts)


def test_an_initiator_whose_firewall_drops_its_own_port_is_named(facts):
    """The client listens on 45678 and initiates; its stateless firewall drops UDP 45678, so the server's responses never
    arrive, while its probe (from an ephemeral port) is answered: the cause is named on the client, with the rule."""
    report = run(initiator_with_own_port(facts, STATELESS_DROP), probes=[probe("ok", arrived=2)])
    finding = only(report, "udp_blocked_host_firewall")
    assert (finding["host"], finding["interface"]) == ("client", "wg0")
    assert "45678" in finding["summary"] and "respons" in finding["summary"]
    assert finding["evidence"][0] == ("nftables: inet filter/input verdict drop by rule 'udp dport 45678 counter drop' "
                                      "(counter 4 packets)")
    assert any("probe from client" in line and ": ok" in line for line in finding["evidence"]), finding["evidence"]
    assert finding["remedy"] == {"role": "wgdoctor.wireguard.firewall", "host": "client",
                                 "vars": {"firewall_port": SPOKE_PORT, "firewall_interface": "wg0", "firewall_backend": "nftables",
                                          "firewall_nftables_chains": ["inet filter input"], "firewall_forward_uplinks": ["eth0"]}}
    never = only(report, "handshake_never")
    assert never["follows_from"] == ["udp_blocked_host_firewall"]
    assert not [f for f in report["findings"] if f["host"] == "server" and f["code"] != "handshake_never"], report["findings"]


def test_a_stateful_initiator_that_drops_new_packets_to_its_port_is_not_named(facts):
    """Established accepted first: the responses get in, whatever the firewall does with NEW packets to the port."""
    report = run(initiator_with_own_port(facts, ESTABLISHED_FIRST), probes=[probe("ok", arrived=2)])
    assert "udp_blocked_host_firewall" not in codes(report)


def test_facts_without_the_reply_verdict_name_no_initiator(facts):
    """An older wg_facts asked only the NEW question: its drop says nothing about the responses."""
    report = run(initiator_with_own_port(facts, None), probes=[probe("ok", arrived=2)])
    assert "udp_blocked_host_firewall" not in codes(report)


def test_an_initiator_whose_handshake_is_fresh_is_not_named(facts):
    """A handshake completed a minute ago: the responses got in, the reply verdict does not apply to the path in use."""
    facts = initiator_with_own_port(facts, STATELESS_DROP)
    for host in ("client", "server"):
        for peer in wg0(facts, host)["runtime"]["peers"]:
            peer.update(latest_handshake=1764085000 - 60, latest_handshake_age=60, transfer_rx=1000)
    assert "udp_blocked_host_firewall" not in codes(run(facts, probes=[probe("ok")]))


def test_an_initiator_without_a_fixed_port_is_named_without_a_remedy(facts):
    """The port is the kernel's pick and changes at the next start: opening it would not stick; fix the ListenPort first."""
    facts = initiator_with_own_port(facts, STATELESS_DROP)
    wg0(facts, "client")["config"]["listen_port"] = None
    finding = only(run(facts, probes=[probe("ok", arrived=2)]), "udp_blocked_host_firewall")
    assert finding["host"] == "client" and finding["remedy"] is None
    assert "ListenPort" in finding["summary"]


def test_a_hub_that_drops_its_port_is_named_once_though_it_also_initiates(facts):
    """The hub is a responder and (to a dialed spoke) an initiator: its stateless drop is one finding, on the hub."""
    hub = never_handshaken(hub_firewall_drop(hub_with_spokes(facts)))
    wg0(hub, "server")["firewall"]["input_reply"] = dict(wg0(hub, "server")["firewall"]["input"])
    for name in SPOKES[1:]:
        for peer in wg0(hub, name)["runtime"]["peers"]:
            peer.update(latest_handshake=None, latest_handshake_age=None, transfer_rx=0)
    report = run(hub, probes=probes_to_hub("timeout", arrived=3))
    assert [f["host"] for f in report["findings"] if f["code"] == "udp_blocked_host_firewall"] == ["server"]
