"""The nftables plan of the firewall role: which host chains get which accepts, computed by the reader in Python."""
from __future__ import annotations

import json
import typing as t

import pytest

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall import nft_plan
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall.nftables import parse_ruleset

COMMENT = "wgdoctor"


def params(**over: t.Any) -> nft_plan.Params:
    base: nft_plan.Params = {"interface": "wgsrv", "port": 51999, "comment": COMMENT, "forward": False,
                             "forward_sources": [], "forward_uplinks": [], "masquerade_source": "", "masquerade_interface": ""}
    base.update(over)  # type: ignore[typeddict-item]
    return base


def chain(family, table, name, hook=None, policy="accept"):
    body = {"family": family, "table": table, "name": name}
    if hook:
        body.update({"type": "filter", "hook": hook, "prio": 0, "policy": policy})
    return {"chain": body}


def rule(family, table, chain_name, exprs, comment=None, handle=1):
    body = {"family": family, "table": table, "chain": chain_name, "handle": handle, "expr": exprs}
    if comment:
        body["comment"] = comment
    return {"rule": body}


DROP = [{"drop": None}]
ACCEPT_SSH = [{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 22}}, {"accept": None}]


def ruleset(*items: dict) -> dict:
    tables = []
    for item in items:
        body = next(iter(item.values()))
        key = {"family": body["family"], "name": body["table"]}
        if {"table": key} not in tables:
            tables.append({"table": key})
    return parse_ruleset(json.dumps({"nftables": [{"metainfo": {"json_schema_version": 1}}] + tables + list(items)}))


HOST = ruleset(
    chain("inet", "filter", "input", "input", policy="drop"),
    rule("inet", "filter", "input", ACCEPT_SSH),
    chain("inet", "filter", "forward", "forward", policy="drop"),
    chain("inet", "filter", "output", "output"),
    # Docker's table exists only at runtime and may drop.
    chain("ip", "docker_like", "forward", "forward", policy="drop"),
    # iptables-nft's chains belong to iptables.
    chain("ip", "filter", "INPUT", "input", policy="drop"),
    # An accept-only chain with policy accept cannot drop anything.
    chain("inet", "open", "input", "input"),
    rule("inet", "open", "input", ACCEPT_SSH),
)
BOOT = {"inet filter", "inet open", "ip filter"}


def test_input_accept_goes_into_the_host_chain_that_drops_and_nowhere_else():
    plan = nft_plan.plan_chains(HOST, BOOT, params())
    assert [nft_plan.chain_key(w) for w in plan["chains"]] == ["inet filter input"]
    assert [r["line"] for r in plan["rules"]] == ['inet filter input: udp dport 51999 accept comment "wgdoctor"']
    assert plan["runtime_only"] == [] and plan["stale"] == []


def test_forward_opens_only_the_tunnels_subnets_and_replies_and_leaves_runtime_tables_alone():
    plan = nft_plan.plan_chains(HOST, BOOT, params(forward=True, forward_sources=["10.77.0.0/24", "fd77::/64"],
                                                   forward_uplinks=["ens3"]))
    assert [nft_plan.chain_key(w) for w in plan["runtime_only"]] == ["ip docker_like forward"]
    forward = [r["statement"] for r in plan["rules"] if r["chain"] == "forward"]
    assert forward == ['iifname "wgsrv" oifname "ens3" ip saddr 10.77.0.0/24 accept',
                       'iifname "wgsrv" oifname "ens3" ip6 saddr fd77::/64 accept',
                       'iifname "ens3" oifname "wgsrv" ct state established,related accept']
    assert [r["statement"] for r in plan["stale"]] == ['iifname "wgsrv" accept', 'oifname "wgsrv" accept']


def test_an_ip_table_gets_only_rules_of_its_family():
    parsed = ruleset(chain("ip", "host", "forward", "forward", policy="drop"))
    forward = params(forward=True, forward_sources=["10.77.0.0/24", "fd77::/64"], forward_uplinks=["ens3"])
    plan = nft_plan.plan_chains(parsed, {"ip host"}, forward)
    assert [r["statement"] for r in plan["rules"]] == ['iifname "wgsrv" oifname "ens3" ip saddr 10.77.0.0/24 accept',
                                                       'iifname "ens3" oifname "wgsrv" ct state established,related accept']


def test_our_own_accepts_do_not_make_a_chain_droppy_but_a_jump_does():
    ours = ruleset(chain("inet", "t", "input", "input"), rule("inet", "t", "input", [{"drop": None}], comment=COMMENT))
    assert nft_plan.plan_chains(ours, {"inet t"}, params())["chains"] == []
    jump = ruleset(chain("inet", "t", "input", "input"), chain("inet", "t", "user"),
                   rule("inet", "t", "input", [{"jump": {"target": "user"}}]))
    assert len(nft_plan.plan_chains(jump, {"inet t"}, params())["chains"]) == 1


def test_without_a_known_boot_table_every_droppy_chain_is_runtime_only():
    plan = nft_plan.plan_chains(HOST, set(), params())
    assert plan["chains"] == [] and plan["rules"] == []
    assert [nft_plan.chain_key(w) for w in plan["runtime_only"]] == ["inet filter input"]


LISTING = """table inet filter {
\tchain forward {
\t\ttype filter hook forward priority filter; policy drop;
\t\tiifname "wgsrv" accept comment "wgdoctor" # handle 7
\t\tiifname "ens3" oifname "wgsrv" ct state established,related accept comment "wgdoctor" # handle 8
\t\tct state established accept # handle 2
\t}
}
"""


def test_compare_finds_what_is_missing_and_the_stale_catch_all_by_handle():
    plan = nft_plan.plan_chains(HOST, BOOT, params(forward=True, forward_sources=["10.77.0.0/24"], forward_uplinks=["ens3"]))
    changes = nft_plan.compare(plan, {"inet filter forward": LISTING, "inet filter input": ""}, COMMENT)
    assert [r["line"] for r in changes["missing"]] == [
        'inet filter input: udp dport 51999 accept comment "wgdoctor"',
        'inet filter forward: iifname "wgsrv" oifname "ens3" ip saddr 10.77.0.0/24 accept comment "wgdoctor"']
    assert [(r["statement"], r["handle"]) for r in changes["stale"]] == [('iifname "wgsrv" accept', "7")]
    assert changes["before"] == ['inet filter forward: iifname "wgsrv" accept comment "wgdoctor"',
                                 'inet filter forward: iifname "ens3" oifname "wgsrv" ct state established,related accept comment "wgdoctor"']
    assert changes["after"] == [
        'inet filter forward: iifname "wgsrv" oifname "ens3" ip saddr 10.77.0.0/24 accept comment "wgdoctor"',
        'inet filter input: udp dport 51999 accept comment "wgdoctor"',
        'inet filter forward: iifname "ens3" oifname "wgsrv" ct state established,related accept comment "wgdoctor"']


def test_nothing_to_do_when_every_rule_is_there():
    plan = nft_plan.plan_chains(HOST, BOOT, params())
    listing = '\t\tudp dport 51999 accept comment "wgdoctor" # handle 9\n\t\ttcp dport 22 accept # handle 3\n'
    changes = nft_plan.compare(plan, {"inet filter input": listing}, COMMENT)
    assert changes["missing"] == [] and changes["stale"] == []
    assert changes["before"] == changes["after"]


def test_drop_in_and_masquerade_table_text():
    p = params(masquerade_source="10.77.0.0/24", masquerade_interface="ens3")
    plan = nft_plan.plan_chains(HOST, BOOT, p)
    text = nft_plan.drop_in_text(plan, p, "/etc/nftables.conf")
    assert 'insert rule inet filter input udp dport 51999 accept comment "wgdoctor"\n' in text
    assert "table ip wgdoctor_nat_wgsrv {\n" in text
    assert '\t\tip saddr 10.77.0.0/24 oifname "ens3" masquerade comment "wgdoctor"\n' in text
    assert nft_plan.nat_present(p, "table ip wgdoctor_nat_wgsrv {\n" + text) is True
    assert nft_plan.nat_present(p, None) is False


def test_the_include_line_is_added_once_at_the_end():
    once = nft_plan.conf_with_include("flush ruleset\ntable inet filter {\n}", "/etc/nftables.d/")
    assert once.endswith('}\ninclude "/etc/nftables.d/*.nft"\n')
    assert nft_plan.conf_with_include(once, "/etc/nftables.d") == once


def test_boot_tables_from_the_listing_and_garbage_is_a_plan_error():
    listing = json.dumps({"nftables": [{"metainfo": {}}, {"table": {"family": "inet", "name": "filter", "handle": 1}}]})
    assert nft_plan.boot_tables(listing) == {"inet filter"}
    with pytest.raises(nft_plan.PlanError, match="nft -j list tables"):
        nft_plan.boot_tables("table inet filter")


def test_proven_chains_the_plan_does_not_change_are_named_with_the_reason():
    plan = nft_plan.plan_chains(HOST, BOOT, params(forward=True, forward_sources=["10.77.0.0/24"], forward_uplinks=["ens3"]))
    assert nft_plan.unproven_chains(plan, ["inet filter input", "ip docker_like forward", "inet gone input"]) == [
        ("ip docker_like forward", "its table is not declared by the boot config: another tool creates it at runtime"),
        ("inet gone input", "it no longer is a filter base chain that could drop this traffic")]


@pytest.mark.parametrize("bad,word", [
    ({"interface": 'wg0" accept'}, "interface"),
    ({"forward_uplinks": ["eth0;"]}, "forward_uplinks"),
    ({"comment": 'x" drop'}, "comment"),
    ({"port": 0}, "port"),
    ({"forward_sources": ["10.0.0.1"], "forward": True, "forward_uplinks": ["ens3"]}, "prefix length"),
    ({"masquerade_source": "10.0.0.0/24"}, "set both or neither"),
    ({"forward": True}, "nothing is opened for all traffic"),
])
def test_bad_input_is_named(bad, word):
    with pytest.raises(nft_plan.PlanError, match=word):
        nft_plan.check_params(params(**bad))
