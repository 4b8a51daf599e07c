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

import ipaddress
import typing as t

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall.verdict import FirewallVerdict, MasqueradeEntry, VerdictName

VERDICTS = ("accept", "drop", "reject", "unknown")
MAX_JUMP_DEPTH = 64


class Packet(t.TypedDict):
    """The packet a reader judges; None where the question leaves it open (any protocol, any port)."""
    hook: str  # input or forward
    family: int  # 4 or 6
    l4proto: str | None
    dport: int | None
    sport: int | None
    iif: str | None
    oif: str | None
    ct_state: str  # new, established, related
    saddr: str | None
    daddr_local: bool


# A rule in a backend's neutral form (see ChainWalk), its action, and a reader's answer to "does it match?":
# True, False or None (cannot tell) with the reason for the doubt.
Rule = t.Dict[str, t.Any]
Action = t.Dict[str, t.Any]
Match = t.Tuple[t.Optional[bool], t.Optional[str]]
Matcher = t.Callable[[Rule, Packet], Match]
Resolver = t.Callable[[Rule, Packet], t.Tuple[t.Optional[Action], t.Optional[str]]]
# How a walk ended: (accept|drop|reject|return|unknown, the rule that ended it or None, the chain).
WalkEnd = t.Tuple[str, t.Optional[Rule], str]
IPNetwork = t.Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
# iptables/ufw port specs: a port, an inclusive (low, high) range, or a list of those.
PortSpec = t.Union[int, t.Tuple[int, int], t.List[t.Any]]


def probe_packet(port: int, in_interface: str | None = None, family: int = 4, source: str | None = None,
                 ct_state: str = "new") -> Packet:
    """The first WireGuard handshake initiation as the firewall sees it: a NEW UDP packet. With ct_state
    "established": the handshake response coming back to an initiator's listen port, which it sent from."""
    return {"hook": "input", "family": family, "l4proto": "udp", "dport": int(port), "sport": None,
            "iif": in_interface, "oif": None, "ct_state": ct_state, "saddr": source, "daddr_local": True}


def forward_packet(in_interface: str | None, out_interface: str | None, ct_state: str = "new", family: int = 4,
                   source: str | None = None) -> Packet:
    """Any routed packet between two interfaces; protocol and ports unknown on purpose. `source`: an address of
    the tunnel's subnet for traffic leaving the tunnel, so a rule limited to that subnet decides (None: unknown)."""
    return {"hook": "forward", "family": family, "l4proto": None, "dport": None, "sport": None,
            "iif": in_interface, "oif": out_interface, "ct_state": ct_state, "saddr": source, "daddr_local": False}


def make_verdict(verdict: str | None, backend: str | None, table: str | None = None, chain: str | None = None,
                 rule: str | None = None, counter: int | None = None, position: int | None = None,
                 conditional: t.Iterable[str] | None = None, evidence: t.Iterable[str] | None = None,
                 reject_with: str | None = None) -> FirewallVerdict:
    # Readers map their backend's words onto VERDICTS before they get here; the contract names the four.
    return {"verdict": t.cast(VerdictName, verdict), "backend": backend, "table": table, "chain": chain, "rule": rule,
            "counter": counter, "position": position, "reject_with": reject_with,
            "conditional": list(conditional or []), "evidence": list(evidence or [])}


def unknown_verdict(backend: str | None, reason: str) -> FirewallVerdict:
    return make_verdict("unknown", backend, evidence=[reason])


def interface_matches(pattern: str, name: str) -> bool:
    """iptables "eth+" and nft "eth*" are prefix wildcards."""
    if pattern.endswith("+") or pattern.endswith("*"):
        return name.startswith(pattern[:-1])
    return pattern == name


def port_in(port: int, spec: PortSpec) -> bool:
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

    def __init__(self, chains: t.Mapping[str, list[Rule]], match: Matcher, resolve: Resolver | None = None) -> None:
        self.chains = chains
        self.match = match
        self.resolve: Resolver = resolve or (lambda rule, packet: (rule["action"], None))
        self.conditional: list[str] = []
        self.evidence: list[str] = []

    def run(self, name: str, packet: Packet, depth: int = 0) -> WalkEnd | None:
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

    def _apply(self, name: str, rule: Rule, action: Action, packet: Packet, depth: int) -> WalkEnd | None:
        kind = action["kind"]
        if kind in ("accept", "drop", "reject", "return"):
            return (kind, rule, name)
        if kind in ("jump", "goto"):
            target = action.get("target")
            if target is None or target not in self.chains:
                self._doubt(name, rule, "target %s is neither a verdict nor a chain" % target, None)
                return None
            outcome = self.run(target, packet, depth + 1)
            if outcome is not None and outcome[0] != "return":
                return outcome
            if kind == "goto":
                return ("return", rule, name)
        return None

    def _doubt(self, chain: str, rule: Rule, reason: str | None, action: Action | None) -> None:
        effect = action["kind"] if action else "decide"
        if effect in ("continue", "return"):
            return
        if action and effect in ("jump", "goto"):
            effect = "%s to %s" % (effect, action.get("target"))
        self.conditional.append("%s: '%s' would %s if it matches (%s)" % (chain, rule.get("text"), effect, reason or "cannot tell"))


def rule_verdict(backend: str, table: str, kind: str, rule: Rule | None, chain: str, walk: ChainWalk,
                 policy_chain: str | None = None) -> FirewallVerdict:
    """Turn the end of a walk into a verdict dict; only a walk stopped for depth ends without a rule."""
    found = rule or {}
    return make_verdict(kind, backend, table=table, chain=chain, rule=found.get("text"),
                        counter=found.get("counter"), position=found.get("position"),
                        reject_with=found.get("action", {}).get("reject_with") if kind == "reject" else None,
                        conditional=walk.conditional, evidence=walk.evidence)


def combine_verdicts(verdicts: t.Sequence[FirewallVerdict]) -> FirewallVerdict:
    """With several backends, the first that blocks decides; a certain block beats an unknown.

    verdicts: one per active backend, at least one (without a backend nothing filters: no verdict to combine).
    """
    for wanted in (("drop", "reject"), ("unknown",)):
        for verdict in verdicts:
            if verdict["verdict"] in wanted:
                return verdict
    for verdict in verdicts:
        if verdict.get("rule"):
            return verdict
    return verdicts[0]


def masquerade_covers(masquerade: t.Iterable[MasqueradeEntry], source_cidr: str,
                      out_interface: str | None) -> MasqueradeEntry | None:
    """The masquerade/SNAT entry that rewrites traffic from source_cidr leaving via out_interface, or None."""
    try:
        wanted = ipaddress.ip_network(source_cidr, strict=False)
    except ValueError:
        return None
    for entry in masquerade:
        source = entry.get("source")
        if source:
            try:
                have = ipaddress.ip_network(source.lstrip("!"), strict=False)
            except ValueError:
                continue
            if _subnet_of(wanted, have) == source.startswith("!"):
                continue
        out = entry.get("out_interface")
        if out and out_interface:
            negated = out.startswith("!")
            if interface_matches(out.lstrip("!"), out_interface) == negated:
                continue
        return entry
    return None


def _subnet_of(inner: IPNetwork, outer: IPNetwork) -> bool:
    """inner lies within outer; networks of different IP versions never do."""
    if isinstance(inner, ipaddress.IPv4Network) and isinstance(outer, ipaddress.IPv4Network):
        return inner.subnet_of(outer)
    if isinstance(inner, ipaddress.IPv6Network) and isinstance(outer, ipaddress.IPv6Network):
        return inner.subnet_of(outer)
    return False
