"""Each end's share of the pass plan: the probe-and-ping play runs on every end at once (issue 10)."""
from __future__ import annotations

from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.plan import host_work
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.records import host_results


def probe(initiator, responder, interface, port, listen_port=None):
    return {"initiator": initiator, "initiator_interface": "wgs", "responder": responder, "interface": interface,
            "peer": "K" * 43 + "=", "listen_port": listen_port if listen_port is not None else port,
            "target": {"host": "198.18.8.10", "port": port}}


# A hub with two interfaces: three spokes on wghub (port 41194), one on wgsite (port 42001), and the hub
# itself probing a site router.
PROBES = [probe("spoke1", "hub", "wghub", 41194), probe("spoke2", "hub", "wghub", 41194),
          probe("spoke3", "hub", "wghub", 41194), probe("spoke4", "hub", "wgsite", 42001),
          probe("hub", "site", "wgup", 43000, listen_port=0)]
PINGS = [{"from": "hub", "to": "spoke1", "address": "10.40.0.2", "interface": "wghub", "handshake_recent": True},
         {"from": "hub", "to": "spoke2", "address": "10.40.0.3", "interface": "wghub", "handshake_recent": False},
         {"from": "spoke1", "to": "hub", "address": "10.40.0.1", "interface": "wgs", "handshake_recent": True}]


def test_a_responder_registers_the_probe_key_once_per_interface_and_captures_once_per_port():
    work = host_work(PROBES, PINGS, "hub")
    assert work["probe_peers"] == ["wghub", "wgsite"]
    assert work["listeners"] == [{"responder": "hub", "port": 41194, "interfaces": ["wghub"]},
                                 {"responder": "hub", "port": 42001, "interfaces": ["wgsite"]}]
    assert [p["responder"] for p in work["probes"]] == ["site"]
    assert [p["to"] for p in work["pings"]] == ["spoke1"]


def test_an_initiator_sends_its_own_probes_and_pings_only():
    work = host_work(PROBES, PINGS, "spoke1")
    assert (work["probe_peers"], work["listeners"]) == ([], [])
    assert [(p["initiator"], p["responder"]) for p in work["probes"]] == [("spoke1", "hub")]
    assert [p["to"] for p in work["pings"]] == ["hub"]


def test_a_responder_without_a_listen_port_is_captured_on_the_probe_s_target_port():
    assert host_work(PROBES, [], "site")["listeners"] == [{"responder": "site", "port": 43000, "interfaces": ["wgup"]}]


def test_an_end_outside_the_plan_has_nothing_to_do():
    assert host_work(PROBES, PINGS, "elsewhere") == {"probe_peers": [], "listeners": [], "probes": [], "pings": []}
    assert host_work(None, None, "hub") == {"probe_peers": [], "listeners": [], "probes": [], "pings": []}


def test_the_results_of_every_end_are_gathered_in_host_order_and_a_lost_end_adds_nothing():
    hostvars = {"hub": {"wg_probe_results": {"results": [{"item": 1}, {"item": 2}]}},
                "spoke1": {"wg_probe_results": {"results": [{"item": 3}]}},
                "spoke2": {"wg_probe_results": {"unreachable": True, "msg": "gone"}},
                "spoke3": {}}
    assert host_results(hostvars, ["spoke1", "hub", "spoke2", "spoke3", "nowhere"], "wg_probe_results") == [
        {"item": 3}, {"item": 1}, {"item": 2}]
