# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An iptables-restore file (rules.v4 / rules.v6) with the firewall role's rules added, as one new text.

The role writes the whole new file in one step, so that `--check --diff` shows the very diff the real run
makes: added line by line, a check run's diffs were each against the unchanged file while the real run's
were cumulative. The host's own lines are never moved or dropped.
"""
from __future__ import annotations

import typing as t

# What iptables-restore gets for a table the file does not have yet: its built-in chains, policy ACCEPT (the
# kernel's own default), as `iptables-save` prints them.
BUILTIN_CHAINS = {
    "filter": ("INPUT", "FORWARD", "OUTPUT"),
    "nat": ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"),
    "mangle": ("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"),
    "raw": ("PREROUTING", "OUTPUT"),
    "security": ("INPUT", "FORWARD", "OUTPUT"),
}


class RulesFileError(ValueError):
    """The file cannot take the rules; the message names the line."""


def _rule(item: t.Any) -> tuple[str, str, str]:
    if not isinstance(item, t.Mapping) or not all(isinstance(item.get(key), str) and item.get(key) for key in ("table", "chain", "line")):
        raise RulesFileError("a rule is {table, chain, line}, got %r" % (item,))
    table, chain, line = item["table"], item["chain"], item["line"]
    if table not in BUILTIN_CHAINS:
        raise RulesFileError("%s: no such iptables table (rule %r)" % (table, line))
    if not line.startswith("-A %s " % chain):
        raise RulesFileError("rule %r is not in chain %s" % (line, chain))
    return table, chain, line


def _top_of_chain(lines: list[str], header: int, chain: str, path: str) -> int:
    """Where a rule goes to be the first of its chain: before the chain's first rule, else before the table's COMMIT."""
    for index in range(header + 1, len(lines)):
        if lines[index].startswith("-A %s " % chain) or lines[index].strip() == "COMMIT":
            return index
        if lines[index].startswith("*"):
            break
    raise RulesFileError("%s, line %d: %s has no COMMIT before the next table or the end" % (path, header + 1, lines[header]))


def with_rules(text: str, rules: t.Iterable[t.Any], path: str = "the rules file") -> str:
    """`text` with every rule of `rules` (in live order, as iptables-save prints them) the file does not hold yet.

    A rule goes to the top of its chain in its table's section, the rules of one chain in their live order. A table
    the file lacks gets a section of its own at the end, with its built-in chains, so that what the role added live
    (a masquerade in nat on a host whose file had only filter) also comes back at boot."""
    lines = text.splitlines()
    present = set(lines)
    missing = []
    for item in rules:
        rule = _rule(item)
        if rule[2] not in present and rule not in missing:
            missing.append(rule)
    new_sections: dict[str, list[tuple[str, str]]] = {}
    # Walking backwards, each rule put on top keeps the live order of the rules before it.
    for table, chain, line in reversed(missing):
        try:
            header = lines.index("*" + table)
        except ValueError:
            new_sections.setdefault(table, []).insert(0, (chain, line))
            continue
        lines.insert(_top_of_chain(lines, header, chain, path), line)
    # New sections in the order their tables first come in the live rules.
    table_order = [rule[0] for rule in missing]
    for table in sorted(new_sections, key=table_order.index):
        table_rules = new_sections[table]
        chains = list(BUILTIN_CHAINS[table])
        chains += [chain for chain, _line in table_rules if chain not in chains]
        lines.append("*" + table)
        lines += [":%s %s [0:0]" % (chain, "ACCEPT" if chain in BUILTIN_CHAINS[table] else "-") for chain in chains]
        lines += [line for _chain, line in table_rules]
        lines.append("COMMIT")
    return "\n".join(lines) + "\n" if lines else ""
