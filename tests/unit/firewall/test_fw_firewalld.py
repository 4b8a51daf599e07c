# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""firewalld: every verdict against what a real probe met on a lab server running firewalld 1.3.3.

The fixtures are recordings (fixtures/record_firewalld.py): per scenario the four firewall-cmd
outputs wg_facts reads and what happened to three UDP datagrams sent to 51820 from the lab
client (through the router's NAT, so the server saw the router's address as the source).
"""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall import firewalld as fw_firewalld
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall.primitives import VERDICTS
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall.reach import firewall_facts
from ansible_collections.wgdoctor.wireguard.tests.unit.firewall.fw_fixtures import (
    LAB_UPLINK, LAB_WG, PORT, expected_verdict, firewalld_outputs, firewalld_probes, fixture)

PROBES = firewalld_probes()
RUNNING = sorted(name for name, probe in PROBES.items() if probe["rc"]["state"] == 0)
# What the ICMP error the sender read says about the REJECT that sent it.
ICMP_OF_REJECT = {"icmpx admin-prohibited": "type 3 code 13", "icmp-port-unreachable": "type 3 code 3"}
# The port is redirected before filtering: no filter verdict, the packet still never reaches 51820.
REDIRECTED = {"forward_port_elsewhere"}
# Whether these accept or not depends on the sender's address, which wg_facts does not know.
SOURCE_DEPENDENT = {"rich_accept_source_match", "rich_drop_source_not", "source_zone_trusted",
                    "source_zone_drop_over_open_interface"}
# These scenarios did not save --list-all-policies; firewalld 1.3.3 on the image's configuration lists one policy,
# allow-host-ipv6 (ICMPv6 only), as the host-policy recordings of the same image show.
IMAGE_POLICIES = fw_firewalld.parse_policies(fixture("firewalld_host_policies", "zone_open_no_policy.policies"))


def zones_of(name):
    outputs = firewalld_outputs(name)
    zones = fw_firewalld.parse_zones(outputs["firewalld_zones"][1],
                                     default_zone=fw_firewalld.parse_default_zone(outputs["firewalld_default_zone"][1]))
    return zones, fw_firewalld.parse_active_zones(outputs["firewalld_active_zones"][1])


def verdict_of(name, source=None, interface=LAB_UPLINK, family=4):
    zones, active = zones_of(name)
    return fw_firewalld.udp_input_verdict(zones, PORT, interface, active, family=family, source=source, policies=IMAGE_POLICIES)


def facts_of(name):
    return firewall_facts(firewalld_outputs(name), {LAB_WG: PORT}, [LAB_WG], [LAB_UPLINK])


# ---------------------------------------------------------------- every recorded scenario

@pytest.mark.parametrize("name", RUNNING)
def test_verdict_agrees_with_what_the_real_probe_met(name):
    probe = PROBES[name]
    verdict = verdict_of(name, source=probe["sender_address"])
    if name in REDIRECTED:
        assert probe["arrived"] == 0 and verdict["verdict"] == "unknown", verdict
        return
    assert verdict["verdict"] == expected_verdict(probe), (verdict, probe)
    assert verdict["backend"] == "firewalld" and verdict["table"] and verdict["rule"], verdict
    if verdict["verdict"] == "reject":
        assert set(probe["icmp"]) == {ICMP_OF_REJECT[verdict["reject_with"]]}, (verdict, probe)
    if probe["arrived"]:
        assert probe["arrived_from"] == [probe["sender_address"]]


@pytest.mark.parametrize("name", sorted(PROBES))
def test_facts_agree_with_the_probe_or_name_the_source_they_depend_on(name):
    probe = PROBES[name]
    result = facts_of(name)
    verdict = result["interfaces"][LAB_WG]["input"]
    assert result["errors"] == []
    if name == "not_running":
        assert result["backends"] == [] and verdict["verdict"] == expected_verdict(probe) == "accept"
        return
    assert result["backends"] == ["firewalld"]
    if name in REDIRECTED:
        assert verdict["verdict"] == "unknown"
    elif name in SOURCE_DEPENDENT:
        assert verdict["verdict"] != expected_verdict(probe)
        assert any("source" in doubt or probe["sender_address"] in doubt for doubt in verdict["conditional"]), verdict
    else:
        assert verdict["verdict"] == expected_verdict(probe), verdict


# ---------------------------------------------------------------- what the real output looks like

def test_state_running_and_not_running():
    assert fw_firewalld.parse_state(0, fixture("firewalld", "default_closed.state"))
    stopped = PROBES["not_running"]
    assert (stopped["rc"]["state"], fixture("firewalld", "not_running.state")) == (252, "")
    assert stopped["stderr"]["state"].strip() == "not running"
    assert not fw_firewalld.parse_state(252, fixture("firewalld", "not_running.state"))


def test_default_zone_is_not_marked_in_the_zone_listing_and_comes_from_get_default_zone():
    text = fixture("firewalld", "default_closed.zones")
    assert fw_firewalld.parse_zones(text)["default_zone"] is None
    assert "public (default" not in text
    zones, active = zones_of("default_closed")
    assert zones["default_zone"] == "public" and zones["errors"] == []
    assert zones["zones"]["public"]["services"] == ["dhcpv6-client", "ssh"]
    assert zones["zones"]["public"]["target"] == "default"
    assert zones["zones"]["block"]["target"] == "%%REJECT%%"
    assert active == {}  # nothing bound: eth0 falls into the default zone unannounced


def test_unbound_interface_falls_into_the_default_zone():
    verdict = verdict_of("default_closed")
    assert (verdict["verdict"], verdict["table"], verdict["rule"]) == ("reject", "public", "target: default")
    assert verdict["reject_with"] == "icmpx admin-prohibited"
    assert "interface eth0 is bound to no zone: the default zone public applies" in verdict["evidence"]
    assert verdict_of("default_zone_drop")["table"] == "drop"
    assert verdict_of("default_zone_trusted")["verdict"] == "accept"


def test_without_the_default_zone_an_unbound_interface_is_unknown():
    verdict = fw_firewalld.udp_input_verdict(fw_firewalld.parse_zones(fixture("firewalld", "default_closed.zones")), PORT, LAB_UPLINK, {})
    assert verdict["verdict"] == "unknown"
    assert "--get-default-zone" in verdict["evidence"][0]


def test_active_zones_list_only_the_settings_a_zone_has():
    assert zones_of("uplink_in_drop_zone")[1] == {"drop": {"interfaces": ["eth0"], "sources": []}}
    assert zones_of("source_zone_trusted")[1] == {"trusted": {"interfaces": [], "sources": ["198.18.7.2/32"]}}
    assert fw_firewalld.parse_active_zones("public\ntrusted\n  interfaces: wg0\n")["public"] == {"interfaces": [], "sources": []}


def test_open_port_range_service_and_protocol_name_what_opens_it():
    assert verdict_of("port_open")["rule"] == "port 51820/udp"
    assert verdict_of("port_range_open")["rule"] == "port 51000-52000/udp"
    assert verdict_of("service_wireguard")["rule"] == "service wireguard"
    assert verdict_of("protocol_udp")["rule"] == "protocol udp"
    assert verdict_of("port_tcp_only")["rule"] == "target: default"


def test_source_port_is_only_a_doubt():
    verdict = verdict_of("source_port_only")
    assert verdict["verdict"] == "reject"
    assert "source port is 51820/udp" in verdict["conditional"][0]


def test_rich_rules_drop_and_reject_before_the_open_port():
    drop = verdict_of("rich_drop")
    assert (drop["verdict"], drop["rule"]) == ("drop", "rich rule 'rule family=\"ipv4\" port port=\"51820\" protocol=\"udp\" drop'")
    # A reject without a type answers port-unreachable, unlike a zone target.
    assert verdict_of("rich_reject")["reject_with"] == "icmp-port-unreachable"
    assert verdict_of("rich_reject_port_unreachable")["reject_with"] == "icmp-port-unreachable"


def test_rich_rule_of_the_other_family_does_not_apply():
    assert verdict_of("rich_drop_ipv6_only")["verdict"] == "accept"
    assert verdict_of("rich_drop_ipv6_only", family=6)["verdict"] == "drop"


def test_rich_rule_source_decides_when_known_and_is_a_doubt_when_not():
    sender = PROBES["rich_accept_source_match"]["sender_address"]
    assert verdict_of("rich_accept_source_match", source=sender)["verdict"] == "accept"
    unknown = verdict_of("rich_accept_source_match")
    assert unknown["verdict"] == "reject"
    assert unknown["conditional"] == ["zone public: rich rule 'rule family=\"ipv4\" source address=\"%s/32\" port port=\"51820\" "
                                      "protocol=\"udp\" accept' would accept source %s/32" % (sender, sender)]
    assert verdict_of("rich_accept_source_other", source=sender)["verdict"] == "reject"
    assert verdict_of("rich_drop_source_not", source=sender)["verdict"] == "drop"
    assert verdict_of("rich_drop_source_not", source="10.99.99.7")["verdict"] == "accept"
    assert "NOT source 10.99.99.0/24" in verdict_of("rich_drop_source_not")["conditional"][0]


def test_rich_service_with_log_and_limited_accept():
    assert verdict_of("rich_service_accept_log")["rule"].startswith("rich rule 'rule service name=\"wireguard\" log")
    limited = verdict_of("rich_accept_limit")
    assert limited["verdict"] == "accept"
    assert "rate limit 1/m" in limited["conditional"][0]


def test_rich_rule_priority_orders_the_rules():
    assert verdict_of("rich_priority_accept_before_drop")["rule"] == "rich rule 'rule priority=\"-10\" port port=\"51820\" protocol=\"udp\" accept'"
    # A positive priority runs after the open port has accepted.
    assert verdict_of("rich_priority_drop_after_open")["rule"] == "port 51820/udp"


def test_forward_port_takes_the_packet_away_from_the_port():
    verdict = verdict_of("forward_port_elsewhere")
    assert verdict["rule"] == "forward-port port=51820:proto=udp:toport=51821:toaddr="
    assert "never reaches a socket on 51820" in verdict["evidence"][-1]
    assert verdict_of("forward_port_elsewhere", family=6)["verdict"] == "accept"  # forward-ports are IPv4 only


def test_zone_of_the_uplink_decides_not_the_zone_with_the_port():
    assert verdict_of("uplink_in_drop_zone")[("verdict")] == "drop"
    assert (verdict_of("uplink_in_block_zone")["table"], verdict_of("uplink_in_block_zone")["rule"]) == ("block", "target: %%REJECT%%")
    other = verdict_of("port_in_other_zone")
    assert (other["verdict"], other["table"]) == ("reject", "public")
    assert verdict_of("uplink_internal_port_in_public")["table"] == "internal"
    assert "interface eth0 is bound to zone drop" in verdict_of("uplink_in_drop_zone")["evidence"]


def test_source_zone_comes_before_the_interface_zone():
    sender = PROBES["source_zone_drop_over_open_interface"]["sender_address"]
    verdict = verdict_of("source_zone_drop_over_open_interface", source=sender)
    assert (verdict["verdict"], verdict["table"]) == ("drop", "drop")
    unknown = verdict_of("source_zone_drop_over_open_interface")
    assert (unknown["verdict"], unknown["table"]) == ("accept", "public")
    assert unknown["conditional"] == ["packets from %s/32 go to zone drop, which would drop them (target: DROP)" % sender]
    assert verdict_of("source_zone_other", source=sender)["table"] == "public"
    assert verdict_of("source_zone_trusted", source=sender)["table"] == "trusted"


def test_targets_and_icmp_block_inversion():
    assert verdict_of("public_target_accept")["rule"] == "target: ACCEPT"
    assert verdict_of("public_target_drop_port_open")["rule"] == "port 51820/udp"  # the port opens before the target
    assert verdict_of("icmp_block_inversion")["reject_with"] == "icmpx admin-prohibited"


def test_tunnel_in_trusted_zone_forward_and_masquerade():
    zones, active = zones_of("wg_in_trusted_zone")
    assert active == {"trusted": {"interfaces": ["wg0"], "sources": []}}
    assert verdict_of("wg_in_trusted_zone", interface=LAB_WG)["verdict"] == "accept"
    assert fw_firewalld.forward_verdict(zones, LAB_WG, LAB_UPLINK, active)["rule"] == "target: ACCEPT"
    back = fw_firewalld.forward_verdict(zones, LAB_UPLINK, LAB_WG, active)
    assert (back["verdict"], back["table"], back["reject_with"]) == ("reject", "public", "icmpx admin-prohibited")
    assert fw_firewalld.forward_verdict(zones, LAB_UPLINK, LAB_WG, active, ct_state="established")["verdict"] == "accept"
    # masquerade in the default zone: whatever leaves through an interface no other zone holds.
    assert [(m["out_interface"], m["rule"]) for m in fw_firewalld.masquerade_rules(zones, active)] == [(None, "zone public: masquerade: yes")]
    forward = facts_of("wg_in_trusted_zone")["interfaces"][LAB_WG]["forward"]
    assert (forward["verdict"], forward["from_tunnel"], forward["replies_to_tunnel"], forward["new_to_tunnel"]) == (
        "accept", "accept", "accept", "reject")


def test_intra_zone_forwarding_needs_both_interfaces_bound_to_the_zone():
    zones, active = zones_of("uplink_in_public")
    assert fw_firewalld.forward_verdict(zones, "eth0", "eth0", active)["rule"] == "forward: yes"
    assert fw_firewalld.forward_verdict(zones, "eth0", "wg0", active)["verdict"] == "reject"


def test_masquerade_of_a_bound_zone_names_its_interfaces():
    zones = fw_firewalld.parse_zones(fixture("firewalld", "masquerade.zones"), default_zone="public")
    assert [m["out_interface"] for m in fw_firewalld.masquerade_rules(zones, {"public": {"interfaces": ["eth0"]}})] == ["eth0", None]
    assert [m["out_interface"] for m in fw_firewalld.masquerade_rules(zones, {}, )] == [None]


def test_forward_port_continuation_lines_stay_with_their_setting():
    zones = zones_of("forward_port_elsewhere")[0]
    assert zones["zones"]["public"]["forward-ports"] == ["port=51820:proto=udp:toport=51821:toaddr="]
    assert zones["zones"]["public"]["rich rules"] == []


# ---------------------------------------------------------------- garbage

def test_garbage_is_an_error():
    assert fw_firewalld.parse_zones("   indented garbage\n")["errors"]
    assert "unreadable zone header 'FirewallD is not running'" in fw_firewalld.parse_zones("FirewallD is not running\n")["errors"][0]
    assert fw_firewalld.parse_default_zone("FirewallD is not running\n") is None
    rule = fw_firewalld.parse_rich_rule('rule port port="51820 protocol=udp drop')
    assert rule["error"].startswith("unreadable rich rule") and rule["action"] is None


def test_an_unreadable_rich_rule_is_a_doubt_not_a_verdict():
    text = fixture("firewalld", "port_open.zones").replace("  ports: 51820/udp\n", "  ports: 51820/udp\n  rich rules: \n\trule port port=\"51820 drop\n", 1)
    verdict = fw_firewalld.udp_input_verdict(fw_firewalld.parse_zones(text, "public"), PORT, LAB_UPLINK, {}, policies=IMAGE_POLICIES)
    assert verdict["verdict"] == "accept"
    assert "unreadable rich rule" in verdict["conditional"][0]


LINES = st.one_of(st.text(max_size=80), st.sampled_from(
    fixture("firewalld", "rich_drop_source_not.zones").splitlines() + fixture("firewalld", "wg_in_trusted_zone.zones").splitlines()
    + ["\trule family=\"ipv4\" source ipset=\"x\" forward-port port=\"51820\" protocol=\"udp\" to-port=\"1\" accept",
       "\trule priority=\"x\" NOT port port=\"a-b\" protocol=\"udp\" reject type=\"y\" limit value=\"1/m\"",
       "\trule source NOT mac=\"00:11:22:33:44:55\" destination address=\"::1\" drop", "  sources: ipset:z ::/0 1.2.3.4/99",
       "  forward-ports: port=51820:proto=udp", "\tport=:proto=udp:", "public (default, active)", "  ports: 1-x/udp 7",
       "wgdhost (active)", "  egress-zones: HOST", "  ingress-zones: ANY", "  ingress-zones: public trusted", "  priority: -5",
       "  priority: x", "  target: DROP", "  target: CONTINUE", "  interfaces: eth+"]))


@settings(max_examples=300, deadline=None)
@given(st.lists(LINES, max_size=40), st.one_of(st.none(), st.text(max_size=20), st.just("public")),
       st.sampled_from(["eth0", "wg0", None]), st.sampled_from([4, 6]), st.sampled_from([None, "198.18.7.2", "::1", "x"]))
def test_garbage_never_raises(lines, default_zone, interface, family, source):
    text = "\n".join(lines)
    zones = fw_firewalld.parse_zones(text, default_zone=fw_firewalld.parse_default_zone(default_zone))
    active = fw_firewalld.parse_active_zones(text)
    verdict = fw_firewalld.udp_input_verdict(zones, PORT, interface, active, family=family, source=source,
                                             policies=fw_firewalld.parse_policies(text))
    assert verdict["verdict"] in VERDICTS
    assert fw_firewalld.forward_verdict(zones, interface, "eth9", active)["verdict"] in VERDICTS
    fw_firewalld.masquerade_rules(zones, active)
