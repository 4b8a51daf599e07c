#!/usr/bin/env python
# Copyright (c) 2026, wgdoctor maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Time the diagnosis core on a hub with N peers (goal: under 1 s at 10,000).

Two shapes per size: the hub alone with every peer outside the inventory (a road-warrior
hub), and the hub plus every client as an inventory host (N tunnels to pair and check).
Run from the repo root: python benchmarks/bench_diagnosis.py [1000 10000 20000]
"""
from __future__ import annotations

import base64
import hashlib
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
COLLECTIONS = os.path.join(REPO, ".cache", "collections")
LINK = os.path.join(COLLECTIONS, "ansible_collections", "wgdoctor", "wireguard")
if not os.path.islink(LINK):
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    os.symlink(REPO, LINK)
sys.path.insert(0, COLLECTIONS)

from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.diagnosis import diagnose  # noqa: E402
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.diagnosis import _common  # noqa: E402
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils import topology as wg_topology  # noqa: E402
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.report import (  # noqa: E402
    render_console, render_json, render_markdown,
)

NOW = 1764085000.0


def fake_key(label):
    """Deterministic, well-formed public keys (not derived from anything secret)."""
    return base64.b64encode(hashlib.sha256(label.encode()).digest()).decode()


def tunnel_ip(n):
    return "10.%d.%d.%d" % (100 + n // 62500, (n // 250) % 250, n % 250 + 2)


def end_facts(host, address, key, listen_port, peers, tunnel_address, routes):
    return {
        "schema": 1, "hostname": host, "implementation": "kernel",
        "tools": {"wg": "v1.0.20210914", "wg_quick": True, "wireguard_go": None}, "errors": [],
        "addresses": [{"interface": "eth0", "address": address, "prefixlen": 16, "family": 4}],
        "forwarding": {"ipv4": True, "ipv6": False}, "clock": {"epoch": NOW, "ntp_synchronized": True},
        "firewall": {"backends": ["nftables"], "forward": {"policy": "accept", "backend": "nftables", "rule": None},
                     "masquerade": []},
        "interfaces": {"wg0": {
            "name": "wg0",
            "config": {"path": "/etc/wireguard/wg0.conf", "exists": True, "parse_errors": [],
                       "address": [tunnel_address], "listen_port": listen_port, "table": None,
                       "has_private_key": True, "public_key": key, "peers": [p["config"] for p in peers]},
            "runtime": {"up": True, "public_key": key, "has_private_key": True, "listen_port": listen_port or 40000,
                        "fwmark": None, "peers": [p["runtime"] for p in peers]},
            "drift": [], "unit": {"name": "wg-quick@wg0", "enabled": True, "active": "active"},
            "listening": {"port": listen_port or 40000, "bound": True},
            "routes": routes,
            "firewall": {"input": {"verdict": "accept", "backend": "nftables", "table": "inet filter",
                                   "chain": "input", "rule": "udp dport 51820 accept", "counter": 10},
                         "forward": {"verdict": "accept", "backend": "nftables", "rule": None}},
        }},
    }


def peer(key, allowed, endpoint=None, age=15):
    config = {"public_key": key, "line": 10, "endpoint": endpoint, "allowed_ips": allowed,
              "persistent_keepalive": 25 if endpoint else None, "has_preshared_key": False, "preshared_key_digest": None}
    runtime = {"public_key": key, "endpoint": None if endpoint is None else {
        "raw": endpoint["raw"], "host": endpoint["host"], "port": endpoint["port"]},
        "allowed_ips": allowed, "latest_handshake": NOW - age, "latest_handshake_age": age,
        "transfer_rx": 1000, "transfer_tx": 1000, "persistent_keepalive": 25 if endpoint else None,
        "has_preshared_key": False, "preshared_key_digest": None}
    return {"config": config, "runtime": runtime}


def hub_facts(count, clients_in_inventory):
    hub_key = fake_key("hub")
    hub_peers, routes, facts = [], {}, {}
    endpoint = {"raw": "198.18.0.1:51820", "host": "198.18.0.1", "port": 51820, "is_hostname": False,
                "resolved": ["198.18.0.1"], "resolve_error": None}
    for n in range(count):
        key = fake_key("client%d" % n)
        prefix = "%s/32" % tunnel_ip(n)
        hub_peers.append(peer(key, [prefix]))
        routes[prefix] = {"dev": "wg0", "via": None, "table": "main"}
        if clients_in_inventory:
            host = "client%05d" % n
            facts[host] = end_facts(host, "198.18.%d.%d" % (1 + n // 250, n % 250 + 2), key, None,
                                    [peer(hub_key, ["10.100.0.0/10"], endpoint)], "%s/10" % tunnel_ip(n),
                                    {"10.100.0.0/10": {"dev": "wg0", "via": None, "table": "main"}})
    facts["hub"] = end_facts("hub", "198.18.0.1", hub_key, 51820, hub_peers, "10.100.0.1/10", routes)
    return facts


def break_hub(facts):
    """The hub's firewall drops the port and no handshake ever completed: one cause, N symptoms."""
    wg0 = facts["hub"]["interfaces"]["wg0"]
    wg0["firewall"]["input"] = {"verdict": "drop", "backend": "nftables", "table": "inet filter", "chain": "input",
                                "rule": "udp dport 51820 drop", "counter": 1234}
    for host_facts in facts.values():
        for peer in host_facts["interfaces"]["wg0"]["runtime"]["peers"]:
            peer.update(latest_handshake=None, latest_handshake_age=None, transfer_rx=0)
    return facts


def cold_caches():
    """Measure a first run, as the controller sees it, not one helped by the previous size."""
    _common.network.cache_clear()
    _common.address_ip.cache_clear()
    wg_topology.normal_ip.cache_clear()


def timed(function, *args):
    """CPU seconds of the call: other work on a busy machine does not count against us."""
    start = time.process_time()
    result = function(*args)
    return result, time.process_time() - start


def main(sizes):
    print("CPU seconds per step")
    print("%-8s %-22s %9s %9s %9s %9s %9s" % ("peers", "shape", "diagnose", "json", "markdown", "console", "findings"))
    for count in sizes:
        for inventory, broken in ((False, False), (True, False), (True, True)):
            facts = hub_facts(count, inventory)
            if broken:
                break_hub(facts)
            cold_caches()
            report, seconds = timed(diagnose, facts, [], [], {}, NOW)
            _json, json_s = timed(render_json, report)
            _md, md_s = timed(render_markdown, report)
            _console, console_s = timed(render_console, report)
            shape = ("hub + hosts, broken" if broken else "hub + hosts") if inventory else "hub, peers outside"
            print("%-8d %-22s %8.3fs %8.3fs %8.3fs %8.3fs %9d" % (
                count, shape, seconds, json_s, md_s, console_s, len(report["findings"])))
            if report["findings"]:
                first = report["findings"][0]
                rest = len(report["findings"]) - 1
                print("%8s first: %s on %s; then %d x %s" % ("", first["code"], first["host"], rest, report["findings"][-1]["code"]))


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1000, 10000, 20000])
