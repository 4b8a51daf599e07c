# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a firewall finding proved, carried into its remedy so the fix does not guess it again.

The diagnosis read the firewall with the readers of plugins/module_utils/firewall and named the
backend that decides, the nftables table and chain (or firewalld zone) whose rule or policy drops,
and the uplinks the verdict was computed for. The firewall role takes these as
firewall_backend, firewall_nftables_chains, firewall_firewalld_zone and firewall_forward_uplinks,
so it acts on what the diagnosis saw instead of re-detecting.

Some blocks the role cannot lift: a firewalld policy towards HOST with a negative priority runs before
the zone (recorded, tests/unit/firewall/fixtures/firewalld_host_policies/), so opening the port in the
zone changes the zone and fixes nothing. Likewise a forwarding policy that runs before the role's own
forwarding policy (recorded, tests/unit/firewall/fixtures/firewalld_forward_remedy/). early_policy_block()
names such a policy, and what the admin must change in it, instead of a remedy.
"""
from __future__ import annotations

import re
import shlex
import typing as t

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall.firewalld_plan import POLICY_PRIORITY as ROLE_POLICY_PRIORITY
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall.firewalld_plan import policy_name
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall.reach import ROLE_BACKEND
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.topology import End


# The line of a firewalld verdict's evidence that names the deciding policy (module_utils/firewall/firewalld.py).
POLICY_EVIDENCE = re.compile(r"^policy (?P<name>\S+) \(priority (?P<priority>-?\d+), ingress zones (?P<ingress>[^,]*), "
                             r"egress zones (?P<egress>[^)]*)\): (?P<rule>.*)$")
# A blocking policy the forward verdict names as waiting for the uplink's binding (module_utils/firewall/firewalld.py).
WOKEN_EVIDENCE = re.compile(r"^once (?P<out>\S+) is bound to zone (?P<zone>\S+), policy (?P<name>\S+) \(priority (?P<priority>-?\d+), "
                            r"ingress zones [^,]*, egress zones [^)]*\) would (?:drop|reject) by (?P<rule>.*)$")
RICH_RULE = re.compile(r"^rich rule '(?P<rule>.*)'$")
RICH_PRIORITY = re.compile(r"""\bpriority=["']?(?P<priority>-?\d+)""")


class EarlyPolicyBlock(t.NamedTuple):
    """A firewalld policy that decides before the zone: the role's zone remedy cannot lift its block."""

    name: str
    priority: int
    zone: str
    rule: str
    summary: str
    advice: str


def early_policy_block(verdict: t.Optional[dict[str, t.Any]], port: t.Any,
                       interface: t.Optional[str] = None) -> t.Optional[EarlyPolicyBlock]:
    """The firewalld policy that blocks before the role's remedy can act, with what the admin must do; None when the
    role's remedy does lift the block.

    Incoming UDP `port` (interface None): a policy towards HOST of negative priority runs before the zone the role
    opens the port in. Inside a policy firewalld keeps a zone's order: rich rules of negative priority, deny rich rules,
    allow rules (ports), rich rules of positive priority, then the target. A block by the policy's target or by a late
    rich rule is lifted by adding the port to the policy; an earlier deny rich rule has to be removed or narrowed.

    Forwarding out of the tunnel `interface`: the role forwards with its own policy (wgdfw-<interface>, priority -1) and
    never moves the tunnel out of a zone the host bound it to, so a blocking policy that met the tunnel's packets still
    meets them afterwards; it wins when it runs first. firewalld loads policies by priority, and at the same priority in
    name order (recorded: at -1 blockfwd dropped every ping after the remedy, zblockfwd none; at -2 zblockfwd did)."""
    verdict = verdict if isinstance(verdict, dict) else {}
    chain = verdict.get("chain")
    if verdict.get("backend") != "firewalld" or verdict.get("verdict") not in ("drop", "reject") or not isinstance(chain, str):
        return None
    evidence = [str(line) for line in verdict.get("evidence") or []]
    if interface is not None:
        return _early_forward_block(chain, str(verdict.get("rule") or ""), evidence, interface)
    if not chain.startswith("policy "):
        return None
    name = chain[len("policy "):]
    found = [m for m in (POLICY_EVIDENCE.match(line) for line in evidence) if m and m.group("name") == name]
    if not found:
        return None
    priority, rule = int(found[0].group("priority")), str(verdict.get("rule") or "")
    if priority >= 0:
        return None
    zone = str(verdict.get("table") or "the zone")
    summary = ("policy %s (priority %d) runs before zone %s: opening the port in the zone would change nothing, so there is "
               "no remedy to apply; change the policy." % (name, priority, zone))
    rich = RICH_RULE.match(rule)
    rich_priority = RICH_PRIORITY.search(rich.group("rule")) if rich else None
    if rich and (rich_priority is None or int(rich_priority.group("priority")) <= 0):
        advice = ("the admin must remove or narrow the policy's rich rule, which runs before the policy's own ports: "
                  "firewall-cmd --permanent --policy %s --remove-rich-rule %s && firewall-cmd --reload" % (name, shlex.quote(rich.group("rule"))))
    else:
        advice = ("the admin must let the port through the policy, whose ports come before its %s: firewall-cmd --permanent --policy %s "
                  "--add-port %s/udp && firewall-cmd --reload; or give the policy a positive priority (--set-priority 10), after the "
                  "zone's rules, and open the port in zone %s" % ("later rich rules and target" if rich else "target", name, port, zone))
    return EarlyPolicyBlock(name, priority, zone, rule, summary, advice)


def _early_forward_block(chain: str, rule: str, evidence: list[str], interface: str) -> t.Optional[EarlyPolicyBlock]:
    """The policy that blocks the tunnel's forwarding before the role's own policy runs: the one that decides (chain
    'policy NAME'), or one that the role's binding of the uplink wakes (recorded: it met nothing before and dropped
    every ping after); None when the role's policy runs first."""
    ours = policy_name(interface)
    candidates = []
    if chain.startswith("policy "):
        candidates += [(m, rule, "") for m in (POLICY_EVIDENCE.match(line) for line in evidence)
                       if m and m.group("name") == chain[len("policy "):]][:1]
    for match in (WOKEN_EVIDENCE.match(line) for line in evidence):
        if match:
            woken = " meets nothing now, but once %s is bound to zone %s, as the role binds it for its own policy, it" % (
                match.group("out"), match.group("zone"))
            candidates.append((match, match.group("rule"), woken))
    for match, decided_by, woken in candidates:
        name, priority = match.group("name"), int(match.group("priority"))
        if (priority, name) >= (ROLE_POLICY_PRIORITY, ours):
            continue  # the role's policy runs first and accepts the tunnel's subnets (recorded at -1 after it and at +10)
        same = "" if priority < ROLE_POLICY_PRIORITY else (
            " too: at the same priority firewalld runs policies in name order, and %s sorts before %s" % (name, ours))
        summary = ("policy %s (priority %d)%s runs before the firewall role's forwarding policy %s (priority %d%s): forwarding "
                   "the tunnel there would change nothing, so there is no remedy to apply; change the policy." % (
                       name, priority, woken, ours, ROLE_POLICY_PRIORITY, same))
        advice = ("the admin must let the role's policy run first: give policy %s a positive priority, which runs after the "
                  "zones' allow rules and before their targets: firewall-cmd --permanent --policy %s --set-priority 10 && "
                  "firewall-cmd --reload; then run the remedy again" % (name, name))
        return EarlyPolicyBlock(name, priority, "", decided_by, summary, advice)
    return None


def _uplinks(end: End, verdict: dict[str, t.Any]) -> list[str]:
    """The uplinks of the facts (docs/facts.md `uplinks`), the verdict's own arrival interface first."""
    found: list[str] = []
    first = verdict.get("in_interface")
    candidates = [first] + [u.get("interface") for u in end.facts.get("uplinks") or [] if isinstance(u, dict)]
    for name in candidates:
        if isinstance(name, str) and name and name != end.interface and name not in found:
            found.append(name)
    return found


def proven_firewall_vars(end: End, verdict: t.Optional[dict[str, t.Any]], direction: str) -> dict[str, t.Any]:
    """The role variables for what `verdict` proved; {} for what it did not prove (the role then detects).

    direction: "input" (the listen port is blocked) or "forward" (the tunnel's forwarding is blocked).
    """
    verdict = verdict if isinstance(verdict, dict) else {}
    proven: dict[str, t.Any] = {}
    backend = ROLE_BACKEND.get(str(verdict.get("backend")))
    # Only a verdict that blocks names a backend to change: an "unknown" is no proof of which one drops.
    if backend and verdict.get("verdict", verdict.get("policy")) in ("drop", "reject"):
        proven["firewall_backend"] = backend
        table, chain = verdict.get("table"), verdict.get("chain")
        if backend == "nftables" and isinstance(table, str) and isinstance(chain, str) and len(table.split()) == 2:
            proven["firewall_nftables_chains"] = ["%s %s" % (table, chain)]
        # firewalld's verdict names the zone that decided the arrival; forwarding gets a zone of the role's own.
        if backend == "firewalld" and direction == "input" and isinstance(table, str) and table:
            proven["firewall_firewalld_zone"] = table
    uplinks = _uplinks(end, verdict)
    if uplinks:
        proven["firewall_forward_uplinks"] = uplinks
    return proven
