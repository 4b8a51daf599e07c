"""Hand-written facts of a healthy server/client tunnel (docs/facts.md), broken one cause at a time."""
from __future__ import annotations

import copy
import json
import os

from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.diagnosis import diagnose

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
NOW = 1764085000.0
SERVER_KEY = "LmOC49ERWH20JwAk2V728zGNaWK3VFdEEGbro1QkTEA="
CLIENT_KEY = "NZbhLh18F3IMYNxkEnZZf+l+cD4w3TBue9NhWMJm5zY="
STRANGER_KEY = "fAWw3gvjP+gQVhxh6KLcEobb+oetIaCb1g+E9Bp2KlA="
OUTSIDE_KEY = "07H1Ys0Fxln7+lOHNbFLMP59EF1AiB22HJoDmvw3m2I="

with open(os.path.join(FIXTURES, "healthy_pair.json")) as handle:
    _HEALTHY = json.load(handle)


def healthy_facts():
    return copy.deepcopy(_HEALTHY)


def wg0(facts, host):
    return facts[host]["interfaces"]["wg0"]


def config_peer(facts, host, index=0):
    return wg0(facts, host)["config"]["peers"][index]


def runtime_peer(facts, host, index=0):
    return wg0(facts, host)["runtime"]["peers"][index]


def never_handshaken(facts):
    """What both ends show when no handshake completed: no timestamps, nothing received."""
    for host in ("server", "client"):
        for peer in (wg0(facts, host)["runtime"] or {"peers": []})["peers"]:
            peer.update(latest_handshake=None, latest_handshake_age=None, transfer_rx=0)
            if host == "server":
                peer["endpoint"] = None
    return facts


def probe(outcome, arrived=1, vantage="client", attempts=2):
    return {"initiator": "client", "responder": "server", "interface": "wg0", "peer": SERVER_KEY,
            "target": {"host": "198.51.100.10", "port": 51820}, "vantage": vantage,
            "outcome": outcome, "rtt_ms": 0.5 if outcome == "ok" else None, "attempts": attempts,
            "arrived": arrived, "error": None}


def ping(source, target, address, ok=True):
    return {"from": source, "to": target, "address": address, "ok": ok, "loss": 0.0 if ok else 1.0}


HEALTHY_PINGS = [ping("client", "server", "10.99.0.1"), ping("server", "client", "10.99.0.2")]


def run(facts, probes=None, pings=None, unreachable=None):
    return diagnose(facts, probes if probes is not None else [probe("ok")],
                    pings if pings is not None else [], unreachable or {}, NOW)


def codes(report):
    return [f["code"] for f in report["findings"]]


def only(report, code):
    found = [f for f in report["findings"] if f["code"] == code]
    assert len(found) == 1, "expected one %s in %s" % (code, codes(report))
    return found[0]


def not_started(facts, host, active="failed", log_lines=(), **start):
    """wg-quick up of the host's wg0 failed (issue #16): no runtime, the unit in `active`, and the `start` fact
    (docs/facts.md) with what it found; keyword arguments replace its fields."""
    iface = wg0(facts, host)
    iface["runtime"] = None
    iface["listening"]["bound"] = False
    if iface["unit"] is not None:
        iface["unit"]["active"] = active
    iface["start"] = dict({
        "dns_lines": [], "resolvconf": "/usr/sbin/resolvconf", "resolvectl": None, "port_holders": [],
        "log": {"source": "journalctl -u wg-quick@wg0 -n 200 --no-pager", "rc": 0,
                "outcome": {"failed": "failed", "activating": "starting"}.get(active, "started"), "lines": list(log_lines)},
    }, **start)
    return facts
