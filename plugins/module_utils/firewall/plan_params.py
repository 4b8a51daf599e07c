# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every firewall plan checks of the role's variables before any of them reaches a rule or a command.

One home for the checks nft_plan (wg_firewall) and firewalld_plan (wg_firewalld) share: interface names,
the port, the tunnel's subnets, and the options that only make sense together. Each plan adds its own
(the comment's characters, firewalld's zone name).
"""
from __future__ import annotations

import ipaddress
import re
import typing as t

INTERFACE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")


class PlanError(ValueError):
    """Input the plan cannot be made from; the message names the option and the value."""


def check_common(params: t.Mapping[str, t.Any], names: t.Sequence[tuple[str, t.Any]]) -> None:
    """`names`: (option, interface name) pairs the plan puts into rules. Raises PlanError."""
    for option, name in names:
        if not isinstance(name, str) or not INTERFACE_NAME.match(name):
            raise PlanError("%s: %r is not an interface name (1-15 of A-Z a-z 0-9 _ . -)" % (option, name))
    if not 1 <= int(params["port"]) <= 65535:
        raise PlanError("port: %r is not a UDP port (1-65535)" % params["port"])
    cidrs = [("forward_sources", s) for s in params.get("forward_sources") or []]
    if params.get("masquerade_source"):
        cidrs.append(("masquerade_source", params["masquerade_source"]))
    for option, cidr in cidrs:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except (TypeError, ValueError):
            raise PlanError("%s: %r is not a subnet in CIDR notation" % (option, cidr))
        if "/" not in str(cidr):
            raise PlanError("%s: %r has no prefix length" % (option, cidr))
    if bool(params.get("masquerade_source")) != bool(params.get("masquerade_interface")):
        raise PlanError("masquerade_source and masquerade_interface come together: set both or neither")
    if params.get("forward") and not (params.get("forward_sources") and params.get("forward_uplinks")):
        raise PlanError("forward needs forward_sources and forward_uplinks: nothing is opened for all traffic instead")
