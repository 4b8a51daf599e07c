# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read ``iptables-save -c`` (legacy and nft variants print the same format)."""
from __future__ import annotations

import ipaddress
import re
import shlex

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.fw_common import (
    ChainWalk, forward_packet, interface_matches, make_verdict, port_in, probe_packet, rule_verdict)

BUILTIN = ("INPUT", "FORWARD", "OUTPUT", "PREROUTING", "POSTROUTING")
# The chains an incoming packet crosses before the socket, in kernel order.
INPUT_PATH = (("raw", "PREROUTING"), ("mangle", "PREROUTING"), ("mangle", "INPUT"), ("filter", "INPUT"))
FORWARD_PATH = (("mangle", "FORWARD"), ("filter", "FORWARD"))
NON_TERMINATING = ("LOG", "NFLOG", "ULOG", "MARK", "CONNMARK", "TCPMSS", "CT", "NOTRACK", "CHECKSUM",
                   "TRACE", "AUDIT", "CLASSIFY", "DSCP", "TOS", "TTL", "HL", "SET", "CONNSECMARK", "SECMARK")
NAT_TARGETS = ("MASQUERADE", "SNAT", "DNAT", "REDIRECT", "NETMAP")
COUNTER_RE = re.compile(r"^\[(\d+):(\d+)\]\s+")
POLICY_RE = re.compile(r"^:(\S+)\s+(\S+)(?:\s+\[(\d+):(\d+)\])?\s*$")
# Options whose meaning for a fresh UDP probe we know; anything else is a doubt, not a guess.
VALUE_OPTIONS = {"-p": "proto", "--protocol": "proto", "-s": "saddr", "--source": "saddr", "-d": "daddr",
                 "--destination": "daddr", "-i": "iif", "--in-interface": "iif", "-o": "oif",
                 "--out-interface": "oif", "--dport": "dport", "--destination-port": "dport",
                 "--sport": "sport", "--source-port": "sport", "--dports": "dports", "--destination-ports": "dports",
                 "--sports": "sports", "--source-ports": "sports", "--ports": "ports", "--ctstate": "ctstate",
                 "--state": "ctstate", "--dst-type": "dst_type", "--src-type": "src_type",
                 "--pkt-type": "pkt_type", "--comment": "comment", "-m": "module", "--match": "module"}
FLAG_OPTIONS = ("--set", "--update", "--rcheck", "--remove", "--rsource", "--rdest", "--limit-iface-in")


class IptablesParseError(ValueError):
    pass


def parse_save(text, family=4):
    """Parse iptables-save -c output into {"tables": {name: {"chains": {...}, "policies": {...}}}, "errors": [...]}."""
    parsed = {"family": family, "tables": {}, "errors": [], "variant": None}
    table = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            if "iptables-save" in line and parsed["variant"] is None:
                parsed["variant"] = "nft" if "(nf_tables)" in line else "legacy"
            continue
        try:
            table = _parse_line(parsed, table, line)
        except (IptablesParseError, ValueError) as exc:
            parsed["errors"].append("line %d: %s" % (number, exc))
    if table is not None:
        parsed["errors"].append("table %s has no COMMIT: output truncated?" % table)
    return parsed


def _parse_line(parsed, table, line):
    if line.startswith("*"):
        table = line[1:]
        parsed["tables"][table] = {"chains": {}, "policies": {}}
        return table
    if table is None:
        raise IptablesParseError("'%s' outside a *table section" % line[:60])
    if line == "COMMIT":
        return None
    current = parsed["tables"][table]
    if line.startswith(":"):
        match = POLICY_RE.match(line)
        if not match:
            raise IptablesParseError("unreadable chain header '%s'" % line[:60])
        name, policy = match.group(1), match.group(2)
        current["chains"].setdefault(name, [])
        if policy != "-":
            current["policies"][name] = {"policy": policy.lower(),
                                         "counter": int(match.group(3)) if match.group(3) else None}
        return table
    counter = None
    counted = COUNTER_RE.match(line)
    if counted:
        counter = int(counted.group(1))
        line = line[counted.end():]
    rule = parse_rule(line)
    rule["counter"] = counter
    chain = current["chains"].setdefault(rule.pop("chain"), [])
    rule["position"] = len(chain) + 1
    chain.append(rule)
    return table


def parse_rule(line):
    """One '-A CHAIN ...' line into matches and an action."""
    try:
        tokens = shlex.split(line)
    except ValueError as exc:
        raise IptablesParseError("unreadable rule '%s': %s" % (line[:80], exc))
    if len(tokens) < 2 or tokens[0] not in ("-A", "--append"):
        raise IptablesParseError("expected '-A CHAIN', got '%s'" % line[:60])
    rule = {"chain": tokens[1], "text": line, "matches": [], "action": {"kind": "continue"}}
    index, negate = 2, False
    while index < len(tokens):
        token = tokens[index]
        if token == "!":
            negate = True
            index += 1
            continue
        if token in ("-j", "--jump", "-g", "--goto"):
            rule["action"] = _action(token, tokens[index + 1:])
            break
        if token in FLAG_OPTIONS:
            rule["matches"].append({"option": token, "value": None, "negate": negate})
            index += 1
        else:
            value = tokens[index + 1] if index + 1 < len(tokens) else None
            rule["matches"].append({"option": token, "value": value, "negate": negate})
            index += 2
        negate = False
    return rule


def _action(token, rest):
    if not rest:
        raise IptablesParseError("%s without a target" % token)
    target, options = rest[0], rest[1:]
    if target in ("ACCEPT", "DROP", "RETURN"):
        return {"kind": target.lower()}
    if target == "REJECT":
        reject_with = options[options.index("--reject-with") + 1] if "--reject-with" in options else "icmp-port-unreachable"
        return {"kind": "reject", "reject_with": reject_with}
    if target in NON_TERMINATING:
        return {"kind": "continue", "target": target}
    if target in NAT_TARGETS:
        return {"kind": "nat", "target": target, "options": options}
    return {"kind": "goto" if token in ("-g", "--goto") else "jump", "target": target}


def match_rule(rule, packet):
    """(True|False|None, reason) for one rule against the probe packet."""
    doubts = []
    for item in rule["matches"]:
        state, reason = _match_option(item, packet)
        if state is not None and item["negate"] and item["option"] not in ("-m", "--match"):
            state = not state
        if state is False:
            return False, None
        if state is None:
            doubts.append(reason)
    if doubts:
        return None, "; ".join(doubts)
    return True, None


def _match_option(item, packet):
    option, value = item["option"], item["value"]
    key = VALUE_OPTIONS.get(option)
    if key in ("module", "comment"):
        return True, None
    if key == "proto":
        if value in ("all", "0"):
            return True, None
        if packet["l4proto"] is None:
            return None, "only protocol %s" % value
        return value in (packet["l4proto"], "17" if packet["l4proto"] == "udp" else "-"), None
    if key in ("iif", "oif"):
        name = packet[key]
        if name is None:
            return None, "only %s %s" % ("in on" if key == "iif" else "out on", value)
        return interface_matches(value, name), None
    if key in ("dport", "sport", "dports", "sports", "ports"):
        return _match_port(key, value, packet)
    if key == "ctstate":
        return packet["ct_state"].upper() in value.split(","), None
    if key == "saddr":
        return _match_address(value, packet["saddr"], "source")
    if key == "daddr":
        return None, "only destination %s" % value
    if key == "dst_type":
        return _match_addrtype(value, packet), None
    if key == "pkt_type":
        return value == "unicast", None
    if option in ("--icmp-type", "--icmpv6-type", "--tcp-flags", "--syn", "--tcp-option"):
        # Only reached when -p already matched (or is in doubt, which is reported there).
        return True, None
    if option in ("--set", "--rsource", "--rdest", "--name", "--mask", "--limit", "--limit-burst", "--log-prefix"):
        return True, None
    return None, "unknown match %s %s" % (option, value or "")


def _match_port(key, value, packet):
    if key in ("sport", "sports"):
        return None, "only source port %s" % value
    if packet["dport"] is None:
        return None, "only port %s" % value
    return port_in(packet["dport"], _port_spec(value)), None


def _port_spec(value):
    spec = []
    for part in value.split(","):
        if ":" in part:
            low, high = part.split(":", 1)
            spec.append((int(low or 0), int(high or 65535)))
        else:
            spec.append(int(part))
    return spec


def _match_address(value, address, what):
    if address is None:
        return None, "only %s %s" % (what, value)
    try:
        return ipaddress.ip_address(address) in ipaddress.ip_network(value, strict=False), None
    except ValueError:
        return None, "unreadable %s %s" % (what, value)


def _match_addrtype(value, packet):
    types = value.split(",")
    if packet["hook"] == "input":
        return "LOCAL" in types or "UNICAST" in types
    return "UNICAST" in types


def _walk_path(parsed, path, packet, backend):
    """Walk the built-in chains of the path; a DROP/REJECT anywhere ends it."""
    last = None
    for table_name, chain_name in path:
        table = parsed["tables"].get(table_name)
        if table is None or chain_name not in table["chains"]:
            continue
        walk = ChainWalk(table["chains"], match_rule)
        outcome = walk.run(chain_name, packet)
        if outcome is not None and outcome[0] not in ("return", "accept"):
            if outcome[0] == "unknown":
                return make_verdict("unknown", backend, table=table_name, chain=chain_name,
                                    conditional=walk.conditional, evidence=walk.evidence)
            return rule_verdict(backend, table_name, outcome[0], outcome[1], outcome[2], walk)
        if outcome is not None and outcome[0] == "accept":
            last = rule_verdict(backend, table_name, "accept", outcome[1], outcome[2], walk)
            continue
        policy = table["policies"].get(chain_name, {"policy": "accept", "counter": None})
        verdict = make_verdict(policy["policy"], backend, table=table_name, chain=chain_name,
                               counter=policy["counter"], conditional=walk.conditional,
                               evidence=walk.evidence + ["policy %s of %s/%s" % (policy["policy"].upper(), table_name, chain_name)])
        if policy["policy"] != "accept":
            return verdict
        if last is None or table_name == "filter":
            last = last if last is not None and last.get("rule") else verdict
    return last or make_verdict("accept", backend, evidence=["no %s chain on the path" % packet["hook"]])


def udp_input_verdict(parsed, port, in_interface=None, source=None, backend="iptables"):
    """Would an incoming NEW UDP packet to port reach the socket?"""
    packet = probe_packet(port, in_interface=in_interface, family=parsed.get("family", 4), source=source)
    return _walk_path(parsed, INPUT_PATH, packet, backend)


def forward_verdict(parsed, in_interface, out_interface, ct_state="new", backend="iptables"):
    packet = forward_packet(in_interface, out_interface, ct_state=ct_state, family=parsed.get("family", 4))
    return _walk_path(parsed, FORWARD_PATH, packet, backend)


def forward_policy(parsed):
    policy = parsed["tables"].get("filter", {}).get("policies", {}).get("FORWARD")
    return policy["policy"] if policy else None


def masquerade_rules(parsed, backend="iptables"):
    """Every MASQUERADE/SNAT rule of the nat table with its source and out interface."""
    found = []
    for chain, rules in sorted(parsed["tables"].get("nat", {}).get("chains", {}).items()):
        for rule in rules:
            if rule["action"].get("target") not in ("MASQUERADE", "SNAT"):
                continue
            entry = {"backend": backend, "source": None, "out_interface": None, "rule": rule["text"],
                     "counter": rule["counter"], "chain": chain, "target": rule["action"]["target"]}
            for item in rule["matches"]:
                prefix = "!" if item["negate"] else ""
                if item["option"] in ("-s", "--source"):
                    entry["source"] = prefix + item["value"]
                elif item["option"] in ("-o", "--out-interface"):
                    entry["out_interface"] = prefix + item["value"]
            found.append(entry)
    return found


def is_active(parsed):
    """Rules or a non-ACCEPT policy anywhere: the backend shapes traffic."""
    for table in parsed["tables"].values():
        if any(table["chains"].values()):
            return True
        if any(p["policy"] != "accept" for p in table["policies"].values()):
            return True
    return False


def has_chain_prefix(parsed, prefix):
    return any(name.startswith(prefix) for table in parsed["tables"].values() for name in table["chains"])
