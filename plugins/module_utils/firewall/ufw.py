# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read ``ufw status verbose``: the human-readable names of the rules ufw put into iptables.

With ufw active, the iptables rules it generates decide (``reach`` evaluates those); this
reader supplies the ufw row or default policy a person recognises and can change with ufw.
"""
from __future__ import annotations

import re
import typing as t

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall.verdict import FirewallVerdict
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall.primitives import (
    Match, PortSpec, interface_matches, make_verdict, port_in)

# parse_status()'s answer and one row of its rule table (parse_row).
Status = t.Dict[str, t.Any]
Row = t.Dict[str, t.Any]

ACTIONS = {"ALLOW": "accept", "LIMIT": "accept", "DENY": "drop", "REJECT": "reject"}
POLICIES = {"allow": "accept", "deny": "drop", "reject": "reject", "disabled": None}
COLUMNS = re.compile(r"\s{2,}")
DEFAULT_RE = re.compile(r"(\w+) \((incoming|outgoing|routed)\)")


class UfwParseError(ValueError):
    pass


def parse_status(text: str) -> Status:
    """{"active", "default": {"incoming", "outgoing", "routed"}, "rules": [...], "errors": [...]}."""
    parsed: Status = {"active": None, "default": {}, "rules": [], "errors": []}
    in_table = False
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        if line.startswith("Status:"):
            parsed["active"] = line.split(":", 1)[1].strip() == "active"
        elif line.startswith("Default:"):
            for policy, direction in DEFAULT_RE.findall(line):
                parsed["default"][direction] = policy
        elif line.startswith("--"):
            in_table = True
        elif in_table and line.strip():
            try:
                parsed["rules"].append(parse_row(line, len(parsed["rules"]) + 1))
            except (UfwParseError, ValueError) as exc:
                parsed["errors"].append("line %d: %s" % (number, exc))
    if parsed["active"] is None:
        parsed["errors"].append("no 'Status:' line: not ufw status output")
    return parsed


def parse_row(line: str, position: int) -> Row:
    text, dummy_sep, comment = line.partition(" # ")
    columns = COLUMNS.split(text.strip())
    if len(columns) != 3:
        raise UfwParseError("expected 'To  Action  From', got '%s'" % line.strip()[:80])
    to, action, source = columns
    words = action.split()
    if words[0] not in ACTIONS:
        raise UfwParseError("unknown action '%s'" % action)
    row: Row = {"position": position, "text": " ".join(line.split()), "action": words[0],
                "direction": words[1].lower() if len(words) > 1 else "in", "v6": "(v6)" in to or "(v6)" in source,
                "comment": comment.strip() or None}
    row.update(_endpoint("to", to))
    row.update(_endpoint("from", source))
    return row


def _endpoint(side: str, text: str) -> dict[str, t.Any]:
    text = text.replace("(v6)", " ").strip()
    interface = None
    if " on " in " %s " % text:
        text, dummy_sep, interface = (" " + text).rpartition(" on ")
        text = text.strip()
    address, port, proto, app = None, None, None, None
    for word in text.split():
        if word == "Anywhere":
            continue
        port_match = re.match(r"^([\d,:]+)(?:/(\w+))?$", word)
        if port_match:
            port, proto = _ports(port_match.group(1)), port_match.group(2)
        elif re.match(r"^[\d.:a-fA-F/]+$", word) and ("." in word or ":" in word):
            address = word
        else:
            app = (app + " " + word) if app else word
    return {side + "_address": address, side + "_port": port, side + "_proto": proto,
            side + "_app": app, side + "_interface": interface}


def _ports(text: str) -> PortSpec:
    spec = []
    for part in text.split(","):
        low, dummy_sep, high = part.partition(":")
        spec.append((int(low), int(high)) if high else int(low))
    return spec


def _row_matches(row: Row, port: int, in_interface: str | None, family: int) -> Match:
    """(True|False|None, reason) for an incoming UDP packet to port."""
    if row["direction"] != "in" or row["v6"] != (family == 6):
        return False, None
    if row["to_proto"] not in (None, "udp") or row["from_proto"] not in (None, "udp"):
        return False, None
    if row["to_port"] is not None and not port_in(port, row["to_port"]):
        return False, None
    doubts = []
    if row["to_interface"]:
        if in_interface is None:
            doubts.append("only in on %s" % row["to_interface"])
        elif not interface_matches(row["to_interface"], in_interface):
            return False, None
    for what in ("to_app", "from_app"):
        if row[what]:
            doubts.append("application profile %s" % row[what])
    if row["from_address"]:
        doubts.append("only from %s" % row["from_address"])
    if row["from_port"]:
        doubts.append("only from port %s" % row["from_port"])
    if row["to_address"]:
        doubts.append("only to %s" % row["to_address"])
    return (None, "; ".join(doubts)) if doubts else (True, None)


def udp_input_verdict(parsed: Status, port: int, in_interface: str | None = None, family: int = 4) -> FirewallVerdict:
    """The ufw row (or default policy) that decides, read from the status alone."""
    if not parsed.get("active"):
        return make_verdict("accept", "ufw", evidence=["ufw is inactive"])
    conditional = []
    for row in parsed["rules"]:
        state, reason = _row_matches(row, port, in_interface, family)
        if state is None:
            conditional.append("'%s' would %s if it matches (%s)" % (row["text"], ACTIONS[row["action"]], reason))
        if state is not True:
            continue
        if row["action"] == "LIMIT":
            conditional.append("'%s' rate-limits: more than 6 packets in 30 s from one source are dropped" % row["text"])
        return make_verdict(ACTIONS[row["action"]], "ufw", chain="ufw-user-input", rule=row["text"], position=row["position"],
                            conditional=conditional, reject_with="icmp-port-unreachable" if row["action"] == "REJECT" else None)
    return policy_verdict(parsed, "incoming", conditional)


def udp_reply_verdict(parsed: Status) -> FirewallVerdict:
    """A reply to what the host sent (conntrack established), read from the status alone: ufw's before.rules
    accept those ahead of every row and default the status lists, so no row of it can drop them."""
    if not parsed.get("active"):
        return make_verdict("accept", "ufw", evidence=["ufw is inactive"])
    return make_verdict("accept", "ufw", chain="ufw-before-input", rule="-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
                        evidence=["ufw's before.rules accept established replies before its rules and defaults"])


def policy_verdict(parsed: Status, direction: str, conditional: t.Iterable[str] = ()) -> FirewallVerdict:
    policy = parsed["default"].get(direction)
    verdict = POLICIES.get(policy, "unknown") if policy else "unknown"
    if direction == "routed" and policy == "disabled":
        verdict = "accept"
    return make_verdict(verdict, "ufw", rule=None, conditional=conditional,
                        evidence=["Default: %s (%s)" % (policy, direction)])


def forward_rules(parsed: Status, interface: str | None) -> list[Row]:
    """The 'ALLOW FWD' style rows that mention the interface."""
    return [row for row in parsed["rules"] if row["direction"] == "fwd" and interface in (row["to_interface"], row["from_interface"])]
