# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""firewall_facts: all backends of a host at once, as wg_facts reports them."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall.primitives import VERDICTS, masquerade_covers
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall.commands import FIREWALL_COMMANDS
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall.reach import firewall_facts
from ansible_collections.wgdoctor.wireguard.tests.unit.firewall.fw_fixtures import (
    LAB_UPLINK, LAB_WG, PORT, UPLINK, WG, firewalld_outputs, fixture, ran)

EMPTY_LEGACY = (0, "", "")


def facts(outputs, uplinks=(UPLINK,)):
    return firewall_facts(outputs, {WG: PORT}, [WG], list(uplinks))


def test_every_command_is_an_argv_list():
    assert FIREWALL_COMMANDS["nft"] == ["nft", "-j", "list", "ruleset"]
    assert all(isinstance(argv, list) and argv for argv in FIREWALL_COMMANDS.values())


def test_host_without_any_firewall_accepts():
    result = facts({key: None for key in FIREWALL_COMMANDS})
    assert result["backends"] == []
    assert result["interfaces"][WG]["input"]["verdict"] == "accept"
    assert result["forward"] == {"policy": "accept", "backend": None, "rule": None}
    assert result["masquerade"] == [] and result["errors"] == []


def test_empty_ruleset_and_empty_legacy_tables_are_no_firewall():
    result = facts({"nft": ran("nftables", "empty.json"), "iptables_legacy": EMPTY_LEGACY,
                    "iptables_nft": ran("iptables", "empty.nft.save")})
    assert result["backends"] == []


def test_iptables_nft_rules_are_reported_once_as_iptables_nft():
    result = facts({"nft": ran("iptables", "drop_before_accept.nft.nft.json"),
                    "iptables_nft": ran("iptables", "drop_before_accept.nft.save"), "iptables_legacy": EMPTY_LEGACY})
    assert result["backends"] == ["iptables-nft"]
    verdict = result["interfaces"][WG]["input"]
    assert (verdict["verdict"], verdict["backend"], verdict["rule"], verdict["counter"]) == (
        "drop", "iptables-nft", "-A INPUT -p udp -m udp --dport 51820 -j DROP", 3)


def test_iptables_nft_tables_recognised_even_without_iptables_nft_save():
    result = facts({"nft": ran("iptables", "policy_drop.nft.nft.json")})
    assert result["backends"] == []


def test_first_backend_that_blocks_decides():
    result = facts({"nft": ran("nftables", "reject_admin_prohibited.json"),
                    "iptables_legacy": ran("iptables", "accept.legacy.save")})
    assert result["backends"] == ["nftables", "iptables-legacy"]
    verdict = result["interfaces"][WG]["input"]
    assert (verdict["verdict"], verdict["backend"], verdict["reject_with"]) == ("reject", "nftables", "icmpx admin-prohibited")


def test_accepting_backends_name_the_rule_that_opened_the_port():
    result = facts({"nft": ran("nftables", "debian_default.json"), "iptables_legacy": ran("iptables", "accept.legacy.save")})
    verdict = result["interfaces"][WG]["input"]
    assert (verdict["verdict"], verdict["backend"]) == ("accept", "iptables-legacy")


def test_ufw_is_the_backend_named_and_its_row_the_rule():
    result = facts({"ufw": ran("ufw", "reject_port.status"), "iptables_nft": ran("ufw", "reject_port.save"),
                    "iptables_legacy": EMPTY_LEGACY})
    assert result["backends"] == ["ufw"]
    verdict = result["interfaces"][WG]["input"]
    assert (verdict["verdict"], verdict["backend"], verdict["rule"], verdict["counter"]) == (
        "reject", "ufw", "51820/udp REJECT IN Anywhere", 3)
    assert "ufw-user-input" in verdict["evidence"][0]


def test_ufw_default_deny_is_named_as_the_policy():
    result = facts({"ufw": ran("ufw", "default_deny.status"), "iptables_nft": ran("ufw", "default_deny.save")})
    verdict = result["interfaces"][WG]["input"]
    assert (verdict["verdict"], verdict["rule"]) == ("drop", None)
    assert "Default: deny (incoming)" in verdict["evidence"]


def test_ufw_route_rule_lets_the_tunnel_forward():
    result = facts({"ufw": ran("ufw", "allow_other_interface.status"), "iptables_nft": ran("ufw", "allow_other_interface.save")})
    assert result["interfaces"][WG]["forward"]["from_tunnel"] == "accept"
    assert result["interfaces"][WG]["forward"]["rule"] == "Anywhere on fwv1 ALLOW FWD Anywhere on wgF0"


def test_inactive_ufw_leaves_other_backends_in_charge():
    result = facts({"ufw": ran("ufw", "inactive.status"), "nft": ran("nftables", "policy_drop.json")})
    assert result["backends"] == ["nftables"]


def test_firewalld_zone_decides():
    result = firewall_facts(firewalld_outputs("wg_in_trusted_zone"), {LAB_WG: PORT}, [LAB_WG], [LAB_UPLINK])
    assert result["backends"] == ["firewalld"] and result["errors"] == []
    verdict = result["interfaces"][LAB_WG]["input"]
    assert (verdict["verdict"], verdict["table"], verdict["rule"]) == ("accept", "public", "port 51820/udp")
    assert result["masquerade"][0]["rule"] == "zone public: masquerade: yes"


def test_firewalld_without_its_default_zone_is_unknown_for_an_unbound_uplink():
    outputs = firewalld_outputs("default_closed")
    del outputs["firewalld_default_zone"]
    result = firewall_facts(outputs, {LAB_WG: PORT}, [LAB_WG], [LAB_UPLINK])
    assert result["interfaces"][LAB_WG]["input"]["verdict"] == "unknown"
    assert result["errors"] == ["firewalld: default zone unknown is not among the listed zones"]


def test_firewalld_not_running_is_not_a_backend():
    result = facts({"firewalld_state": (252, "not running\n", "")})
    assert result["backends"] == [] and result["errors"] == []


def test_docker_forward_drop_is_reported_for_the_tunnel():
    result = facts({"iptables_nft": ran("iptables", "docker_like.nft.save"), "nft": ran("iptables", "docker_like.nft.nft.json")})
    forward = result["interfaces"][WG]["forward"]
    assert (forward["verdict"], forward["backend"], forward["direction"]) == ("drop", "iptables-nft", "from wgF0")
    assert result["forward"] == {"policy": "drop", "backend": "iptables-nft", "rule": None}


def test_forward_allowed_out_but_replies_dropped_names_the_replies():
    rules = ("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n"
             "[0:0] -A FORWARD -i wgF0 -j ACCEPT\nCOMMIT\n")
    forward = facts({"iptables_legacy": (0, rules, "")})["interfaces"][WG]["forward"]
    assert (forward["verdict"], forward["direction"], forward["from_tunnel"]) == ("drop", "replies to wgF0", "accept")


def test_masquerade_present_and_covering_the_tunnel_subnet():
    result = facts({"nft": ran("nftables", "forward_masquerade.json")})
    assert masquerade_covers(result["masquerade"], "10.99.0.0/24", UPLINK)["target"] == "masquerade"
    assert masquerade_covers(result["masquerade"], "10.99.0.0/24", "eth1") is None
    assert masquerade_covers(result["masquerade"], "10.97.0.0/24", UPLINK) is None


def test_docker_masquerade_does_not_cover_the_tunnel():
    result = facts({"iptables_legacy": ran("iptables", "docker_like.legacy.save")})
    assert result["masquerade"][0]["source"] == "172.17.0.0/16"
    assert masquerade_covers(result["masquerade"], "10.99.0.0/24", UPLINK) is None


def test_plain_iptables_save_is_attributed_by_its_header():
    result = facts({"iptables": ran("iptables", "drop_before_accept.legacy.save")})
    assert result["backends"] == ["iptables-legacy"]


def test_ip6tables_answer_the_ipv6_question():
    result = facts({"iptables_legacy": ran("iptables", "drop_ipv6.legacy.save"),
                    "ip6tables_legacy": ran("iptables", "drop_ipv6.legacy.save6")})
    assert result["interfaces"][WG]["input"]["verdict"] == "accept"
    assert result["interfaces"][WG]["input_ipv6"]["verdict"] == "drop"


@pytest.mark.parametrize("ip6tables", [None, (1, "", "ip6tables-legacy-save: unable to initialize table 'filter'"), (127, "", "")],
                         ids=["absent", "failed", "not-found"])
def test_missing_ip6tables_output_leaves_ipv6_unknown_not_open(ip6tables):
    result = facts({"iptables_legacy": ran("iptables", "jump_user_chain.legacy.save"), "ip6tables_legacy": ip6tables})
    assert result["interfaces"][WG]["input"]["verdict"] == "accept"
    ipv6 = result["interfaces"][WG]["input_ipv6"]
    assert (ipv6["verdict"], ipv6["backend"]) == ("unknown", "iptables-legacy")
    assert ipv6["evidence"] == ["ip6tables-legacy-save: %s" % ("no output (not installed?)" if ip6tables is None else "command failed")]


def test_empty_but_successful_ip6tables_output_is_an_empty_ruleset():
    result = facts({"iptables_legacy": ran("iptables", "drop_before_accept.legacy.save"), "ip6tables_legacy": (0, "", "")})
    assert result["interfaces"][WG]["input"]["verdict"] == "drop"
    assert result["interfaces"][WG]["input_ipv6"]["verdict"] == "accept"


def test_other_uplink_with_a_different_verdict_is_mentioned():
    result = facts({"nft": ran("nftables", "other_interface.json")}, uplinks=(UPLINK, "eth9"))
    verdict = result["interfaces"][WG]["input"]
    assert verdict["verdict"] == "drop"
    assert verdict["conditional"][-1].startswith("arriving on eth9 instead: accept")


def test_not_json_is_unknown_with_a_reason():
    result = facts({"nft": (0, "table inet filter {", "")})
    assert result["backends"] == ["nftables"]
    assert result["interfaces"][WG]["input"]["verdict"] == "unknown"
    assert result["errors"][0].startswith("nft: nft output is not JSON")


def test_failed_command_is_unknown_with_its_error():
    result = facts({"nft": (1, "", "Error: Operation not permitted (you must be root)\n")})
    assert result["interfaces"][WG]["input"]["verdict"] == "unknown"
    assert result["errors"] == ["nft: command failed (rc=1): Error: Operation not permitted (you must be root)"]


def test_truncated_iptables_save_is_unknown_not_accept():
    truncated = fixture("iptables", "policy_drop.legacy.save").split("COMMIT")[0].rsplit("\n", 3)[0]
    result = facts({"iptables_legacy": (0, truncated, "")})
    assert result["interfaces"][WG]["input"]["verdict"] == "unknown"
    assert any("no COMMIT" in error for error in result["errors"])


def test_blocking_backend_beats_an_unreadable_one():
    result = facts({"nft": (0, "garbage", ""), "iptables_legacy": ran("iptables", "policy_drop.legacy.save")})
    assert result["interfaces"][WG]["input"]["verdict"] == "drop"


def test_interface_without_listen_port_has_no_input_verdict():
    result = firewall_facts({}, {}, [WG], [UPLINK])
    assert result["interfaces"][WG]["input"] is None


TEXT = st.one_of(st.text(max_size=300), st.sampled_from([
    fixture("nftables", "accept.json")[:200], fixture("ufw", "allow_other_interface.status"), "running\n",
    "Status: active\n--\n1,:2/udp  ALLOW IN  Anywhere\n", "public (default)\n  ports: x-y/udp\n  rich rules: \n\trule port port=\"a-b\" drop\n",
    "*filter\n:INPUT DROP [0:0]\n-A INPUT -p udp --dport abc -j ACCEPT\n-A INPUT -m multiport --dports 1:x -j DROP\nCOMMIT\n",
    fixture("iptables", "docker_like.legacy.save")[:400], "{}", '{"nftables": [1, {"rule": 2}]}',
    '{"nftables": [{"rule": {"family": "inet", "table": "t", "chain": "c", "expr": [{"match": null}]}}]}',
    '{"nftables": [{"chain": {"family": "inet", "table": "t", "name": "c", "hook": "input", "type": "filter", "prio": "x"}},'
    ' {"rule": {"family": "inet", "table": "t", "chain": "c", "expr": [{"jump": {"target": "c"}}]}}]}',
]))
RESULT = st.one_of(st.none(), st.tuples(st.sampled_from([0, 0, 0, 1, 252]), TEXT, st.text(max_size=50)))


@settings(max_examples=300, deadline=None)
@given(st.fixed_dictionaries({key: RESULT for key in FIREWALL_COMMANDS}))
def test_no_output_whatsoever_raises(outputs):
    result = facts(outputs)
    assert result["interfaces"][WG]["input"]["verdict"] in VERDICTS
    assert result["interfaces"][WG]["forward"]["verdict"] in VERDICTS
    # Garbage is handled by the readers themselves, not by the last-resort guard.
    assert not [error for error in result["errors"] if "internal error" in error]


def test_jump_loop_is_unknown_not_a_hang():
    ruleset = ('{"nftables": [{"chain": {"family": "inet", "table": "t", "name": "c", "hook": "input", "type": "filter",'
               ' "prio": 0, "policy": "accept"}}, {"rule": {"family": "inet", "table": "t", "chain": "c", "expr": [{"jump": {"target": "c"}}]}}]}')
    result = facts({"nft": (0, ruleset, "")})
    assert result["interfaces"][WG]["input"]["verdict"] == "unknown"
    assert "deeper than 64" in result["interfaces"][WG]["input"]["evidence"][0]
