"""A hub with several spokes (issue #10): a cause on the hub that cuts every spoke is one finding on
the hub, and that finding names the spokes it cuts, so a report of a 50-spoke hub says who is affected."""
from __future__ import annotations

import base64
import copy
import re

import pytest

from diagnosis_facts import CLIENT_KEY, never_handshaken, only, probe, run, wg0

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


@pytest.mark.xfail(strict=True, reason=(
    "issue #10, found on the fleet lab: udp_blocked_host_firewall (diagnosis/handshake_path.py) reads the host firewall "
    "only on ends others must reach (_responders); an initiator whose own firewall drops its listen port loses every "
    "handshake response, its probe (from an ephemeral port) is answered, and the report says only handshake_never, "
    "'No check explains it'"))
def test_an_initiator_whose_firewall_drops_its_own_port_is_named(facts):
    """The client listens on 45678 and initiates; its firewall drops UDP 45678, so the server's responses never arrive."""
    wg0(facts, "client")["firewall"]["input"] = {
        "verdict": "drop", "backend": "nftables", "table": "inet filter", "chain": "input",
        "rule": "udp dport 45678 drop", "counter": 4}
    report = run(never_handshaken(facts), probes=[probe("ok", arrived=2)])
    finding = only(report, "udp_blocked_host_firewall")
    assert finding["host"] == "client"
