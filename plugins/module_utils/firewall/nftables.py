# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read ``nft -j list ruleset`` and answer the probe question for nftables.

Unlike iptables, an accept in one base chain only ends that chain: the packet still meets
every other base chain on the same hook, so a drop in any of them wins.
"""
from __future__ import annotations

import ipaddress
import json
import typing as t

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall.verdict import FirewallVerdict, MasqueradeEntry
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall.primitives import (
    Action, ChainWalk, Match, Packet, Rule, forward_packet, interface_matches, make_verdict, port_in, probe_packet, rule_verdict)

# parse_ruleset()'s answer: {"tables": {"<family> <name>": table}, "errors": [...]}; a table as _table() makes it.
Ruleset = t.Dict[str, t.Any]
Table = t.Dict[str, t.Any]
Expr = t.Dict[str, t.Any]  # one statement of nft's JSON: a single-key object

FAMILIES = {4: ("ip", "inet"), 6: ("ip6", "inet")}
INPUT_HOOKS = ("prerouting", "input")
VERDICT_KEYS = ("accept", "drop", "reject", "return", "jump", "goto", "continue")
NAT_KEYS = ("masquerade", "snat")
# Statements that neither match nor decide.
PASSIVE_KEYS = ("counter", "log", "mangle", "ct helper", "notrack", "set", "meta", "ct", "flow", "dup", "tproxy",
                "synproxy", "dnat", "redirect", "counter", "xt target")
ETHERTYPES = {"ip": 4, "ip6": 6, "ipv4": 4, "ipv6": 6}
IPTABLES_TABLES = ("filter", "nat", "mangle", "raw", "security")


class NftParseError(ValueError):
    pass


def parse_ruleset(text: str) -> Ruleset:
    """Parse ``nft -j list ruleset`` into tables, chains, rules and sets; raises NftParseError on garbage."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise NftParseError("nft output is not JSON (%s)" % exc)
    if not isinstance(document, dict) or not isinstance(document.get("nftables"), list):
        raise NftParseError("nft output has no 'nftables' list")
    parsed: Ruleset = {"tables": {}, "errors": []}
    for item in document["nftables"]:
        if not isinstance(item, dict) or len(item) != 1:
            parsed["errors"].append("unexpected item %s" % json.dumps(item)[:80])
            continue
        kind, body = next(iter(item.items()))
        if not isinstance(body, dict):
            continue
        try:
            _add(parsed, kind, body)
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            parsed["errors"].append("unreadable %s (%s): %s" % (kind, exc, json.dumps(body)[:80]))
    return parsed


def _table(parsed: Ruleset, family: str, name: str) -> Table:
    return parsed["tables"].setdefault("%s %s" % (family, name), {
        "family": family, "name": name, "chains": {}, "base": {}, "sets": {}, "iptables_nft": False})


def _add(parsed: Ruleset, kind: str, body: dict[str, t.Any]) -> None:
    if kind == "table":
        _table(parsed, body["family"], body["name"])
    elif kind == "chain":
        table = _table(parsed, body["family"], body["table"])
        table["chains"].setdefault(body["name"], [])
        if "hook" in body:
            table["base"][body["name"]] = {"hook": body["hook"], "type": body.get("type"), "prio": body.get("prio", 0),
                                           "policy": body.get("policy", "accept")}
    elif kind == "rule":
        table = _table(parsed, body["family"], body["table"])
        exprs = body.get("expr") or []
        if not isinstance(exprs, list) or not all(isinstance(e, dict) and len(e) == 1 for e in exprs):
            raise ValueError("expressions are not a list of single-key objects")
        rule = _rule(exprs)
        rules = table["chains"].setdefault(body["chain"], [])
        rule["position"] = len(rules) + 1
        rule["handle"] = body.get("handle")
        # How the firewall role recognises its own rules (module_utils/firewall/nft_plan.py).
        rule["comment"] = body.get("comment")
        rules.append(rule)
        if any("xt" in expr for expr in body.get("expr") or [] if isinstance(expr, dict)):
            table["iptables_nft"] = True
    elif kind in ("set", "map"):
        table = _table(parsed, body["family"], body["table"])
        table["sets"][body["name"]] = [_element(e) for e in body.get("elem") or []]


def _element(elem: t.Any) -> t.Any:
    if isinstance(elem, dict) and "elem" in elem:
        return elem["elem"].get("val")
    return elem


def _rule(exprs: list[Expr]) -> Rule:
    rule = {"exprs": exprs, "text": render_rule(exprs), "counter": None, "action": {"kind": "continue"}, "nat": None}
    for expr in exprs:
        if not isinstance(expr, dict) or len(expr) != 1:
            continue
        key, value = next(iter(expr.items()))
        if key == "counter" and isinstance(value, dict):
            rule["counter"] = value.get("packets")
        elif key in VERDICT_KEYS:
            rule["action"] = _verdict_action(key, value)
        elif key == "vmap":
            rule["action"] = {"kind": "vmap"}
        elif key in NAT_KEYS:
            rule["nat"] = key
        elif key == "xt" and isinstance(value, dict) and value.get("type") == "target":
            _xt_target(rule, value.get("name"))
    return rule


def _xt_target(rule: Rule, name: str | None) -> None:
    """iptables-nft targets nft cannot translate show up as opaque xt statements."""
    if name in ("MASQUERADE", "SNAT"):
        rule["nat"] = name.lower()
    elif name == "REJECT":
        rule["action"] = {"kind": "reject", "reject_with": "unknown (iptables REJECT target)"}
    elif name not in ("LOG", "NFLOG", "MARK", "CONNMARK", "TCPMSS", "CT", "NOTRACK", "CHECKSUM", "DNAT", "REDIRECT"):
        rule["action"] = {"kind": "maybe", "reason": "iptables target %s is invisible in nft JSON" % name}


def _verdict_action(key: str, value: t.Any) -> Action:
    action = {"kind": key}
    if key in ("jump", "goto"):
        action["target"] = value.get("target")
    if key == "reject":
        value = value or {}
        action["reject_with"] = "%s %s" % (value.get("type", "icmpx"), value.get("expr", "port-unreachable"))
    return action


# --- rendering rules back to the text `nft list ruleset` prints, for humans ----------------------------------

def render_rule(exprs: list[Expr]) -> str:
    return " ".join(_render_stmt(e) for e in exprs)


def _render_stmt(expr: t.Any) -> str:
    if not isinstance(expr, dict) or len(expr) != 1:
        return json.dumps(expr, sort_keys=True)
    key, value = next(iter(expr.items()))
    if key == "match":
        op = value.get("op", "==")
        op = "" if op in ("==", "in") else op + " "
        right = value.get("right")
        text = _render_value(right)
        if isinstance(right, str) and isinstance(value.get("left"), dict) and "meta" in value["left"]:
            text = '"%s"' % right if value["left"]["meta"].get("key") in ("iifname", "oifname") else text
        return "%s %s%s" % (_render_value(value.get("left")), op, text)
    if key == "counter":
        # Counters change with every packet; the verdict carries them separately.
        return "counter"
    if key in ("accept", "drop", "return", "continue", "masquerade") and not value:
        return key
    if key in ("jump", "goto"):
        return "%s %s" % (key, value.get("target"))
    if key == "reject":
        return "reject" if not value else "reject with %s type %s" % (value.get("type", "icmpx"), value.get("expr"))
    if key == "vmap":
        return "%s vmap %s" % (_render_value(value.get("key")), _render_value(value.get("data")))
    if key == "snat":
        return "snat to %s" % _render_value(value.get("addr"))
    if key == "xt":
        return "xt %s %s" % (value.get("type"), value.get("name"))
    if key == "limit" and isinstance(value, dict):
        text = "limit rate %s%s/%s" % ("over " if value.get("inv") else "", value.get("rate"), value.get("per"))
        return text + (" burst %s packets" % value["burst"] if value.get("burst", 5) != 5 else "")
    return "%s %s" % (key, json.dumps(value, sort_keys=True)) if value is not None else key


def _render_value(value: t.Any) -> str:
    if isinstance(value, dict) and len(value) == 1:
        key, inner = next(iter(value.items()))
        if key == "payload":
            return "%s %s" % (inner.get("protocol"), inner.get("field"))
        if key == "meta":
            return inner["key"] if inner.get("key") in ("iifname", "oifname", "iif", "oif") else "meta %s" % inner.get("key")
        if key == "ct":
            return "ct %s" % inner.get("key")
        if key == "fib":
            return "fib %s %s" % (" . ".join(inner.get("flags") or []), inner.get("result"))
        if key == "set":
            return "{ %s }" % ", ".join(_render_value(v) for v in inner)
        if key == "range":
            return "%s-%s" % (_render_value(inner[0]), _render_value(inner[1]))
        if key == "prefix":
            return "%s/%s" % (inner.get("addr"), inner.get("len"))
        if key in ("accept", "drop", "continue", "return"):
            return key
        if key in ("jump", "goto"):
            return "%s %s" % (key, inner.get("target"))
    if isinstance(value, list):
        if value and all(isinstance(v, list) and len(v) == 2 for v in value):
            return ", ".join("%s : %s" % (_render_value(k), _render_value(v)) for k, v in value)
        return ",".join(_render_value(v) for v in value)
    if isinstance(value, str):
        return value if value.startswith("@") or value.replace("-", "").replace(".", "").isalnum() else '"%s"' % value
    return json.dumps(value, sort_keys=True)


# --- matching ---------------------------------------------------------------------------------------------

class _Matcher(object):
    """Matches one table's rules; named sets resolve within the table."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def match(self, rule: Rule, packet: Packet) -> Match:
        doubts = []
        for expr in rule["exprs"]:
            if not isinstance(expr, dict) or len(expr) != 1:
                doubts.append("unknown expression %s" % json.dumps(expr)[:60])
                continue
            key, value = next(iter(expr.items()))
            if key == "match":
                state, reason = self.match_expr(value, packet)
            elif key == "limit":
                # A handful of probe packets stays under any rate; "limit rate over" only fires above it.
                over = isinstance(value, dict) and value.get("inv")
                state, reason = (None, "only above %s/%s" % (value.get("rate"), value.get("per"))) if over else (True, None)
            elif key == "xt" and isinstance(value, dict) and value.get("type") == "match":
                state, reason = None, "iptables extension '%s' is invisible in nft JSON" % value.get("name")
            elif key in VERDICT_KEYS or key in NAT_KEYS or key in PASSIVE_KEYS or key in ("vmap", "xt"):
                continue
            else:
                state, reason = None, "unknown statement %s" % key
            if state is False:
                return False, None
            if state is None:
                doubts.append(reason or "cannot tell")
        return (None, "; ".join(doubts)) if doubts else (True, None)

    def resolve(self, rule: Rule, packet: Packet) -> tuple[Action | None, str | None]:
        if rule["action"]["kind"] != "vmap":
            return rule["action"], None
        vmap = next(e["vmap"] for e in rule["exprs"] if isinstance(e, dict) and "vmap" in e)
        value, reason = self.field(vmap.get("key"), packet)
        if reason:
            return None, reason
        data = vmap.get("data")
        entries = data.get("set") if isinstance(data, dict) else self.table["sets"].get(str(data).lstrip("@"))
        for entry in entries or []:
            if isinstance(entry, list) and len(entry) == 2 and self.equals(value, entry[0]) is True:
                verdict = entry[1]
                key = next(iter(verdict)) if isinstance(verdict, dict) else verdict
                return _verdict_action(key, verdict.get(key) if isinstance(verdict, dict) else None), None
        return {"kind": "continue"}, None

    def match_expr(self, body: dict[str, t.Any], packet: Packet) -> Match:
        left, right, op = body.get("left"), body.get("right"), body.get("op", "==")
        value, reason = self.field(left, packet)
        if reason:
            return None, reason
        if value is _ABSENT:
            return False, None
        state = self.equals(value, right)
        if state is None:
            return None, "cannot compare with %s" % _render_value(right)
        if op in ("==", "in"):
            return state, None
        if op == "!=":
            return not state, None
        return None, "operator %s" % op

    def field(self, left: t.Any, packet: Packet) -> tuple[t.Any, str | None]:
        """(value, None) for what the packet carries; (None, reason) when it cannot be known."""
        if not isinstance(left, dict) or len(left) != 1:
            return None, "unknown selector %s" % json.dumps(left)[:60]
        key, inner = next(iter(left.items()))
        if key == "payload":
            return self._payload(inner, packet)
        if key == "meta":
            return self._meta(inner.get("key"), packet)
        if key == "ct":
            if inner.get("key") == "state":
                return [packet["ct_state"]], None
            return None, "ct %s" % inner.get("key")
        if key == "fib" and inner.get("result") == "type" and "daddr" in (inner.get("flags") or []):
            return ("local" if packet["daddr_local"] else "unicast"), None
        return None, "selector %s" % _render_value(left)

    def _payload(self, inner: dict[str, t.Any], packet: Packet) -> tuple[t.Any, str | None]:
        protocol, name = inner.get("protocol"), inner.get("field")
        if protocol in ("udp", "tcp", "sctp", "udplite", "th"):
            if packet["l4proto"] is None:
                return None, "only %s %s" % (protocol, name)
            if protocol != "th" and protocol != packet["l4proto"]:
                return _ABSENT, None
            if name == "dport":
                return packet["dport"], None
            return None, "%s %s" % (protocol, name)
        if protocol in ("ip", "ip6"):
            if (protocol == "ip") != (packet["family"] == 4):
                return _ABSENT, None
            if name in ("protocol", "nexthdr"):
                return packet["l4proto"], None if packet["l4proto"] else "only %s %s" % (protocol, name)
            if name == "saddr" and packet["saddr"]:
                return ipaddress.ip_address(packet["saddr"]), None
            return None, "only some %s %s" % (protocol, name)
        if protocol in ("icmp", "icmpv6", "igmp", "ah", "esp", "comp"):
            return (_ABSENT, None) if packet["l4proto"] else (None, "only %s" % protocol)
        return None, "payload %s %s" % (protocol, name)

    def _meta(self, key: str | None, packet: Packet) -> tuple[t.Any, str | None]:
        if key == "l4proto":
            return (packet["l4proto"], None) if packet["l4proto"] else (None, "only some meta l4proto")
        if key in ("iifname", "iif", "oifname", "oif"):
            name = packet["iif" if key.startswith("i") else "oif"]
            return (name, None) if name else (None, "only some %s" % key)
        if key == "nfproto":
            return ("ipv4" if packet["family"] == 4 else "ipv6"), None
        if key == "protocol":
            return ("ip" if packet["family"] == 4 else "ip6"), None
        if key == "pkttype":
            return "host", None
        return None, "meta %s" % key

    def equals(self, value: t.Any, right: t.Any) -> bool | None:
        """Does value fall in right (a literal, set, range, prefix or @named set)? None when unreadable."""
        if isinstance(value, list):
            return any(self.equals(v, right) for v in value)
        if isinstance(right, str) and right.startswith("@"):
            elements = self.table["sets"].get(right[1:])
            return None if elements is None else any(self.equals(value, e) for e in elements)
        if isinstance(right, list):
            return any(self.equals(value, r) for r in right)
        if isinstance(right, dict) and len(right) == 1:
            key, inner = next(iter(right.items()))
            if key == "set":
                return any(self.equals(value, r) for r in inner)
            if key == "range":
                return _in_range(value, inner)
            if key == "prefix":
                return _in_prefix(value, inner)
            return None
        if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
            return _in_prefix(value, {"addr": right, "len": value.max_prefixlen})
        if isinstance(value, int) or isinstance(right, int):
            try:
                return int(value) == int(right)
            except (TypeError, ValueError):
                return value == right
        if isinstance(value, str) and isinstance(right, str):
            return interface_matches(right.replace("\\*", "*"), value) if "*" in right else value == right
        return value == right


_ABSENT = object()


def _in_range(value: t.Any, bounds: t.Sequence[t.Any]) -> bool | None:
    try:
        if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
            low, high = ipaddress.ip_address(bounds[0]), ipaddress.ip_address(bounds[1])
            if not low.version == value.version == high.version:
                return None  # addresses of two IP versions do not compare
            return int(low) <= int(value) <= int(high)
        return port_in(int(value), (int(bounds[0]), int(bounds[1])))
    except (TypeError, ValueError):
        return None


def _in_prefix(value: t.Any, prefix: dict[str, t.Any]) -> bool | None:
    try:
        return value in ipaddress.ip_network("%s/%s" % (prefix["addr"], prefix["len"]), strict=False)
    except (TypeError, ValueError, KeyError):
        return None


# --- answering ----------------------------------------------------------------------------------------------

def base_chains(parsed: Ruleset, hooks: t.Sequence[str], family: int, chain_type: str = "filter",
                skip_tables: t.Collection[str] = ()) -> list[tuple[int, str, str]]:
    """(prio, table key, chain name) of every base chain on the hooks a packet of family crosses, kernel order."""
    found = []
    for key, table in parsed["tables"].items():
        if table["family"] not in FAMILIES[family] or key in skip_tables:
            continue
        for name, base in table["base"].items():
            if base["hook"] in hooks and base["type"] == chain_type:
                found.append((hooks.index(base["hook"]), _prio(base["prio"]), key, name))
    return [(prio, key, name) for dummy_hook, prio, key, name in sorted(found)]


def _prio(prio: t.Any) -> int:
    try:
        return int(prio)
    except (TypeError, ValueError):
        return 0


def _verdict_for(parsed: Ruleset, packet: Packet, hooks: t.Sequence[str], backend: str,
                 skip_tables: t.Collection[str]) -> FirewallVerdict:
    accepted = None
    for dummy_prio, key, name in base_chains(parsed, hooks, packet["family"], skip_tables=skip_tables):
        table = parsed["tables"][key]
        matcher = _Matcher(table)
        walk = ChainWalk(table["chains"], matcher.match, matcher.resolve)
        try:
            outcome = walk.run(name, packet)
        except (TypeError, AttributeError, KeyError, ValueError, IndexError) as exc:
            # JSON of a shape nft never prints: say so rather than guess.
            return make_verdict("unknown", backend, table=key, chain=name, conditional=walk.conditional,
                                evidence=walk.evidence + ["unreadable rule in %s %s: %s" % (key, name, exc)])
        if outcome is not None and outcome[0] in ("drop", "reject"):
            return rule_verdict(backend, key, outcome[0], outcome[1], outcome[2], walk)
        if outcome is not None and outcome[0] == "unknown":
            return make_verdict("unknown", backend, table=key, chain=name, conditional=walk.conditional, evidence=walk.evidence)
        if outcome is not None and outcome[0] == "accept":
            accepted = accepted or rule_verdict(backend, key, "accept", outcome[1], outcome[2], walk)
            continue
        policy = table["base"][name]["policy"]
        verdict = make_verdict(policy, backend, table=key, chain=name, conditional=walk.conditional,
                               evidence=walk.evidence + ["policy %s of %s %s" % (policy, key, name)])
        if policy != "accept":
            return verdict
        accepted = accepted or (verdict if walk.conditional else None)
    return accepted or make_verdict("accept", backend, evidence=["no base chain drops on hooks %s" % ", ".join(hooks)])


def udp_input_verdict(parsed: Ruleset, port: int, in_interface: str | None = None, source: str | None = None, family: int = 4,
                      backend: str = "nftables", skip_tables: t.Collection[str] = (), ct_state: str = "new") -> FirewallVerdict:
    """Would an incoming NEW UDP packet to port reach the socket? skip_tables: tables another backend owns.
    ct_state "established": a reply to what the host sent from port (an initiator's handshake response)."""
    packet = probe_packet(port, in_interface=in_interface, family=family, source=source, ct_state=ct_state)
    return _verdict_for(parsed, packet, INPUT_HOOKS, backend, skip_tables)


def forward_verdict(parsed: Ruleset, in_interface: str | None, out_interface: str | None, ct_state: str = "new", family: int = 4,
                    backend: str = "nftables", skip_tables: t.Collection[str] = (), source: str | None = None) -> FirewallVerdict:
    packet = forward_packet(in_interface, out_interface, ct_state=ct_state, family=family, source=source)
    return _verdict_for(parsed, packet, ("forward",), backend, skip_tables)


def forward_policy(parsed: Ruleset, skip_tables: t.Collection[str] = ()) -> str | None:
    """The strictest policy of the forward base chains, None when there is none."""
    policies = [parsed["tables"][key]["base"][name]["policy"]
                for dummy_prio, key, name in base_chains(parsed, ("forward",), 4, skip_tables=skip_tables)]
    if not policies:
        return None
    return "drop" if "drop" in policies else policies[0]


def masquerade_rules(parsed: Ruleset, backend: str = "nftables", skip_tables: t.Collection[str] = ()) -> list[MasqueradeEntry]:
    found = []
    for key, table in sorted(parsed["tables"].items()):
        if key in skip_tables:
            continue
        for chain, rules in sorted(table["chains"].items()):
            for rule in rules:
                if rule["nat"]:
                    found.append(_masquerade_entry(backend, key, chain, rule))
    return found


def _masquerade_entry(backend: str, key: str, chain: str, rule: Rule) -> MasqueradeEntry:
    entry: MasqueradeEntry = {"backend": backend, "source": None, "out_interface": None, "rule": rule["text"],
                              "counter": rule["counter"], "chain": "%s %s" % (key, chain), "target": rule["nat"]}
    for expr in rule["exprs"]:
        body = expr.get("match") if isinstance(expr, dict) else None
        if not body:
            continue
        left, right = body.get("left") or {}, body.get("right")
        prefix = "!" if body.get("op") == "!=" else ""
        if left.get("payload", {}).get("field") == "saddr":
            entry["source"] = prefix + _render_value(right)
        elif left.get("meta", {}).get("key") in ("oifname", "oif") and isinstance(right, str):
            entry["out_interface"] = prefix + right
    return entry


def iptables_nft_tables(parsed: Ruleset, iptables_table_names: t.Collection[str] | None = None) -> list[str]:
    """Keys of the tables iptables-nft owns: they are reported as iptables-nft, not twice."""
    owned = []
    for key, table in parsed["tables"].items():
        if table["family"] not in ("ip", "ip6") or table["name"] not in IPTABLES_TABLES:
            continue
        upper = any(name.isupper() for name in table["base"])
        if table["iptables_nft"] or (iptables_table_names is not None and table["name"] in iptables_table_names) or \
                (iptables_table_names is None and upper):
            owned.append(key)
    return owned


def is_active(parsed: Ruleset, skip_tables: t.Collection[str] = ()) -> bool:
    return any(key not in skip_tables for key in parsed["tables"])
