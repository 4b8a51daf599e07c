# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read ``firewall-cmd --state``, ``--get-default-zone``, ``--get-active-zones``, ``--list-all-zones``
and ``--list-all-policies``.

What firewalld 1.x (nftables backend) does with an incoming packet, as recorded on a lab host
(tests/unit/firewall/fixtures/firewalld/, each scenario with a real probe):

- Zone dispatch: a zone bound to the packet's source address first, then the zone bound to the
  arrival interface, then the default zone. An interface nobody bound (no NetworkManager) is in
  the default zone, and neither ``--get-active-zones`` nor ``--list-all-zones`` says so:
  firewalld 1.3 does not mark the default zone in ``--list-all-zones``, so
  ``--get-default-zone`` is read.
- ``forward-ports`` redirect the port in the nat prerouting hook, before any filter: the
  packet never reaches a socket on the original port.
- Inside a zone: rich rules with a negative priority (lowest first); then the deny rich rules
  (drop, reject); then everything that accepts (ports, services, protocols, source ports, accept
  rich rules); then rich rules with a positive priority; then the zone target. Targets
  ``default``, ``%%REJECT%%`` and ``REJECT`` reject with icmpx admin-prohibited (ICMP type 3 code
  13), ``DROP`` drops, ``ACCEPT`` accepts. A rich rule ``reject`` without a type answers
  port-unreachable (type 3 code 3). ``icmp-block-inversion`` changes nothing for UDP.
- Policies towards HOST (egress zone HOST) run inside every zone's chain: the negative priorities (lowest
  first) before the zone's rich rules, the positive ones after its allow rules and before its target. A
  packet meets a policy from ANY, or from a named zone when its arrival interface or its source is bound to
  that zone (an interface merely in the default zone meets none; a packet a source zone takes still meets
  its interface zone's policies). Inside a policy the zone's order, then its target: ACCEPT, DROP and REJECT
  (icmpx admin-prohibited) decide, CONTINUE goes on. Recorded on a lab server with real probes
  (tests/unit/firewall/fixtures/firewalld_host_policies/), replies (conntrack established) included: filter_INPUT
  accepts those before any zone or policy.

What firewalld 1.x does with a NEW routed packet (filter_FORWARD): established and related packets
are accepted first; then the chain of the packet's zone (source, arrival interface, default zone).
Inside it: the policies of negative priority, the zone's allow rules (``forward: yes`` is an accept
towards an interface BOUND to the same zone), the policies of positive priority, the zone's target
(ACCEPT, DROP, REJECT), and without one filter_FORWARD's reject (icmpx admin-prohibited). A policy is
met by the bindings of its zones only: the arrival interface (or source) bound to an ingress zone,
the out interface bound to an egress zone, or ANY; an interface that merely falls into the default
zone meets no policy naming it, a zone bound to nothing meets nothing, and the ``(active)`` flag of
--list-all-policies proves nothing (firewalld sets it whenever a policy has ingress and egress zones).
Inside a policy the order is the zone's (rich rules by priority, deny, allow); its target ACCEPT,
REJECT or DROP decides, CONTINUE goes on. Recorded with real pings through a lab server's tunnel out
of its uplink and out of a second tunnel (tests/unit/firewall/fixtures/firewalld_forward_policies/),
and on a lab hub after the firewall role's remedies (tests/unit/firewall/fixtures/firewalld_policies/).
"""
from __future__ import annotations

import ipaddress
import re
import shlex
import typing as t

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall.verdict import FirewallVerdict, MasqueradeEntry
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall.primitives import (
    Match, interface_matches, make_verdict, port_in)

# parse_zones()'s answer: {"zones": {name: zone}, "default_zone", "errors"}; a zone maps each setting
# --list-all-zones prints to its value (scalar settings a string, the others a list of words).
Zones = t.Dict[str, t.Any]
Zone = t.Dict[str, t.Any]
# parse_active_zones()'s answer: {zone: {"interfaces": [...], "sources": [...]}}.
ActiveZones = t.Dict[str, t.Dict[str, t.List[str]]]
RichRule = t.Dict[str, t.Any]
# One decision of a zone in firewalld's order: (stage, what, verdict, reject_with, True|None, doubt).
Step = t.Tuple[str, str, str, t.Optional[str], t.Optional[bool], t.Optional[str]]
# A policy towards HOST a packet meets: (priority, name, policy, True|None: it may meet it, how it meets it).
HostPolicy = t.Tuple[int, str, Zone, t.Optional[bool], str]

# Ports of the services a WireGuard host plausibly opens; others are reported as doubts.
SERVICE_PORTS = {"wireguard": [("udp", (51820, 51820))], "dns": [("udp", (53, 53)), ("tcp", (53, 53))],
                 "ssh": [("tcp", (22, 22))], "dhcpv6-client": [("udp", (546, 546))], "http": [("tcp", (80, 80))],
                 "https": [("tcp", (443, 443))], "http3": [("udp", (443, 443))], "cockpit": [("tcp", (9090, 9090))],
                 "mdns": [("udp", (5353, 5353))], "samba-client": [("udp", (137, 138))], "openvpn": [("udp", (1194, 1194))],
                 "dhcp": [("udp", (67, 67))], "ipsec": [("udp", (500, 500)), ("udp", (4500, 4500))],
                 "ntp": [("udp", (123, 123))], "snmp": [("udp", (161, 161))]}
ADMIN_PROHIBITED = "icmpx admin-prohibited"
TARGETS = {"ACCEPT": ("accept", None), "DROP": ("drop", None), "%%REJECT%%": ("reject", ADMIN_PROHIBITED),
           "REJECT": ("reject", ADMIN_PROHIBITED), "default": ("reject", ADMIN_PROHIBITED)}
ZONE_HEADER = re.compile(r"^([A-Za-z0-9_.+-]+)(?:\s+\(([^)]*)\))?\s*$")
ZONE_NAME = re.compile(r"^[A-Za-z0-9_.+-]+$")
MAC = re.compile(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$")
SCALAR_KEYS = ("target", "priority", "masquerade", "forward", "icmp-block-inversion", "ingress-priority", "egress-priority")
RICH_ELEMENTS = ("service", "port", "protocol", "icmp-block", "icmp-type", "masquerade", "forward-port", "source-port", "tcp-mss-clamp")
RICH_ACTIONS = ("accept", "reject", "drop", "mark")
# A policy's own targets; CONTINUE hands the packet on to the next policy or the zone.
POLICY_TARGETS = {"ACCEPT": ("accept", None), "DROP": ("drop", None), "REJECT": ("reject", ADMIN_PROHIBITED)}
# Pseudo zones of a policy: ANY matches every zone, HOST is the host itself (input/output, never forwarding).
ANY_ZONE = "ANY"
POLICIES_NOT_READ = "firewalld policies (firewall-cmd --list-all-policies) were not read"


class FirewalldParseError(ValueError):
    pass


def parse_state(rc: int, stdout: str) -> bool:
    """True when firewalld runs; --state prints 'running' (rc 0), or 'not running' on stderr (rc 252)."""
    return rc == 0 and stdout.strip() == "running"


def parse_default_zone(text: str | None) -> str | None:
    """The zone name --get-default-zone printed, or None."""
    name = (text or "").strip()
    return name if ZONE_NAME.match(name) else None


def parse_active_zones(text: str | None) -> ActiveZones:
    """{zone: {"interfaces": [...], "sources": [...]}} from --get-active-zones.

    A zone appears only with the settings it has: no ``interfaces:`` line when only sources are
    bound, and no zone at all for an interface that falls into the default zone.
    """
    zones: ActiveZones = {}
    current: str | None = None
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        if not line[0].isspace():
            match = ZONE_HEADER.match(line.strip())
            current = match.group(1) if match else None
            if current is not None:
                zones[current] = {"interfaces": [], "sources": []}
        elif current is not None and ":" in line:
            key, dummy_sep, value = line.strip().partition(":")
            zones[current][key.strip()] = value.split()
    return zones


def parse_zones(text: str | None, default_zone: str | None = None) -> Zones:
    """{"zones": {name: {...}}, "default_zone": name|None, "errors": [...]} from --list-all-zones.

    default_zone: --get-default-zone's answer; a header flag ``(default)`` (other firewalld
    versions) is honoured too.
    """
    parsed: Zones = {"zones": {}, "default_zone": None, "errors": []}
    current: Zone | None = None
    key: str | None = None
    for number, line in enumerate((text or "").splitlines(), 1):
        if not line.strip():
            continue
        if not line[0].isspace():
            match = ZONE_HEADER.match(line.strip())
            key = None
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
            # firewall-cmd prints multi-valued settings (rich rules, forward-ports) one per tab-indented line.
            if key == "rich rules" or line.strip().startswith("rule "):
                current["rich rules"].append(line.strip())
            elif key is not None and isinstance(current.get(key), list):
                current[key].append(line.strip())
            else:
                parsed["errors"].append("line %d: continuation of no list setting" % number)
        elif ":" in line:
            key, dummy_sep, value = line.strip().partition(":")
            key = key.strip()
            if key == "rich rules":
                current["rich rules"].extend([value.strip()] if value.strip() else [])
            else:
                current[key] = value.strip() if key in SCALAR_KEYS else value.split()
        else:
            parsed["errors"].append("line %d: unreadable setting '%s'" % (number, line.strip()[:60]))
    if not parsed["zones"] and (text or "").strip():
        parsed["errors"].append("no zone found: not firewall-cmd --list-all-zones output")
    if default_zone:
        parsed["default_zone"] = default_zone
    if parsed["zones"] and parsed["default_zone"] not in parsed["zones"]:
        parsed["errors"].append("default zone %s is not among the listed zones" % (parsed["default_zone"] or "unknown"))
    return parsed


def parse_policies(text: str | None) -> Zones:
    """{"zones": {policy: {...}}, "errors": [...]} from --list-all-policies: a policy lists like a zone, so the zone parser reads it.

    The one reader of a policy listing: firewalld_plan.read_layer and the diagnosis' forward verdict both use it.
    """
    parsed = parse_zones(text)
    # A policy listing has no default zone: that is the only complaint of parse_zones that does not apply.
    parsed["errors"] = [e.replace("no zone found: not firewall-cmd --list-all-zones output", "no policy found: not firewall-cmd --list-all-policies output")
                        for e in parsed["errors"] if not e.startswith("default zone")]
    return parsed


# ---------------------------------------------------------------- rich rules

def parse_rich_rule(text: str) -> RichRule:
    """A rich rule as firewall-cmd prints it, e.g. ``rule family="ipv4" source NOT address="10.0.0.0/8" port port="51820" protocol="udp" drop``."""
    rule: RichRule = {"text": text, "family": None, "priority": 0, "source": None, "destination": None, "element": None,
                      "action": None, "reject_type": None, "limit": None, "error": None}
    try:
        words = shlex.split(text)
    except ValueError as exc:
        rule["error"] = "unreadable rich rule: %s" % exc
        return rule
    if not words or words[0] != "rule":
        rule["error"] = "not a rich rule"
        return rule
    part = "rule"
    for word in words[1:]:
        if "=" not in word:
            if word == "NOT":
                if part in ("source", "destination"):
                    rule[part]["not"] = True
                else:
                    rule["error"] = "NOT after %s" % part
                continue
            part = word
            if word in ("source", "destination"):
                rule[word] = {"not": False}
            elif word in RICH_ELEMENTS:
                rule["element"] = {"kind": word}
            elif word in RICH_ACTIONS:
                rule["action"] = word
            elif word == "limit" and rule["action"] is None:
                part = "log-limit"  # a limit of log/audit, not of the action
            elif word not in ("log", "nflog", "audit", "limit"):
                rule["error"] = "unknown rich rule word '%s'" % word
            continue
        name, dummy_sep, value = word.partition("=")
        if part == "rule" and name == "family":
            rule["family"] = value
        elif part == "rule" and name == "priority":
            try:
                rule["priority"] = int(value)
            except ValueError:
                rule["error"] = "priority '%s' is not a number" % value
        elif part in ("source", "destination"):
            rule[part][name] = value
        elif rule["element"] is not None and part == rule["element"]["kind"]:
            rule["element"][name] = value
        elif part == "reject" and name == "type":
            rule["reject_type"] = value
        elif part == "limit" and name == "value":
            rule["limit"] = value
    return rule


def _port_range(value: str | None) -> tuple[int, int] | None:
    low, dummy_sep, high = (value or "").partition("-")
    if low.isdigit() and (high.isdigit() or not high):
        return (int(low), int(high or low))
    return None


def _address_match(spec: str, family: int, source: str | None) -> Match:
    """True/False/None: does the packet's source fall in a zone source or a rich rule address?"""
    if spec.startswith("ipset:"):
        return None, "source in ipset %s" % spec[6:]
    if MAC.match(spec):
        return None, "source MAC %s" % spec
    try:
        network = ipaddress.ip_network(spec, strict=False)
    except ValueError:
        return None, "unreadable source %s" % spec
    if network.version != family:
        return False, None
    if source is None:
        return None, "source %s" % spec
    try:
        address = ipaddress.ip_address(source)
    except ValueError:
        return None, "source %s" % spec
    return address.version == family and address in network, None


def _rich_match(rule: RichRule, port: int, family: int, source: str | None) -> Match:
    """(True|False|None, doubt) for a NEW UDP packet to port."""
    if rule["family"] and rule["family"] != "ipv%d" % family:
        return False, None
    element = rule["element"]
    doubts = []
    if element is None:
        pass  # no element: every packet (of the family, from the source)
    elif element["kind"] == "port":
        rng = _port_range(element.get("port"))
        if element.get("protocol") != "udp" or rng is None or not port_in(port, rng):
            return False, None
    elif element["kind"] == "service":
        ports = SERVICE_PORTS.get(element.get("name"))
        if ports is None:
            doubts.append("the ports of service %s are not known here" % element.get("name"))
        elif not any(proto == "udp" and port_in(port, rng) for proto, rng in ports):
            return False, None
    elif element["kind"] == "protocol":
        if element.get("value") not in ("udp", "17"):
            return False, None
    elif element["kind"] == "source-port":
        rng = _port_range(element.get("port"))
        if element.get("protocol") != "udp" or rng is None:
            return False, None
        doubts.append("only when the sender's source port is %s/udp" % element.get("port"))
    else:
        return False, None  # icmp, masquerade, forward-port (read separately), tcp-mss-clamp
    if not _addresses_match(rule, family, source, doubts):
        return False, None
    if doubts:
        return None, "; ".join(doubts)
    # A limited rule decides the first packets (3 of 3 probe packets passed a 1/m accept), then lets the rest fall through.
    return True, ("only up to the rate limit %s (nftables burst: 5 packets), beyond it the next rules decide" % rule["limit"]) if rule["limit"] else None


def _rich_address(spec: dict[str, t.Any]) -> str | None:
    return spec.get("address") or ("ipset:" + spec["ipset"] if spec.get("ipset") else spec.get("mac"))


def _addresses_match(rule: RichRule, family: int, source: str | None, doubts: list[str]) -> bool:
    """False when the rule's source certainly misses the packet; what cannot be told from here goes to doubts."""
    for part in ("source", "destination"):
        spec = rule[part]
        if not spec:
            continue
        address = _rich_address(spec)
        if part == "destination":
            doubts.append("destination %s%s" % ("NOT " if spec.get("not") else "", address))
            continue
        state, doubt = _address_match(address or "", family, source)
        if state is not None and spec.get("not"):
            state = not state
        if state is False:
            return False
        if state is None:
            doubts.append(("NOT " if spec.get("not") else "") + (doubt or "source"))
    return True


def _forward_rich_match(rule: RichRule, family: int, source: str | None) -> Match:
    """(True|False|None, doubt) for a NEW routed packet of any protocol from source."""
    if rule["family"] and rule["family"] != "ipv%d" % family:
        return False, None
    doubts = []
    element = rule["element"]
    if element is not None:
        detail = " ".join("%s=%s" % (k, v) for k, v in sorted(element.items()) if k != "kind")
        doubts.append("only on %s %s traffic" % (element["kind"], detail) if detail else "only on %s traffic" % element["kind"])
    if not _addresses_match(rule, family, source, doubts):
        return False, None
    if doubts:
        return None, "; ".join(doubts)
    return True, ("only up to the rate limit %s, beyond it the next rules decide" % rule["limit"]) if rule["limit"] else None


# ---------------------------------------------------------------- the zone a packet meets

def _bound(parsed: Zones, active: ActiveZones | None, name: str, key: str) -> list[str]:
    """The interfaces or sources bound to a zone, from both listings."""
    found = []
    for value in list((active or {}).get(name, {}).get(key) or []) + list(parsed["zones"].get(name, {}).get(key) or []):
        if value not in found:
            found.append(value)
    return found


def _zone_interfaces(parsed: Zones, active: ActiveZones | None, name: str) -> list[str]:
    return _bound(parsed, active, name, "interfaces")


def _zone_sources(parsed: Zones, active: ActiveZones | None, name: str) -> list[str]:
    return _bound(parsed, active, name, "sources")


def interface_zone(parsed: Zones, active: ActiveZones | None, interface: str | None) -> tuple[str | None, str]:
    """(zone name, how): the zone bound to the interface, else the default zone."""
    names = list(parsed["zones"]) + [n for n in (active or {}) if n not in parsed["zones"]]
    for name in names:
        if interface and any(interface_matches(i, interface) for i in _zone_interfaces(parsed, active, name)):
            return name, "interface %s is bound to zone %s" % (interface, name)
    default = parsed.get("default_zone")
    return default, "interface %s is bound to no zone: the default zone %s applies" % (interface, default)


def zone_of(parsed: Zones, active: ActiveZones | None, interface: str | None) -> str | None:
    return interface_zone(parsed, active, interface)[0]


def _source_zones(parsed: Zones, active: ActiveZones | None, family: int,
                  source: str | None) -> list[tuple[str, str, bool | None, str | None]]:
    """[(zone, spec, True|None, doubt)] of the zones bound to a source the packet may come from."""
    found: list[tuple[str, str, bool | None, str | None]] = []
    names = list(parsed["zones"]) + [n for n in (active or {}) if n not in parsed["zones"]]
    for name in names:
        for spec in _zone_sources(parsed, active, name):
            state, doubt = _address_match(spec, family, source)
            if state is not False:
                found.append((name, spec, state, doubt))
    return found


def _forward_port(zone: Zone, port: int, family: int) -> str | None:
    """The forward-port of the zone that takes port/udp away before filtering, or None."""
    if family != 4:
        return None
    for spec in zone.get("forward-ports", []):
        fields = dict(item.partition("=")[::2] for item in spec.split(":"))
        rng = _port_range(fields.get("port"))
        if fields.get("proto") == "udp" and rng and port_in(port, rng):
            return "forward-port %s" % spec
    return None


def _zone_steps(zone: Zone, port: int, family: int, source: str | None) -> tuple[list[Step], list[str]]:
    """The zone's decisions in firewalld's order: [(stage, what, verdict, reject_with, True|None, doubt)]."""
    rules = [parse_rich_rule(text) for text in zone.get("rich rules", [])]
    steps, broken = [], [r for r in rules if r["error"]]
    decisive = [r for r in rules if not r["error"] and r["action"] in ("accept", "drop", "reject")]
    for rule in sorted((r for r in decisive if r["priority"] < 0), key=lambda r: r["priority"]):
        steps.append(_rich_step("pre", rule, port, family, source))
    for rule in (r for r in decisive if r["priority"] == 0 and r["action"] != "accept"):
        steps.append(_rich_step("deny", rule, port, family, source))
    for spec in zone.get("ports", []):
        number, dummy_sep, proto = spec.partition("/")
        rng = _port_range(number)
        if rng is None:
            steps.append(("allow", "port %s" % spec, "accept", None, None, "unreadable port %s" % spec))
        elif proto == "udp" and port_in(port, rng):
            steps.append(("allow", "port %s" % spec, "accept", None, True, None))
    for service in zone.get("services", []):
        ports = SERVICE_PORTS.get(service)
        if ports is None:
            steps.append(("allow", "service %s" % service, "accept", None, None, "the ports of service %s are not known here" % service))
        elif any(proto == "udp" and port_in(port, rng) for proto, rng in ports):
            steps.append(("allow", "service %s" % service, "accept", None, True, None))
    for proto in zone.get("protocols", []):
        if proto in ("udp", "17"):
            steps.append(("allow", "protocol %s" % proto, "accept", None, True, None))
    for rule in (r for r in decisive if r["priority"] == 0 and r["action"] == "accept"):
        steps.append(_rich_step("allow", rule, port, family, source))
    for spec in zone.get("source-ports", []):
        if spec.endswith("/udp"):
            steps.append(("allow", "source-port %s" % spec, "accept", None, None,
                          "only when the sender's source port is %s (a peer whose ListenPort it is, not rewritten by NAT)" % spec))
    for rule in sorted((r for r in decisive if r["priority"] > 0), key=lambda r: r["priority"]):
        steps.append(_rich_step("post", rule, port, family, source))
    return [s for s in steps if s[4] is not False], ["rich rule '%s': %s" % (r["text"], r["error"]) for r in broken]


def _rich_step(stage: str, rule: RichRule, port: int, family: int, source: str | None) -> Step:
    state, doubt = _rich_match(rule, port, family, source)
    reject_with = None
    if rule["action"] == "reject":
        reject_with = rule["reject_type"] or ("icmp6-port-unreachable" if family == 6 else "icmp-port-unreachable")
    return (stage, "rich rule '%s'" % rule["text"], rule["action"], reject_with, state, doubt)


def zone_verdict(parsed: Zones, name: str, port: int, family: int = 4, source: str | None = None,
                 how: str | None = None, host_policies: list[HostPolicy] | None = None) -> FirewallVerdict:
    """What zone `name` does with a NEW UDP packet to port, with the policies towards HOST the packet meets
    (_host_policies()): the negative priorities before the zone's rules, the positive ones after them and before its
    target, as every zone chain of firewalld 1.x jumps to them."""
    zone = parsed["zones"].get(name)
    evidence = [how] if how else []
    if zone is None:
        return make_verdict("unknown", "firewalld", table=name, evidence=evidence + ["zone %s is not listed" % name])
    chain = "zone %s" % name
    redirect = _forward_port(zone, port, family)
    if redirect:
        return make_verdict("unknown", "firewalld", table=name, chain=chain, rule=redirect, evidence=evidence + [
            "zone %s: %s redirects UDP %d before any filter: the packet never reaches a socket on %d" % (name, redirect, port, port)])
    steps, broken = _zone_steps(zone, port, family, source)
    conditional = ["zone %s: %s" % (name, b) for b in broken]
    policies = host_policies or []
    decided = _by_host_policies([p for p in policies if p[0] < 0], name, port, family, source, evidence, conditional)
    if decided is not None:
        return decided
    for stage, what, verdict, reject_with, state, doubt in steps:
        if state is None:
            conditional.append("zone %s: %s would %s %s" % (name, what, verdict, doubt or "if it matches"))
            continue
        if doubt:
            conditional.append("zone %s: %s would %s %s" % (name, what, verdict, doubt))
        return make_verdict(verdict, "firewalld", table=name, chain=chain, rule=what, reject_with=reject_with,
                            conditional=conditional, evidence=evidence + ["zone %s, %s rules: %s" % (name, stage, what)])
    decided = _by_host_policies([p for p in policies if p[0] > 0], name, port, family, source, evidence, conditional)
    if decided is not None:
        return decided
    target = zone.get("target", "default")
    verdict, reject_with = TARGETS.get(target, ("unknown", None))
    return make_verdict(verdict, "firewalld", table=name, chain=chain, rule="target: %s" % target, reject_with=reject_with,
                        conditional=conditional,
                        evidence=evidence + ["zone %s opens neither port %d/udp nor a service with it: its target %s decides"
                                             % (name, port, target)])


# ---------------------------------------------------------------- policies towards HOST

def _ingress_binding(parsed: Zones, active: ActiveZones | None, ingress: t.Any, in_interface: str | None,
                     family: int, source: str | None) -> tuple[bool | None, str]:
    """(True|False|None, how) does a packet arriving on in_interface from source meet a policy with these ingress zones?

    firewalld 1.3 dispatches a policy from a named zone by that zone's bindings only (its interfaces and sources), in
    every zone's chain: an interface that merely falls into the default zone meets no policy naming that zone, and a
    packet a source zone takes still meets the policy of its arrival interface's zone (both recorded)."""
    names = ingress if isinstance(ingress, list) else []
    if ANY_ZONE in names:
        return True, "ingress zone ANY"
    doubts = []
    for name in names:
        for interface in _zone_interfaces(parsed, active, name):
            if in_interface is None:
                doubts.append("arriving on %s (bound to zone %s)" % (interface, name))
            elif interface_matches(interface, in_interface):
                return True, "%s is bound to zone %s" % (in_interface, name)
        for spec in _zone_sources(parsed, active, name):
            state, dummy_doubt = _address_match(spec, family, source)
            if state:
                return True, "sender %s is in %s, bound to zone %s" % (source, spec, name)
            if state is None:
                doubts.append("from %s (bound to zone %s)" % (spec, name))
    return (None, " or ".join(doubts)) if doubts else (False, "")


def _host_policies(policies: Zones | None, parsed: Zones, active: ActiveZones | None, in_interface: str | None,
                   family: int, source: str | None, conditional: list[str]) -> list[HostPolicy]:
    """[(priority, name, policy, True|None, how)] of the policies towards HOST a NEW packet meets, lowest priority first
    (firewalld forbids priority 0: negative ones run before the zone, positive ones after it)."""
    found = []
    for name, policy in sorted(((policies or {}).get("zones") or {}).items()):
        egress = policy.get("egress-zones")
        if not isinstance(egress, list) or "HOST" not in egress:
            continue
        state, how = _ingress_binding(parsed, active, policy.get("ingress-zones"), in_interface, family, source)
        if state is False:
            continue
        priority = _priority(policy)
        if priority is None:
            conditional.append("policy %s: priority %r is unreadable, its rules are not evaluated" % (name, policy.get("priority")))
            continue
        found.append((priority, name, policy, state, how))
    return sorted(found, key=lambda item: item[0])


def _host_policy_decision(name: str, policy: Zone, port: int, family: int, source: str | None,
                          conditional: list[str]) -> tuple[str, str | None, str] | None:
    """(verdict, reject_with, rule) when the policy decides a NEW UDP packet to port, None when it hands it on.

    Inside a policy firewalld keeps a zone's order (rich rules by priority, deny, allow); then its target."""
    steps, broken = _zone_steps(policy, port, family, source)
    conditional.extend("policy %s: %s" % (name, b) for b in broken)
    for stage, what, verdict, reject_with, state, doubt in steps:
        if state is None:
            conditional.append("policy %s: %s would %s %s" % (name, what, verdict, doubt or "if it matches"))
            continue
        if doubt:
            conditional.append("policy %s: %s would %s %s" % (name, what, verdict, doubt))
        return verdict, reject_with, what
    target = policy.get("target") or "CONTINUE"
    if target in POLICY_TARGETS:
        verdict, reject_with = POLICY_TARGETS[target]
        return verdict, reject_with, "target: %s" % target
    if target != "CONTINUE":
        conditional.append("policy %s: target %s is not known here" % (name, target))
    return None


def _by_host_policies(stage: list[HostPolicy], zone: str, port: int, family: int, source: str | None,
                      evidence: list[str], conditional: list[str]) -> FirewallVerdict | None:
    """The verdict of the first policy of `stage` that decides; one the packet may or may not meet is a doubt."""
    for priority, name, policy, certain, how in stage:
        if certain is None:
            decision = _host_policy_decision(name, policy, port, family, source, [])
            if decision is not None:
                conditional.append("policy %s (priority %d) would %s (%s) packets %s" % (name, priority, decision[0], decision[2], how))
            continue
        decision = _host_policy_decision(name, policy, port, family, source, conditional)
        if decision is None:
            continue
        verdict, reject_with, rule = decision
        return make_verdict(verdict, "firewalld", table=zone, chain="policy %s" % name, rule=rule, reject_with=reject_with,
                            conditional=conditional, evidence=evidence + [
                                "policy %s (priority %d, ingress zones %s, egress zones %s): %s" % (
                                    name, priority, " ".join(policy.get("ingress-zones") or []),
                                    " ".join(policy.get("egress-zones") or []), rule),
                                "policy %s applies: %s; it runs %s the rules of zone %s" % (
                                    name, how, "before" if priority < 0 else "after", zone)])
    return None


def udp_input_verdict(parsed: Zones, port: int, in_interface: str | None = None, active: ActiveZones | None = None,
                      family: int = 4, source: str | None = None, policies: Zones | None = None) -> FirewallVerdict:
    """parsed: parse_zones(); active: parse_active_zones(); source: the sender's address when known;
    policies: parse_policies(), None when --list-all-policies was not read (the verdict then says so)."""
    conditional = [POLICIES_NOT_READ] if policies is None else []
    host_policies = _host_policies(policies, parsed, active, in_interface, family, source, conditional)
    for name, spec, state, doubt in _source_zones(parsed, active, family, source):
        how = "source %s is bound to zone %s (source zones come before interface zones)" % (spec, name)
        if state:
            verdict = zone_verdict(parsed, name, port, family, source, how="sender %s: %s" % (source, how), host_policies=host_policies)
            verdict["conditional"] = conditional + verdict["conditional"]
            return verdict
        other = zone_verdict(parsed, name, port, family, source, host_policies=host_policies)
        conditional.append("packets from %s go to zone %s, which would %s them (%s)" % (spec, name, other["verdict"], other["rule"]))
        if doubt and not doubt.startswith("source "):
            conditional[-1] += ": %s" % doubt
    zone, how = interface_zone(parsed, active, in_interface) if in_interface else (
        parsed.get("default_zone"), "arrival interface unknown: the default zone %s applies" % parsed.get("default_zone"))
    if zone is None:
        return make_verdict("unknown", "firewalld", conditional=conditional,
                            evidence=["the default zone is unknown (firewall-cmd --get-default-zone) and %s is bound to no zone" % in_interface])
    verdict = zone_verdict(parsed, zone, port, family, source, how=how, host_policies=host_policies)
    verdict["conditional"] = conditional + verdict["conditional"]
    return verdict


def udp_reply_verdict(port: int, in_interface: str | None = None, family: int = 4) -> FirewallVerdict:
    """A reply to what the host sent from port (conntrack established): firewalld 1.x's filter_INPUT accepts
    established and related packets before it dispatches to any zone, so no zone setting drops them, nor any policy
    towards HOST (those run inside the zones' chains: recorded, every reply came back past a DROP policy)."""
    arrival = " arriving on %s" % in_interface if in_interface else ""
    return make_verdict("accept", "firewalld", chain="filter_INPUT", rule="ct state established,related accept",
                        conditional=["firewalld direct rules (firewall-cmd --direct) are not read"],
                        evidence=["filter_INPUT accepts established replies to UDP %d (IPv%d)%s before any zone and any policy"
                                  % (port, family, arrival)])


# ---------------------------------------------------------------- forwarding and NAT

def _family_of(source: str | None) -> int:
    try:
        return ipaddress.ip_address(source or "").version
    except ValueError:
        return 4


def _priority(policy: Zone) -> int | None:
    value = policy.get("priority")
    text = str(value[0] if isinstance(value, list) and value else value or "")
    try:
        return int(text) if text else -1  # firewalld's default priority
    except ValueError:
        return None


def _egress_binding(parsed: Zones, active: ActiveZones | None, egress: t.Any, out_interface: str | None) -> tuple[bool | None, str]:
    """(True|False|None, how) does a packet leaving by out_interface meet a policy with these egress zones?

    firewalld 1.3 dispatches a forward policy by its egress zones' bindings only (oifname of their interfaces, daddr of
    their sources; ANY: every way out). A zone bound to nothing meets nothing, the default zone included: an interface
    that merely falls into it meets no policy towards it (recorded: the policy towards public forwarded nothing out of an
    unbound eth0, and out of eth0 only once bound)."""
    names = egress if isinstance(egress, list) else []
    if ANY_ZONE in names:
        return True, "egress zone ANY"
    doubts = []
    for name in names:
        for interface in _zone_interfaces(parsed, active, name):
            if out_interface is None:
                doubts.append("leaving by %s (bound to zone %s)" % (interface, name))
            elif interface_matches(interface, out_interface):
                return True, "%s is bound to zone %s" % (out_interface, name)
        # The destination of the forwarded packet is not known here: a source bound to an egress zone stays a doubt.
        doubts.extend("towards %s (bound to zone %s)" % (spec, name) for spec in _zone_sources(parsed, active, name))
    return (None, " or ".join(doubts)) if doubts else (False, "")


def _forward_policies(policies: Zones | None, parsed: Zones, active: ActiveZones | None, in_interface: str | None,
                      out_interface: str | None, family: int, source: str | None,
                      conditional: list[str]) -> list[tuple[int, str, Zone, bool | None, str]]:
    """[(priority, name, policy, True|None, how)] of the policies a NEW packet from in_interface to out_interface meets,
    lowest priority first. firewalld dispatches them from filter_FORWARD_POLICIES_pre/_post by the bindings of the
    policy's ingress zones (iifname, saddr) and egress zones (oifname, daddr), whatever zone chain the packet is in."""
    found = []
    for name, policy in sorted(((policies or {}).get("zones") or {}).items()):
        # firewalld marks a policy (active) whenever it has ingress and egress zones, loaded or not (recorded): the flag
        # rules out a policy without zones, the bindings decide which packets it meets.
        if "active" not in policy.get("flags", []):
            continue
        ingress, ingress_how = _ingress_binding(parsed, active, policy.get("ingress-zones"), in_interface, family, source)
        egress, egress_how = _egress_binding(parsed, active, policy.get("egress-zones"), out_interface)
        if ingress is False or egress is False:
            continue
        priority = _priority(policy)
        if priority is None:
            conditional.append("policy %s: priority %r is unreadable, its rules are not evaluated" % (name, policy.get("priority")))
            continue
        found.append((priority, name, policy, True if ingress and egress else None, "%s, %s" % (ingress_how, egress_how)))
    return sorted(found, key=lambda item: item[0])


def _policy_decision(name: str, policy: Zone, family: int, source: str | None,
                     conditional: list[str]) -> tuple[str, str | None, str] | None:
    """(verdict, reject_with, rule) when the policy decides the packet, None when it hands it on (CONTINUE)."""
    rules = [parse_rich_rule(text) for text in policy.get("rich rules", [])]
    conditional.extend("policy %s: rich rule '%s': %s" % (name, r["text"], r["error"]) for r in rules if r["error"])
    decisive = [r for r in rules if not r["error"] and r["action"] in ("accept", "drop", "reject")]
    ordered = (sorted((r for r in decisive if r["priority"] < 0), key=lambda r: r["priority"])
               + [r for r in decisive if r["priority"] == 0 and r["action"] != "accept"]
               + [r for r in decisive if r["priority"] == 0 and r["action"] == "accept"]
               + sorted((r for r in decisive if r["priority"] > 0), key=lambda r: r["priority"]))
    # Ports, services and protocols accept some traffic only (in the allow stage, before accept rich rules).
    for key in ("services", "ports", "protocols", "source-ports"):
        for value in policy.get(key) or []:
            conditional.append("policy %s: %s %s would accept that traffic only" % (name, key.rstrip("s"), value))
    for rule in ordered:
        state, doubt = _forward_rich_match(rule, family, source)
        if state is False:
            continue
        if state is None or doubt:
            conditional.append("policy %s: rich rule '%s' would %s %s" % (name, rule["text"], rule["action"], doubt or "if it matches"))
        if state is None:
            continue
        reject_with = None
        if rule["action"] == "reject":
            reject_with = rule["reject_type"] or ("icmp6-port-unreachable" if family == 6 else "icmp-port-unreachable")
        return rule["action"], reject_with, rule["text"]
    target = policy.get("target") or "CONTINUE"
    if target in POLICY_TARGETS:
        verdict, reject_with = POLICY_TARGETS[target]
        return verdict, reject_with, "target: %s" % target
    if target != "CONTINUE":
        conditional.append("policy %s: target %s is not known here" % (name, target))
    return None


def _woken_by_binding(policies: Zones | None, parsed: Zones, active: ActiveZones | None, in_interface: str | None,
                      out_interface: str | None, family: int, source: str | None,
                      met: list[tuple[int, str, Zone, bool | None, str]]) -> list[str]:
    """Evidence lines for the blocking policies this packet would meet once out_interface, bound to no zone, is bound to
    the default zone it falls into. The firewall role binds an uplink so that its own forwarding policy applies, and
    that wakes them too (recorded, fixtures/firewalld_forward_remedy/any_uplink_zone_drop_minus10)."""
    default = parsed.get("default_zone")
    names = list(parsed["zones"]) + [n for n in (active or {}) if n not in parsed["zones"]]
    if not out_interface or not default or policies is None or any(
            interface_matches(i, out_interface) for name in names for i in _zone_interfaces(parsed, active, name)):
        return []
    bound = dict(active or {})
    bound[default] = dict(bound.get(default) or {}, interfaces=list((bound.get(default) or {}).get("interfaces") or []) + [out_interface])
    known = {item[1] for item in met}
    lines = []
    for priority, name, policy, certain, dummy_how in _forward_policies(policies, parsed, bound, in_interface, out_interface, family,
                                                                        source, []):
        decision = _policy_decision(name, policy, family, source, []) if certain and name not in known else None
        if decision is not None and decision[0] in ("drop", "reject"):
            lines.append("once %s is bound to zone %s, policy %s (priority %d, ingress zones %s, egress zones %s) would %s by %s" % (
                out_interface, default, name, priority, " ".join(policy.get("ingress-zones") or []),
                " ".join(policy.get("egress-zones") or []), decision[0], decision[2]))
    return lines


def forward_verdict(parsed: Zones, in_interface: str | None, out_interface: str | None, active: ActiveZones | None = None,
                    ct_state: str = "new", source: str | None = None, policies: Zones | None = None) -> FirewallVerdict:
    """A routed packet from in_interface to out_interface (firewalld 1.x filter_FORWARD).

    The order firewalld 1.3 follows (recorded, tests/unit/firewall/fixtures/firewalld_forward_policies/): established
    packets accepted; the zone of the source, else of the arrival interface, else the default zone; inside its chain the
    policies of negative priority, the zone's allow rules (forward: yes accepts towards an interface BOUND to the same
    zone), the policies of positive priority, then the zone's target (ACCEPT, DROP, REJECT), and without one
    filter_FORWARD's reject. source: the packet's source address when known (a policy's rich rule or a zone source may
    hold it); policies: parse_policies(), None when --list-all-policies was not read (firewalld before 0.9 has no
    policies: the command fails).
    """
    conditional = [POLICIES_NOT_READ] if policies is None else []
    if ct_state in ("established", "related"):
        return make_verdict("accept", "firewalld", chain="filter_FORWARD", rule="ct state established,related accept",
                            conditional=[])
    family = _family_of(source)
    in_zone, how = interface_zone(parsed, active, in_interface)
    for name, spec, state, doubt in _source_zones(parsed, active, family, source):
        if state:
            in_zone, how = name, "source %s is in %s, bound to zone %s (source zones come before interface zones)" % (source, spec, name)
            break
        conditional.append("packets from %s are forwarded by the rules of zone %s instead" % (spec, name))
    if in_zone is None:
        return make_verdict("unknown", "firewalld", conditional=conditional,
                            evidence=["the default zone is unknown and %s is bound to no zone" % in_interface])
    zone = parsed["zones"].get(in_zone, {})
    out_zone, out_how = interface_zone(parsed, active, out_interface) if out_interface else (None, "out interface unknown")
    evidence = [how, out_how]
    applicable = _forward_policies(policies, parsed, active, in_interface, out_interface, family, source, conditional)
    evidence += _woken_by_binding(policies, parsed, active, in_interface, out_interface, family, source, applicable)

    def by_policies(stage: list[tuple[int, str, Zone, bool | None, str]]) -> FirewallVerdict | None:
        for priority, name, policy, certain, met in stage:
            if certain is None:
                # A way out or a source not known here: what the policy would do is a doubt, never the verdict.
                decision = _policy_decision(name, policy, family, source, [])
                if decision is not None:
                    conditional.append("policy %s would %s (%s) packets %s" % (name, decision[0], decision[2], met))
                continue
            decision = _policy_decision(name, policy, family, source, conditional)
            if decision is not None:
                verdict, reject_with, rule = decision
                return make_verdict(verdict, "firewalld", table=name, chain="policy %s" % name, rule=rule, reject_with=reject_with,
                                    conditional=conditional, evidence=evidence + [
                                        "policy %s (priority %d, ingress zones %s, egress zones %s): %s" % (
                                            name, priority, " ".join(policy.get("ingress-zones") or []),
                                            " ".join(policy.get("egress-zones") or []), rule),
                                        "policy %s applies: %s; it runs %s the forwarding of zone %s" % (
                                            name, met, "before" if priority < 0 else "after the allow rules and before the target of",
                                            in_zone)])
        return None

    decided = by_policies([p for p in applicable if p[0] < 0])
    if decided is not None:
        return decided
    chain = "zone %s" % in_zone
    # This reader does not follow the zone's own rich rules into forwarding: say so rather than pretend they cannot match.
    if any(re.search(r"\b(accept|reject|drop)\b", text) for text in zone.get("rich rules", [])):
        conditional.append("zone %s: its rich rules are not evaluated for forwarded traffic" % in_zone)
    bound = _zone_interfaces(parsed, active, in_zone)
    # forward: yes is an `oifname <bound interface> accept`: an interface that merely falls into the zone gets none.
    if zone.get("forward") == "yes" and out_interface and any(interface_matches(i, out_interface) for i in bound):
        return make_verdict("accept", "firewalld", table=in_zone, chain=chain, rule="forward: yes", conditional=conditional,
                            evidence=evidence + ["%s is bound to the same zone: intra-zone forwarding" % out_interface])
    decided = by_policies([p for p in applicable if p[0] > 0])
    if decided is not None:
        return decided
    target = zone.get("target", "default")
    verdict, reject_with = TARGETS.get(target, ("unknown", None))
    if target == "ACCEPT":
        return make_verdict("accept", "firewalld", table=in_zone, chain=chain, rule="target: ACCEPT", conditional=conditional,
                            evidence=evidence)
    return make_verdict(verdict, "firewalld", table=in_zone, chain=chain, rule="target: %s" % target, reject_with=reject_with,
                        conditional=conditional,
                        evidence=evidence + ["zone %s (target %s) does not forward to %s%s" % (
                            in_zone, target, out_interface,
                            "" if policies is None else ", nor does any policy this packet meets")])


def _egress_interfaces(parsed: Zones, active: ActiveZones | None, zones: t.Any) -> list[str | None]:
    """The interfaces a policy's egress zones send out of; None: any (ANY). Only bound interfaces: firewalld dispatches
    a policy's nat POSTROUTING by oifname of its egress zones' bindings, so the default zone's fallback gets none."""
    found: list[str | None] = []
    for name in zones if isinstance(zones, list) else []:
        candidates: list[str | None] = [None] if name == ANY_ZONE else list(_zone_interfaces(parsed, active, name))
        found += [c for c in candidates if c not in found]
    return found


def _ingress_bound(parsed: Zones, active: ActiveZones | None, zones: t.Any) -> bool:
    """Does any packet meet a policy from these ingress zones: ANY, or a zone with an interface or source bound?"""
    names = zones if isinstance(zones, list) else []
    return ANY_ZONE in names or any(_zone_interfaces(parsed, active, n) or _zone_sources(parsed, active, n) for n in names if n != "HOST")


def masquerade_rules(parsed: Zones, active: ActiveZones | None = None, policies: Zones | None = None) -> list[MasqueradeEntry]:
    """Zones with masquerade: yes rewrite what leaves through their interfaces (the default zone: any other); so do
    policies with masquerade: yes or a masquerade rich rule (its source address the entry's source) for what arrives
    by their ingress zones' bindings and leaves by their egress zones' bound interfaces (ANY: any)."""
    found: list[MasqueradeEntry] = []
    for name, zone in sorted(parsed["zones"].items()):
        if zone.get("masquerade") != "yes":
            continue
        interfaces: list[str | None] = list(_zone_interfaces(parsed, active, name))
        if name == parsed.get("default_zone"):
            interfaces.append(None)
        for interface in interfaces:
            found.append({"backend": "firewalld", "source": None, "out_interface": interface, "rule": "zone %s: masquerade: yes" % name,
                          "counter": None, "chain": "zone %s" % name, "target": "masquerade"})
    for name, policy in sorted(((policies or {}).get("zones") or {}).items()):
        if "active" not in policy.get("flags", []) or not _ingress_bound(parsed, active, policy.get("ingress-zones")):
            continue
        sources: list[tuple[str | None, str]] = [(None, "masquerade: yes")] if policy.get("masquerade") == "yes" else []
        for rule in (parse_rich_rule(text) for text in policy.get("rich rules", [])):
            if rule["error"] or (rule["element"] or {}).get("kind") != "masquerade":
                continue
            spec = rule["source"]
            address = _rich_address(spec) if spec else None
            sources.append((("!" if spec and spec.get("not") else "") + address if address else None, rule["text"]))
        for source, what in sources:
            for interface in _egress_interfaces(parsed, active, policy.get("egress-zones")):
                found.append({"backend": "firewalld", "source": source, "out_interface": interface, "rule": "policy %s: %s" % (name, what),
                              "counter": None, "chain": "policy %s" % name, "target": "masquerade"})
    return found
