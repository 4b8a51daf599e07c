# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read ``firewall-cmd --state``, ``--get-active-zones`` and ``--list-all-zones``.

firewalld thinks in zones: the zone an interface belongs to (or the default zone) decides
by its rich rules, then its ports and services, then its target.
"""
from __future__ import annotations

import re
import shlex

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.fw_common import make_verdict, port_in

# Ports of the services a WireGuard host plausibly opens; others are reported as unknown.
SERVICE_PORTS = {"wireguard": [("udp", (51820, 51820))], "dns": [("udp", (53, 53)), ("tcp", (53, 53))],
                 "ssh": [("tcp", (22, 22))], "dhcpv6-client": [("udp", (546, 546))], "http": [("tcp", (80, 80))],
                 "https": [("tcp", (443, 443)), ("udp", (443, 443))], "cockpit": [("tcp", (9090, 9090))],
                 "mdns": [("udp", (5353, 5353))], "samba-client": [("udp", (137, 138))], "openvpn": [("udp", (1194, 1194))]}
TARGETS = {"ACCEPT": "accept", "DROP": "drop", "%%REJECT%%": "reject", "REJECT": "reject", "default": "reject"}
ZONE_HEADER = re.compile(r"^(\S+)(?:\s+\(([^)]*)\))?\s*$")


class FirewalldParseError(ValueError):
    pass


def parse_state(rc, stdout):
    """True when firewalld runs; --state prints 'running' (rc 0) or 'not running' (rc 252)."""
    return rc == 0 and stdout.strip() == "running"


def parse_active_zones(text):
    """{zone: {"interfaces": [...], "sources": [...]}} from --get-active-zones."""
    zones, current = {}, None
    for line in text.splitlines():
        if not line.strip():
            continue
        if not line[0].isspace():
            match = ZONE_HEADER.match(line.strip())
            current = match.group(1) if match else line.strip()
            zones[current] = {"interfaces": [], "sources": []}
        elif current is not None and ":" in line:
            key, dummy_sep, value = line.strip().partition(":")
            zones[current][key.strip()] = value.split()
    return zones


def parse_zones(text):
    """{"zones": {name: {...}}, "default_zone": name|None, "errors": [...]} from --list-all-zones."""
    parsed = {"zones": {}, "default_zone": None, "errors": []}
    current, key = None, None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if not line[0].isspace():
            match = ZONE_HEADER.match(line.strip())
            if not match:
                parsed["errors"].append("line %d: unreadable zone header '%s'" % (number, line.strip()[:60]))
                current = None
                continue
            current = {"name": match.group(1), "flags": [f.strip() for f in (match.group(2) or "").split(",") if f.strip()],
                       "rich rules": []}
            parsed["zones"][current["name"]] = current
            if "default" in current["flags"]:
                parsed["default_zone"] = current["name"]
        elif current is None:
            parsed["errors"].append("line %d: setting outside a zone" % number)
        elif line.startswith("\t"):
            # firewall-cmd continues multi-valued settings (rich rules, forward-ports) on tab-indented lines.
            if key == "rich rules" or line.strip().startswith("rule "):
                current["rich rules"].append(line.strip())
            elif isinstance(current.get(key), list):
                current[key].append(line.strip())
        else:
            key, dummy_sep, value = line.strip().partition(":")
            current[key] = value.strip() if key in ("target", "masquerade", "forward", "icmp-block-inversion") else value.split()
    if not parsed["zones"] and text.strip():
        parsed["errors"].append("no zone found: not firewall-cmd --list-all-zones output")
    return parsed


def zone_of(zones, active, interface):
    for name, info in active.items():
        if interface in info.get("interfaces", []):
            return name
    for name, zone in zones["zones"].items():
        if interface in zone.get("interfaces", []):
            return name
    return zones["default_zone"]


def parse_rich_rule(text):
    try:
        words = shlex.split(text)
    except ValueError:
        return {"text": text, "action": None}
    rule = {"text": text, "action": None, "source": None, "port": None, "protocol": None, "service": None}
    element = None
    for word in words:
        if word in ("accept", "drop", "reject") and rule["action"] is None:
            rule["action"] = word
        elif "=" in word:
            name, dummy_sep, value = word.partition("=")
            if element == "source" and name == "address":
                rule["source"] = value
            elif element == "port" and name == "port":
                low, dummy_sep, high = value.partition("-")
                if low.isdigit() and (high.isdigit() or not high):
                    rule["port"] = (int(low), int(high or low))
            elif element == "port" and name == "protocol":
                rule["protocol"] = value
            elif element == "service" and name == "name":
                rule["service"] = value
        else:
            element = word
    return rule


def _opens(zone, port):
    """(True, what) when a port or service of the zone opens port/udp; doubts listed."""
    doubts = []
    for spec in zone.get("ports", []):
        number, dummy_sep, proto = spec.partition("/")
        low, dummy_sep, high = number.partition("-")
        if not (low.isdigit() and (high.isdigit() or not high)):
            doubts.append("unreadable port %s" % spec)
        elif proto == "udp" and port_in(port, (int(low), int(high or low))):
            return "port %s" % spec, doubts
    for service in zone.get("services", []):
        ports = SERVICE_PORTS.get(service)
        if ports is None:
            doubts.append("service %s: its ports are not known here" % service)
        elif any(proto == "udp" and port_in(port, rng) for proto, rng in ports):
            return "service %s" % service, doubts
    return None, doubts


def _rich_matches(rule, port):
    if rule["service"]:
        ports = SERVICE_PORTS.get(rule["service"], [])
        hit = any(proto == "udp" and port_in(port, rng) for proto, rng in ports)
    else:
        hit = rule["port"] is not None and rule["protocol"] == "udp" and port_in(port, rule["port"])
    if not hit:
        return False
    return None if rule["source"] else True


def udp_input_verdict(parsed, port, in_interface=None, active=None):
    """parsed: parse_zones(); active: parse_active_zones()."""
    zone_name = zone_of(parsed, active or {}, in_interface) if in_interface else parsed["default_zone"]
    zone = parsed["zones"].get(zone_name)
    if zone is None:
        return make_verdict("unknown", "firewalld", evidence=["no zone for interface %s" % in_interface])
    conditional = []
    rules = [parse_rich_rule(text) for text in zone["rich rules"]]
    # firewalld evaluates deny rich rules before any allow.
    for rule in sorted(rules, key=lambda r: r["action"] == "accept"):
        state = _rich_matches(rule, port)
        if state is None:
            conditional.append("rich rule '%s' would %s if the source matches" % (rule["text"], rule["action"]))
        elif state and rule["action"]:
            return make_verdict(rule["action"], "firewalld", table=zone_name, chain="zone %s" % zone_name,
                                rule=rule["text"], conditional=conditional)
    what, doubts = _opens(zone, port)
    conditional.extend("zone %s: %s" % (zone_name, d) for d in doubts)
    if what:
        return make_verdict("accept", "firewalld", table=zone_name, chain="zone %s" % zone_name, rule=what,
                            conditional=conditional)
    target = zone.get("target", "default")
    verdict = TARGETS.get(target, "unknown")
    return make_verdict(verdict, "firewalld", table=zone_name, chain="zone %s" % zone_name, conditional=conditional,
                        reject_with="icmpx admin-prohibited" if verdict == "reject" else None,
                        evidence=["zone %s (interface %s) opens neither port %d/udp nor a service with it; target %s"
                                  % (zone_name, in_interface, port, target)])


def forward_verdict(parsed, in_interface, out_interface, active=None):
    """Forwarding out of the WireGuard interface's zone: the zone's target or intra-zone forward decides."""
    in_zone = zone_of(parsed, active or {}, in_interface)
    out_zone = zone_of(parsed, active or {}, out_interface) if out_interface else None
    zone = parsed["zones"].get(in_zone, {})
    if zone.get("target") == "ACCEPT":
        return make_verdict("accept", "firewalld", chain="zone %s" % in_zone, rule="target: ACCEPT")
    if out_zone == in_zone and zone.get("forward") == "yes":
        return make_verdict("accept", "firewalld", chain="zone %s" % in_zone, rule="forward: yes")
    return make_verdict("reject", "firewalld", chain="zone %s" % in_zone,
                        conditional=["firewalld policies (firewall-cmd --list-all-policies) are not read"],
                        evidence=["zone %s target %s does not forward to %s" % (in_zone, zone.get("target"), out_zone)])


def masquerade_rules(parsed, active=None):
    found = []
    for name, zone in sorted(parsed["zones"].items()):
        if zone.get("masquerade") != "yes":
            continue
        interfaces = (active or {}).get(name, {}).get("interfaces") or zone.get("interfaces") or [None]
        for interface in interfaces:
            found.append({"backend": "firewalld", "source": None, "out_interface": interface, "rule": "zone %s: masquerade: yes" % name,
                          "counter": None, "chain": "zone %s" % name, "target": "masquerade"})
    return found
