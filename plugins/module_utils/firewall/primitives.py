# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared shapes of the firewall readers: the probe packet, verdicts, chain walking.

Every backend answers one question, "would an incoming UDP packet to port P reach the
socket, and if not, which rule stops it?", from the output of its own listing command.
A rule match is three-valued: True, False or None ("cannot tell from here", e.g. a source
address restriction while the peer's address is unknown). A rule that only *might* match
never decides; it is listed in the verdict's ``conditional`` so a human sees the doubt.
"""
from __future__ import annotations

VERDICTS = ("accept", "drop", "reject", "unknown")
MAX_JUMP_DEPTH = 64


def probe_packet(port, in_interface=None, family=4, source=None):
    """The first WireGuard handshake initiation as the firewall sees it: a NEW UDP packet."""
    return {"hook": "input", "family": family, "l4proto": "udp", "dport": int(port), "sport": None,
            "iif": in_interface, "oif": None, "ct_state": "new", "saddr": source, "daddr_local": True}


def forward_packet(in_interface, out_interface, ct_state="new", family=4):
    """Any routed packet between two interfaces; protocol and ports unknown on purpose."""
    return {"hook": "forward", "family": family, "l4proto": None, "dport": None, "sport": None,
            "iif": in_interface, "oif": out_interface, "ct_state": ct_state, "saddr": None, "daddr_local": False}


def make_verdict(verdict, backend, table=None, chain=None, rule=None, counter=None, position=None,
                 conditional=None, evidence=None, reject_with=None):
    return {"verdict": verdict, "backend": backend, "table": table, "chain": chain, "rule": rule,
            "counter": counter, "position": position, "reject_with": reject_with,
            "conditional": list(conditional or []), "evidence": list(evidence or [])}


def unknown_verdict(backend, reason):
    return make_verdict("unknown", backend, evidence=[reason])


def interface_matches(pattern, name):
    """iptables "eth+" and nft "eth*" are prefix wildcards."""
    if pattern.endswith("+") or pattern.endswith("*"):
        return name.startswith(pattern[:-1])
    return pattern == name


def port_in(port, spec):
    """spec: int, (low, high), or a list of those."""
    if isinstance(spec, list):
        return any(port_in(port, item) for item in spec)
    if isinstance(spec, tuple):
        return spec[0] <= port <= spec[1]
    return port == spec


class ChainWalk(object):
    """Walk chains like the kernel does, remembering the doubts met on the way.

    ``chains`` maps a name to a list of rules in the backend's neutral form:
    {"text", "counter", "position", "action": {"kind": accept|drop|reject|return|jump|goto|continue|maybe,
    "target", "reject_with", "reason"}}. ``match(rule, packet)`` returns (True|False|None, reason);
    ``resolve(rule, packet)`` returns (action, reason) and exists for verdict maps.
    """

    def __init__(self, chains, match, resolve=None):
        self.chains = chains
        self.match = match
        self.resolve = resolve or (lambda rule, packet: (rule["action"], None))
        self.conditional = []
        self.evidence = []

    def run(self, name, packet, depth=0):
        """Return (kind, rule, chain) of the rule that ends the walk, or None when the chain runs out."""
        if depth > MAX_JUMP_DEPTH:
            self.evidence.append("jumps nest deeper than %d chains at %s: stopped following" % (MAX_JUMP_DEPTH, name))
            return ("unknown", None, name)
        for rule in self.chains.get(name, []):
            state, reason = self.match(rule, packet)
            if state is False:
                continue
            action, action_reason = self.resolve(rule, packet)
            if action is None or action["kind"] == "maybe":
                self._doubt(name, rule, action_reason or (action or {}).get("reason") or reason, action)
                continue
            if state is None:
                self._doubt(name, rule, reason, action)
                continue
            outcome = self._apply(name, rule, action, packet, depth)
            if outcome is not None:
                return outcome
        return None

    def _apply(self, name, rule, action, packet, depth):
        kind = action["kind"]
        if kind in ("accept", "drop", "reject", "return"):
            return (kind, rule, name)
        if kind in ("jump", "goto"):
            target = action.get("target")
            if target not in self.chains:
                self._doubt(name, rule, "target %s is neither a verdict nor a chain" % target, None)
                return None
            outcome = self.run(target, packet, depth + 1)
            if outcome is not None and outcome[0] != "return":
                return outcome
            if kind == "goto":
                return ("return", rule, name)
        return None

    def _doubt(self, chain, rule, reason, action):
        effect = action["kind"] if action else "decide"
        if effect in ("continue", "return"):
            return
        if effect in ("jump", "goto"):
            effect = "%s to %s" % (effect, action.get("target"))
        self.conditional.append("%s: '%s' would %s if it matches (%s)" % (chain, rule.get("text"), effect, reason or "cannot tell"))


def rule_verdict(backend, table, kind, rule, chain, walk, policy_chain=None):
    """Turn the end of a walk into a verdict dict."""
    return make_verdict(kind, backend, table=table, chain=chain, rule=rule.get("text"),
                        counter=rule.get("counter"), position=rule.get("position"),
                        reject_with=rule["action"].get("reject_with") if kind == "reject" else None,
                        conditional=walk.conditional, evidence=walk.evidence)


def combine_verdicts(verdicts):
    """With several backends, the first that blocks decides; a certain block beats an unknown."""
    for wanted in (("drop", "reject"), ("unknown",)):
        for verdict in verdicts:
            if verdict["verdict"] in wanted:
                return verdict
    for verdict in verdicts:
        if verdict.get("rule"):
            return verdict
    return verdicts[0] if verdicts else None


def masquerade_covers(masquerade, source_cidr, out_interface):
    """The masquerade/SNAT entry that rewrites traffic from source_cidr leaving via out_interface, or None."""
    import ipaddress  # pylint: disable=import-outside-toplevel
    try:
        wanted = ipaddress.ip_network(source_cidr, strict=False)
    except ValueError:
        return None
    for entry in masquerade:
        if entry.get("source"):
            try:
                have = ipaddress.ip_network(entry["source"].lstrip("!"), strict=False)
            except ValueError:
                continue
            inside = wanted.version == have.version and wanted.subnet_of(have)
            if inside == entry["source"].startswith("!"):
                continue
        out = entry.get("out_interface")
        if out and out_interface:
            negated = out.startswith("!")
            if interface_matches(out.lstrip("!"), out_interface) == negated:
                continue
        return entry
    return None
