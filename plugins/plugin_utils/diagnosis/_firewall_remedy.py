# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a firewall finding proved, carried into its remedy so the fix does not guess it again.

The diagnosis read the firewall with the readers of plugins/module_utils/firewall and named the
backend that decides, the nftables table and chain (or firewalld zone) whose rule or policy drops,
and the uplinks the verdict was computed for. The firewall role takes these as
firewall_backend, firewall_nftables_chains, firewall_firewalld_zone and firewall_forward_uplinks,
so it acts on what the diagnosis saw instead of re-detecting.
"""
from __future__ import annotations

import typing as t

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall.reach import ROLE_BACKEND
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.topology import End


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
