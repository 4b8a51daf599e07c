"""A firewall finding's remedy carries what the diagnosis proved: backend, nftables chain, firewalld zone, uplinks.

The role then acts on them instead of detecting again (docs/roles/firewall.md); what the diagnosis
did not prove (an unknown verdict) is not passed, so the role detects as it would by hand.
"""
from __future__ import annotations

import os
import sys
import typing as t

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "remediation"))

from test_remedy_scope import NOW, PORT, diagnose, full_tunnel_gateway, iface, only, probe, renamed_pair  # noqa: E402


def _blocked_input(verdict: dict[str, t.Any]) -> dict[str, t.Any]:
    facts = renamed_pair()
    iface(facts, "server")["firewall"]["input"] = dict({"conditional": [], "evidence": [], "in_interface": "ens3"}, **verdict)
    facts["server"]["uplinks"] = [{"interface": "ens3", "family": 4, "via": "198.51.100.1"},
                                  {"interface": "ens4", "family": 6, "via": "fe80::1"}]
    return only(diagnose(facts, [probe("timeout")], [], {}, NOW), "udp_blocked_host_firewall")["remedy"]["vars"]


def test_nftables_drop_names_the_backend_table_chain_and_uplinks():
    proven = _blocked_input({"verdict": "drop", "backend": "nftables", "table": "inet filter", "chain": "input",
                             "rule": "udp dport %d drop" % PORT})
    assert proven == {"firewall_interface": "wgsrv", "firewall_port": PORT, "firewall_backend": "nftables",
                      "firewall_nftables_chains": ["inet filter input"], "firewall_forward_uplinks": ["ens3", "ens4"]}


def test_firewalld_drop_names_the_zone_that_decided():
    proven = _blocked_input({"verdict": "reject", "backend": "firewalld", "table": "public", "chain": "filter_IN_public",
                             "rule": "target: %%REJECT%%"})
    assert proven["firewall_backend"] == "firewalld"
    assert proven["firewall_firewalld_zone"] == "public"
    assert "firewall_nftables_chains" not in proven


@pytest.mark.parametrize("backend", ["iptables-nft", "iptables-legacy"])
def test_both_iptables_flavours_are_the_roles_iptables(backend):
    proven = _blocked_input({"verdict": "drop", "backend": backend, "table": "filter", "chain": "INPUT", "rule": None})
    assert proven["firewall_backend"] == "iptables"
    assert "firewall_nftables_chains" not in proven


def test_an_unknown_verdict_proves_no_backend():
    facts = full_tunnel_gateway(renamed_pair())
    iface(facts, "server")["firewall"]["forward"] = {"verdict": "unknown", "backend": "nftables", "table": "inet filter",
                                                     "chain": "forward", "rule": None}
    facts["server"]["uplinks"] = [{"interface": "ens3", "family": 4, "via": "198.51.100.1"}]
    proven = only(diagnose(facts, [probe("ok")], [], {}, NOW), "nat_masquerade_missing")["remedy"]["vars"]
    assert "firewall_backend" not in proven
    assert "firewall_nftables_chains" not in proven
    assert proven["firewall_forward_uplinks"] == ["ens3"]


def test_forward_drop_in_nftables_names_the_forward_chain():
    facts = full_tunnel_gateway(renamed_pair())
    iface(facts, "server")["firewall"]["forward"] = {"verdict": "drop", "backend": "nftables", "table": "inet filter",
                                                     "chain": "forward", "rule": None}
    facts["server"]["uplinks"] = [{"interface": "ens3", "family": 4, "via": "198.51.100.1"}]
    proven = only(diagnose(facts, [probe("ok")], [], {}, NOW), "forward_chain_blocks")["remedy"]["vars"]
    assert proven["firewall_backend"] == "nftables"
    assert proven["firewall_nftables_chains"] == ["inet filter forward"]
    assert proven["firewall_forward_uplinks"] == ["ens3"]
    assert "firewall_firewalld_zone" not in proven  # forwarding gets the role's own zone, never the arrival zone
