# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The reply question (issue #10): does a handshake RESPONSE reach an initiator's listen port?

An initiator sends from its listen port, so the responder's answer comes back to that port as a
packet of a connection the initiator opened: conntrack state established. A firewall that accepts
established traffic first (the usual stateful ruleset) lets it in however it treats new packets to
the port; a stateless drop of the port discards it. Every reader answers the question; the facts
carry it per interface as `input_reply` (and `input_reply_ipv6`).
"""
from __future__ import annotations

import pytest

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall import firewalld as fw_firewalld
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall import iptables as fw_iptables
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall import nftables as fw_nftables
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall import ufw as fw_ufw
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall.primitives import probe_packet
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall.reach import firewall_facts
from ansible_collections.wgdoctor.wireguard.tests.unit.firewall.fw_fixtures import (
    LAB_UPLINK, LAB_WG, PORT, UPLINK, WG, firewalld_outputs, fixture, ran)

EMPTY_LEGACY = (0, "", "")


def test_the_reply_packet_is_established():
    packet = probe_packet(PORT, in_interface=UPLINK, ct_state="established")
    assert (packet["ct_state"], packet["dport"], packet["l4proto"], packet["iif"]) == ("established", PORT, "udp", UPLINK)
    assert probe_packet(PORT)["ct_state"] == "new"


# ---------------------------------------------------------------- nftables
def nft(name, ct_state):
    parsed = fw_nftables.parse_ruleset(fixture("nftables", name + ".json"))
    return fw_nftables.udp_input_verdict(parsed, PORT, UPLINK, ct_state=ct_state)


def test_nftables_stateless_drop_drops_the_reply_too():
    verdict = nft("drop_before_accept", "established")
    assert (verdict["verdict"], verdict["table"], verdict["chain"], verdict["rule"], verdict["counter"]) == (
        "drop", "inet filter", "input", "udp dport 51820 counter drop", 3)


@pytest.mark.parametrize("name", ["established_only", "policy_drop"])
def test_nftables_established_first_admits_the_reply_it_drops_new(name):
    assert nft(name, "new")["verdict"] == "drop"
    reply = nft(name, "established")
    assert reply["verdict"] == "accept" and reply["rule"].startswith("ct state established,related")


# ---------------------------------------------------------------- iptables (legacy and nft print the same)
def ipt(name, ct_state):
    parsed = fw_iptables.parse_save(fixture("iptables", name + ".save"))
    return fw_iptables.udp_input_verdict(parsed, PORT, UPLINK, ct_state=ct_state)


@pytest.mark.parametrize("variant", ["legacy", "nft"])
def test_iptables_stateless_drop_drops_the_reply_too(variant):
    verdict = ipt("drop_before_accept." + variant, "established")
    assert (verdict["verdict"], verdict["chain"], verdict["rule"]) == (
        "drop", "INPUT", "-A INPUT -p udp -m udp --dport 51820 -j DROP")


@pytest.mark.parametrize("variant", ["legacy", "nft"])
def test_iptables_established_first_admits_the_reply_it_drops_new(variant):
    assert ipt("established_only." + variant, "new")["verdict"] == "drop"
    reply = ipt("established_only." + variant, "established")
    assert reply["verdict"] == "accept" and "ESTABLISHED" in reply["rule"]


def test_iptables_negated_state_match_reads_the_reply():
    rules = ("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
             "[0:0] -A INPUT -p udp -m conntrack ! --ctstate ESTABLISHED,RELATED -m udp --dport 51820 -j DROP\nCOMMIT\n")
    parsed = fw_iptables.parse_save(rules)
    assert fw_iptables.udp_input_verdict(parsed, PORT, UPLINK)["verdict"] == "drop"
    assert fw_iptables.udp_input_verdict(parsed, PORT, UPLINK, ct_state="established")["verdict"] == "accept"


# ---------------------------------------------------------------- ufw, firewalld
def test_ufw_status_alone_says_replies_pass_its_before_rules():
    status = fw_ufw.parse_status(fixture("ufw", "default_deny.status"))
    verdict = fw_ufw.udp_reply_verdict(status)
    assert (verdict["verdict"], verdict["backend"], verdict["chain"]) == ("accept", "ufw", "ufw-before-input")


def test_firewalld_accepts_established_before_any_zone():
    outputs = firewalld_outputs("default_closed")
    zones = fw_firewalld.parse_zones(outputs["firewalld_zones"][1],
                                     default_zone=fw_firewalld.parse_default_zone(outputs["firewalld_default_zone"][1]))
    active = fw_firewalld.parse_active_zones(outputs["firewalld_active_zones"][1])
    assert fw_firewalld.udp_input_verdict(zones, PORT, LAB_UPLINK, active)["verdict"] == "reject"
    verdict = fw_firewalld.udp_reply_verdict(PORT, LAB_UPLINK)
    assert (verdict["verdict"], verdict["backend"], verdict["chain"]) == ("accept", "firewalld", "filter_INPUT")


# ---------------------------------------------------------------- the facts
def facts(outputs):
    return firewall_facts(outputs, {WG: PORT}, [WG], [UPLINK])["interfaces"][WG]


def test_facts_carry_a_dropped_reply_with_its_rule():
    firewall = facts({"nft": ran("nftables", "drop_before_accept.json")})
    reply = firewall["input_reply"]
    assert (reply["verdict"], reply["backend"], reply["table"], reply["chain"], reply["counter"], reply["in_interface"]) == (
        "drop", "nftables", "inet filter", "input", 3, UPLINK)
    assert firewall["input_reply_ipv6"]["verdict"] == "drop"


@pytest.mark.parametrize("outputs", [
    {"nft": ran("nftables", "established_only.json")},
    {"iptables_legacy": ran("iptables", "established_only.legacy.save")},
    {"iptables_nft": ran("iptables", "established_only.nft.save"), "nft": ran("iptables", "established_only.nft.nft.json"),
     "iptables_legacy": EMPTY_LEGACY},
    {"ufw": ran("ufw", "default_deny.status"), "iptables_nft": ran("ufw", "default_deny.save")},
], ids=["nftables", "iptables-legacy", "iptables-nft", "ufw"])
def test_facts_of_a_stateful_host_accept_the_reply_while_new_packets_are_dropped(outputs):
    firewall = facts(outputs)
    assert firewall["input"]["verdict"] == "drop"
    assert firewall["input_reply"]["verdict"] == "accept", firewall["input_reply"]


def test_facts_of_firewalld_accept_the_reply():
    firewall = firewall_facts(firewalld_outputs("default_closed"), {LAB_WG: PORT}, [LAB_WG], [LAB_UPLINK])["interfaces"][LAB_WG]
    assert firewall["input"]["verdict"] == "reject" and firewall["input_reply"]["verdict"] == "accept"


def test_facts_without_a_listen_port_have_no_reply_question():
    firewall = firewall_facts({"nft": ran("nftables", "drop_before_accept.json")}, {WG: None}, [WG], [UPLINK])["interfaces"][WG]
    assert firewall["input_reply"] is None and firewall["input_reply_ipv6"] is None


def test_facts_without_a_firewall_accept_the_reply():
    assert facts({})["input_reply"]["verdict"] == "accept"
