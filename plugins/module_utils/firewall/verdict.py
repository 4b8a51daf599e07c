# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The firewall verdict contract: what the readers produce and the diagnosis reads.

These types live beside their producers, not in contracts.py, because every module that
reads a firewall ships this file to the target (AnsiballZ ships each imported file whole):
the readers need these few types, not the facts, findings and report types of the rest of
the contract. contracts.py re-exports them, so the controller sees one contract.
Like contracts.py, this imports nothing but ``typing`` (target Python 3.9+).
"""
from __future__ import annotations

import typing as t

VerdictName = t.Literal["accept", "drop", "reject", "unknown"]


class _FirewallVerdictBase(t.TypedDict):
    verdict: VerdictName
    backend: str | None  # nftables, iptables-legacy, iptables-nft, ufw, firewalld; None: no backend
    table: str | None  # the firewalld zone for firewalld
    chain: str | None
    rule: str | None  # the rule text as the backend prints it; None: the chain policy decided
    counter: int | None
    position: int | None
    reject_with: str | None
    conditional: list[str]  # rules that might decide but cannot be evaluated from here
    evidence: list[str]


class FirewallVerdict(_FirewallVerdictBase, total=False):
    """firewall.primitives.make_verdict, plus what the reach question adds on top."""
    in_interface: str | None  # input: the uplink the verdict was computed for
    direction: str  # forward: "from wg0" or "replies to wg0", whichever decides
    from_tunnel: VerdictName  # forward: NEW packets leaving the tunnel
    replies_to_tunnel: VerdictName  # forward: ESTABLISHED replies coming back
    new_to_tunnel: VerdictName  # forward: NEW packets from the uplink into the tunnel


class _InterfaceFirewallBase(t.TypedDict):
    input: FirewallVerdict | None  # None when the interface has no listen port
    input_ipv6: FirewallVerdict | None
    forward: FirewallVerdict


class InterfaceFirewall(_InterfaceFirewallBase, total=False):
    """Facts of an older wg_facts have no input_reply: the diagnosis then asks nothing of an initiator's firewall."""
    # A reply (conntrack established) to what the interface sent from its listen port: the handshake
    # response an initiator waits for. None when the interface has no listen port.
    input_reply: FirewallVerdict | None
    input_reply_ipv6: FirewallVerdict | None


class ForwardSummary(t.TypedDict):
    policy: str | None
    backend: str | None
    rule: str | None


class MasqueradeEntry(t.TypedDict):
    backend: str
    source: str | None  # "!"-prefixed when negated
    out_interface: str | None
    rule: str
    counter: int | None
    chain: str
    target: str


class FirewallSummary(t.TypedDict):
    backends: list[str]
    forward: ForwardSummary
    masquerade: list[MasqueradeEntry]
