# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the controller adds to `ansible_facts.wireguard`: the firewall verdicts, and when the facts arrived.

wg_facts runs the firewall commands on the host and returns their output with the question's
inputs (listen ports, uplinks, tunnel source addresses) as `firewall_input`. Its action plugin
answers "does UDP to port P on interface I reach the socket" here, with the same readers the
other modules use on the targets (module_utils/firewall/reach.py), and puts the answer where
the facts schema has it: `firewall` (backends, forward policy, masquerade) and each interface's
`firewall` (input and forward verdicts). The readers of five backends then ship to no host
with wg_facts.
"""
from __future__ import annotations

import typing as t

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall import reach

Facts = t.Dict[str, t.Any]


def stamp_arrival(facts: Facts, now: float) -> Facts:
    """The controller's clock when the facts arrived, beside the host's own (`clock.controller_epoch`): ends read
    minutes apart on a big fleet are compared by their offsets from it, not by their raw clocks."""
    clock = facts.get("clock")
    if isinstance(clock, dict):
        clock["controller_epoch"] = round(now, 2)
    return facts


def attach_firewall(facts: Facts, firewall_input: t.Optional[t.Mapping[str, t.Any]]) -> Facts:
    """`facts` with its firewall verdicts, as wg_facts returned them before they were computed here.

    Every problem becomes an entry of `facts["errors"]` (firewall: ...), never a traceback; `firewall`
    stays null when the rules could not be read at all.
    """
    errors = facts.setdefault("errors", [])
    if not isinstance(firewall_input, t.Mapping) or not isinstance(firewall_input.get("outputs"), t.Mapping):
        errors.append("firewall: the module returned no firewall command output")
        return facts
    listen_ports = dict(firewall_input.get("listen_ports") or {})
    try:
        firewall = reach.firewall_facts(firewall_input["outputs"], listen_ports, sorted(listen_ports),
                                        list(firewall_input.get("uplinks") or []), dict(firewall_input.get("tunnel_sources") or {}))
    except Exception as exc:  # pylint: disable=broad-except
        # Only the type: the message of an unexpected error could quote a rule.
        errors.append("firewall: unexpected %s while reading the rules" % type(exc).__name__)
        return facts
    errors.extend("firewall: %s" % error for error in firewall.get("errors") or [])
    interfaces = facts.get("interfaces") or {}
    for name, verdicts in (firewall.get("interfaces") or {}).items():
        if name in interfaces:
            interfaces[name]["firewall"] = verdicts
    facts["firewall"] = {key: value for key, value in firewall.items() if key not in ("interfaces", "errors")}
    return facts
