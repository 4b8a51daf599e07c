# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan what the firewall remedy changes in nftables, from what the readers read. Pure: no command runs here.

Every base chain on a hook is evaluated: an accept in a table of our own would not override a drop
in the host's chain. So the accept goes at the top of each host chain that could drop the packet,
and nothing else of the host's ruleset is touched. Only tables the boot config declares are the
host's: a table another tool (Docker, libvirt, kube-proxy, fail2ban) creates at runtime is never
changed, and never written into the boot config, where it does not exist at boot and would abort
the atomic load of the whole file. The masquerade lives in a table of the role's own.

wgdoctor.wireguard.wg_firewall runs the commands; this module decides, so that check mode and the
diff come from the same plan the real run carries out.
"""
from __future__ import annotations

import json
import re
import typing as t

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall.nftables import Ruleset
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall.plan_params import PlanError, check_common

# The comment is how the role recognises its rules; it goes between double quotes in nft's syntax.
COMMENT = re.compile(r"^[A-Za-z0-9_.:/ -]{1,64}$")
HOOKS = ("input", "forward")
FAMILIES = ("inet", "ip", "ip6")
# iptables-nft's chains: iptables' to change, not ours.
IPTABLES_CHAIN_NAMES = ("INPUT", "FORWARD")
DECIDING_KEYS = re.compile(r'"(drop|reject|jump|goto)"')
LISTING_LINE = re.compile(r"^\t\t(.+) # handle ([0-9]+)$")


class Want(t.TypedDict):
    family: str  # ip, ip6 or any
    statement: str


class Where(t.TypedDict):
    family: str
    table: str
    chain: str
    hook: str


class PlannedRule(Where):
    statement: str
    line: str  # "family table chain: statement comment "..."": how nft prints it, our key for comparing


class Plan(t.TypedDict):
    chains: list[Where]  # host chains (of boot-declared tables) that could drop: they get our accepts
    runtime_only: list[Where]  # chains that could drop in tables the boot config does not declare: left alone
    rules: list[PlannedRule]  # every accept the chains should hold
    stale: list[PlannedRule]  # what earlier versions of the role inserted and must go


class Params(t.TypedDict, total=False):
    interface: str
    port: int
    comment: str
    forward: bool
    forward_sources: list[str]
    forward_uplinks: list[str]
    masquerade_source: str
    masquerade_interface: str


def check_params(params: Params) -> None:
    """Names reach nft rule text and file names: only what the kernel and nft accept. Raises PlanError."""
    names = [("interface", params["interface"])] + [("forward_uplinks", u) for u in params.get("forward_uplinks") or []]
    if params.get("masquerade_interface"):
        names.append(("masquerade_interface", params["masquerade_interface"]))
    check_common(params, names)
    if not COMMENT.match(params.get("comment") or ""):
        raise PlanError("comment: %r must be 1-64 of A-Z a-z 0-9 _ . : / - and space" % params.get("comment"))


def _family_of(cidr: str) -> str:
    return "ip6" if ":" in cidr else "ip"


def wanted(params: Params) -> tuple[dict[str, list[Want]], list[str]]:
    """The accepts each hook needs, and the statements earlier versions of the role made that must go."""
    interface = params["interface"]
    forward: list[Want] = []
    stale: list[str] = []
    if params.get("forward"):
        for uplink in params.get("forward_uplinks") or []:
            for source in params.get("forward_sources") or []:
                family = _family_of(source)
                forward.append({"family": family, "statement": 'iifname "%s" oifname "%s" %s saddr %s accept' % (
                    interface, uplink, family, source)})
            forward.append({"family": "any", "statement": 'iifname "%s" oifname "%s" ct state established,related accept' % (
                uplink, interface)})
        # What earlier versions of the role inserted: any traffic in or out of the tunnel.
        stale = ['iifname "%s" accept' % interface, 'oifname "%s" accept' % interface]
    return {"input": [{"family": "any", "statement": "udp dport %d accept" % int(params["port"])}], "forward": forward}, stale


def rule_line(where: Where, statement: str, comment: str) -> str:
    return '%s %s %s: %s comment "%s"' % (where["family"], where["table"], where["chain"], statement, comment)


def _may_drop(table: dict[str, t.Any], chain: str, comment: str) -> bool:
    """A jump or goto may lead to a drop; an accept-only chain with policy accept cannot drop anything."""
    if table["base"][chain]["policy"] != "accept":
        return True
    theirs = [rule for rule in table["chains"].get(chain) or [] if rule.get("comment") != comment]
    return any(DECIDING_KEYS.search(json.dumps(rule["exprs"])) for rule in theirs)


def _planned(where: Where, statement: str, comment: str) -> PlannedRule:
    return {"family": where["family"], "table": where["table"], "chain": where["chain"], "hook": where["hook"],
            "statement": statement, "line": rule_line(where, statement, comment)}


def plan_chains(parsed: Ruleset, boot_tables: t.Collection[str], params: Params) -> Plan:
    """Which host chains get which rules. boot_tables: "family name" of each table the boot config declares."""
    wants, stale_statements = wanted(params)
    comment = params["comment"]
    hooks = [hook for hook in HOOKS if wants[hook]]
    plan: Plan = {"chains": [], "runtime_only": [], "rules": [], "stale": []}
    for key, table in parsed["tables"].items():
        if table["family"] not in FAMILIES:
            continue
        for name, base in table["base"].items():
            if base["hook"] not in hooks or base["type"] != "filter" or name in IPTABLES_CHAIN_NAMES:
                continue
            if not _may_drop(table, name, comment):
                continue
            where: Where = {"family": table["family"], "table": table["name"], "chain": name, "hook": base["hook"]}
            if key not in boot_tables:
                plan["runtime_only"].append(where)
                continue
            plan["chains"].append(where)
            for want in wants[base["hook"]]:
                if want["family"] in ("any", table["family"]) or table["family"] == "inet":
                    plan["rules"].append(_planned(where, want["statement"], comment))
            if base["hook"] == "forward":
                for statement in stale_statements:
                    plan["stale"].append(_planned(where, statement, comment))
    return plan


def chain_key(where: t.Mapping[str, t.Any]) -> str:
    return "%s %s %s" % (where["family"], where["table"], where["chain"])


def parse_chain_listing(text: str) -> list[dict[str, str]]:
    """[{text, handle}] of the rules `nft -a list chain F T C` printed: a rule is recognised by the text nft prints."""
    found = []
    for line in (text or "").splitlines():
        match = LISTING_LINE.match(line)
        if match:
            found.append({"text": match.group(1), "handle": match.group(2)})
    return found


class Changes(t.TypedDict):
    missing: list[PlannedRule]  # to insert
    stale: list[dict[str, t.Any]]  # to delete: a PlannedRule with the handle nft gave it
    before: list[str]  # the role's rules in the planned chains now, as "family table chain: text"
    after: list[str]  # the same once the plan is carried out


def compare(plan: Plan, listings: t.Mapping[str, str], comment: str) -> Changes:
    """What the live chains lack and hold too much; listings: `nft -a list chain` output per chain_key()."""
    present: dict[str, list[dict[str, str]]] = {key: parse_chain_listing(text) for key, text in listings.items()}
    present_lines = {"%s: %s" % (key, line["text"]) for key, lines in present.items() for line in lines}
    missing = [rule for rule in plan["rules"] if rule["line"] not in present_lines]
    stale = []
    for rule in plan["stale"]:
        for line in present.get(chain_key(rule)) or []:
            if line["text"] == '%s comment "%s"' % (rule["statement"], comment):
                stale.append(dict(rule, handle=line["handle"]))
    mark = ' comment "%s"' % comment
    before = ["%s: %s" % (key, line["text"]) for key, lines in present.items() for line in lines if line["text"].endswith(mark)]
    gone = {rule["line"] for rule in stale}
    after = [line for line in before if line not in gone]
    # nft insert puts each rule at the top of its chain: the last inserted comes first.
    after = [rule["line"] for rule in reversed(missing)] + after
    return {"missing": missing, "stale": stale, "before": before, "after": after}


# --- the role's masquerade table -------------------------------------------------------------------------------

def nat_table(params: Params) -> tuple[str, str] | None:
    """(family, name) of the role's masquerade table for this interface; None without masquerading."""
    if not params.get("masquerade_source"):
        return None
    return _family_of(params["masquerade_source"]), "wgdoctor_nat_" + re.sub(r"[^A-Za-z0-9_]", "_", params["interface"])


def nat_rule(params: Params) -> str:
    return '%s saddr %s oifname "%s" masquerade comment "%s"' % (
        _family_of(params["masquerade_source"]), params["masquerade_source"], params["masquerade_interface"], params["comment"])


def nat_text(params: Params) -> str:
    """Declaring, deleting and redefining our own table in one transaction makes it exactly this, every time."""
    family, name = t.cast(t.Tuple[str, str], nat_table(params))
    return ("table {family} {name}\ndelete table {family} {name}\ntable {family} {name} {{\n"
            "\tchain postrouting {{\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
            "\t\t{rule}\n\t}}\n}}\n").format(family=family, name=name, rule=nat_rule(params))


def nat_present(params: Params, listing: str | None) -> bool:
    """Does `nft list table` of our masquerade table already hold the rule?"""
    return bool(listing) and nat_rule(params) in t.cast(str, listing)


# --- the boot config ---------------------------------------------------------------------------------------------

def drop_in_text(plan: Plan, params: Params, conf: str) -> str:
    lines = ["# Managed by wgdoctor.wireguard.firewall (wg_firewall): changes here are replaced.",
             "# Loaded by %s after the host's own tables are defined:" % conf,
             "# each line puts the WireGuard accept at the top of a host chain that would drop it."]
    lines += ['insert rule %s %s %s %s comment "%s"' % (r["family"], r["table"], r["chain"], r["statement"], params["comment"])
              for r in plan["rules"]]
    text = "\n".join(lines) + "\n"
    if nat_table(params):
        text += nat_text(params)
    return text


def include_line(include_dir: str) -> str:
    return 'include "%s/*.nft"' % include_dir.rstrip("/")


def conf_with_include(conf_text: str, include_dir: str) -> str:
    """The boot config with the include of the drop-ins at its end (after the host's tables); unchanged when it has it."""
    line = include_line(include_dir)
    if line in conf_text.splitlines():
        return conf_text
    return conf_text + ("" if conf_text.endswith("\n") or not conf_text else "\n") + line + "\n"


def boot_tables(listing: str) -> set[str]:
    """"family name" of the tables `nft -j list tables` printed; raises PlanError on output of another shape."""
    try:
        items = json.loads(listing)["nftables"]
        return {"%s %s" % (i["table"]["family"], i["table"]["name"]) for i in items if isinstance(i, dict) and "table" in i}
    except (ValueError, KeyError, TypeError) as exc:
        raise PlanError("nft -j list tables printed something else than its JSON (%s)" % exc)


def unproven_chains(plan: Plan, proven: t.Sequence[str]) -> list[tuple[str, str]]:
    """(chain, why) for each chain the diagnosis proved drops that the plan does not change."""
    planned = {chain_key(w) for w in plan["chains"]}
    runtime = {chain_key(w) for w in plan["runtime_only"]}
    out = []
    for chain in proven:
        if chain in planned:
            continue
        if chain in runtime:
            out.append((chain, "its table is not declared by the boot config: another tool creates it at runtime"))
        else:
            out.append((chain, "it no longer is a filter base chain that could drop this traffic"))
    return out
