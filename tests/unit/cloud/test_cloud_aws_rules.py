"""Security group and network ACL evaluation for UDP to the WireGuard port (issue #14)."""
from __future__ import annotations

import pytest

from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils import cloud_aws

PORT = 51333
CLIENT = "198.51.100.7"


def group(group_id: str, *permissions: dict, name: str = "wg") -> dict:
    return {"GroupId": group_id, "GroupName": name, "IpPermissions": list(permissions)}


def udp(from_port: int | None, to_port: int | None, cidrs=(), v6=(), prefix_lists=(), groups=(), proto="udp") -> dict:
    permission: dict = {"IpProtocol": proto, "IpRanges": [{"CidrIp": c} for c in cidrs],
                        "Ipv6Ranges": [{"CidrIpv6": c} for c in v6],
                        "PrefixListIds": [{"PrefixListId": p} for p in prefix_lists],
                        "UserIdGroupPairs": [{"GroupId": g, "UserId": "123456789012"} for g in groups]}
    if from_port is not None:
        permission.update(FromPort=from_port, ToPort=to_port)
    return permission


SSH_ONLY = group("sg-ssh", udp(22, 22, ["0.0.0.0/0"], proto="tcp"), name="ssh")


# ---- security groups ------------------------------------------------------------------------

def test_a_group_without_a_udp_rule_denies_and_says_no_rule_allows_it():
    verdict = cloud_aws.security_group_verdict([SSH_ONLY], PORT, CLIENT)
    assert verdict["verdict"] == "deny" and verdict["rule"] is None
    assert "no inbound rule of sg-ssh allows udp 51333" in verdict["reason"]


def test_tcp_on_the_same_port_does_not_allow_udp():
    tcp = group("sg-tcp", udp(PORT, PORT, ["0.0.0.0/0"], proto="tcp"))
    assert cloud_aws.security_group_verdict([tcp], PORT, CLIENT)["verdict"] == "deny"


@pytest.mark.parametrize("from_port,to_port,allowed", [
    (PORT, PORT, True), (PORT - 1, PORT, True), (PORT, PORT + 1, True), (50000, 60000, True),
    (PORT + 1, PORT + 9, False), (1, PORT - 1, False), (0, 65535, True)])
def test_port_ranges_include_both_ends(from_port, to_port, allowed):
    sg = group("sg-1", udp(from_port, to_port, ["0.0.0.0/0"]))
    assert cloud_aws.security_group_verdict([sg], PORT, CLIENT)["verdict"] == ("allow" if allowed else "deny")


@pytest.mark.parametrize("proto", ["-1", "all", -1])
def test_protocol_minus_one_is_every_protocol_and_port_whatever_ports_it_carries(proto):
    sg = group("sg-all", udp(-1, -1, ["0.0.0.0/0"], proto=proto))
    verdict = cloud_aws.security_group_verdict([sg], PORT, CLIENT)
    assert verdict["verdict"] == "allow" and verdict["rule"]["protocol"] == "all"
    assert "sg-all (wg) inbound all traffic from 0.0.0.0/0" in verdict["reason"]


def test_protocol_number_17_is_udp_and_6_is_not():
    assert cloud_aws.security_group_verdict([group("a", udp(PORT, PORT, ["0.0.0.0/0"], proto="17"))], PORT, CLIENT)["verdict"] == "allow"
    assert cloud_aws.security_group_verdict([group("b", udp(PORT, PORT, ["0.0.0.0/0"], proto="6"))], PORT, CLIENT)["verdict"] == "deny"


def test_a_cidr_that_covers_the_initiator_allows_and_names_the_group_and_rule():
    sg = group("sg-0abc", udp(PORT, PORT, ["198.51.100.0/24"]))
    verdict = cloud_aws.security_group_verdict([SSH_ONLY, sg], PORT, CLIENT)
    assert verdict["verdict"] == "allow"
    assert verdict["rule"]["group_id"] == "sg-0abc" and verdict["rule"]["source"] == "198.51.100.0/24"
    assert verdict["reason"] == "sg-0abc (wg) inbound udp 51333 from 198.51.100.0/24 covers 198.51.100.7"


def test_a_source_restricted_rule_that_misses_the_initiator_counts_as_denied_for_it():
    sg = group("sg-0abc", udp(PORT, PORT, ["203.0.113.0/24"]))
    verdict = cloud_aws.security_group_verdict([sg], PORT, CLIENT)
    assert verdict["verdict"] == "deny"
    assert [r["source"] for r in verdict["port_rules"]] == ["203.0.113.0/24"]
    assert "none covers the initiator's address 198.51.100.7" in verdict["reason"]


def test_with_the_initiator_unknown_only_a_rule_open_to_everyone_allows_for_certain():
    narrow = group("sg-n", udp(PORT, PORT, ["203.0.113.0/24"]))
    assert cloud_aws.security_group_verdict([narrow], PORT, None)["verdict"] == "deny"
    wide = group("sg-w", udp(PORT, PORT, ["0.0.0.0/0"]))
    assert cloud_aws.security_group_verdict([narrow, wide], PORT, None)["rule"]["group_id"] == "sg-w"


def test_ipv6_rules_take_only_ipv6_initiators():
    sg = group("sg-6", udp(PORT, PORT, v6=["2001:db8::/32"]))
    assert cloud_aws.security_group_verdict([sg], PORT, "2001:db8::7")["verdict"] == "allow"
    assert cloud_aws.security_group_verdict([sg], PORT, "2001:db9::7")["verdict"] == "deny"
    assert cloud_aws.security_group_verdict([sg], PORT, CLIENT)["verdict"] == "deny"
    anywhere4 = group("sg-4", udp(PORT, PORT, ["0.0.0.0/0"]))
    assert cloud_aws.security_group_verdict([anywhere4], PORT, "2001:db8::7")["verdict"] == "deny"
    anywhere6 = group("sg-6any", udp(PORT, PORT, v6=["::/0"]))
    assert cloud_aws.security_group_verdict([anywhere6], PORT, "2001:db8::7")["verdict"] == "allow"


def test_a_prefix_list_allows_by_its_entries_and_decides_nothing_unread():
    sg = group("sg-pl", udp(PORT, PORT, prefix_lists=["pl-0123"]))
    assert cloud_aws.security_group_verdict([sg], PORT, CLIENT, prefix_lists={"pl-0123": ["198.51.100.0/28"]})["verdict"] == "allow"
    assert cloud_aws.security_group_verdict([sg], PORT, CLIENT, prefix_lists={"pl-0123": ["192.0.2.0/24"]})["verdict"] == "deny"
    unread = cloud_aws.security_group_verdict([sg], PORT, CLIENT)
    assert unread["verdict"] == "unknown" and "prefix list pl-0123 were not read" in unread["reason"]


def test_a_group_reference_allows_only_an_initiator_in_that_group():
    sg = group("sg-srv", udp(PORT, PORT, groups=["sg-clients"]))
    assert cloud_aws.security_group_verdict([sg], PORT, "10.0.1.5", source_groups=["sg-clients"])["verdict"] == "allow"
    # From the internet by its public address, an instance of sg-clients is not "in" it for AWS.
    denied = cloud_aws.security_group_verdict([sg], PORT, CLIENT)
    assert denied["verdict"] == "deny" and "security group sg-clients" in denied["reason"]


def test_any_of_several_groups_allows():
    first = group("sg-a", udp(1000, 2000, ["0.0.0.0/0"]))
    second = group("sg-b", udp(PORT, PORT, [CLIENT + "/32"]))
    assert cloud_aws.security_group_verdict([first, second], PORT, CLIENT)["rule"]["group_id"] == "sg-b"


def test_snake_case_from_the_info_module_reads_the_same():
    snake = {"group_id": "sg-s", "group_name": "wg", "ip_permissions": [
        {"ip_protocol": "udp", "from_port": PORT, "to_port": PORT, "ip_ranges": [{"cidr_ip": "198.51.100.0/24"}],
         "ipv6_ranges": [], "prefix_list_ids": [], "user_id_group_pairs": []}]}
    assert cloud_aws.security_group_verdict([snake], PORT, CLIENT)["rule"]["group_id"] == "sg-s"


# ---- network ACLs ---------------------------------------------------------------------------

def entry(number: int, action: str, egress: bool = False, proto: str = "17", ports=None, cidr="0.0.0.0/0") -> dict:
    item = {"RuleNumber": number, "RuleAction": action, "Egress": egress, "Protocol": proto}
    item["Ipv6CidrBlock" if ":" in cidr else "CidrBlock"] = cidr
    if ports:
        item["PortRange"] = {"From": ports[0], "To": ports[1]}
    return item


def acl(*entries: dict, default: bool = True) -> dict:
    items = list(entries)
    if default:
        items += [entry(32767, "deny", False, "-1"), entry(32767, "deny", True, "-1")]
    return {"NetworkAclId": "acl-1", "Entries": items}


OPEN = acl(entry(100, "allow", False, "-1"), entry(100, "allow", True, "-1"))


def test_the_default_acl_allows_everything_both_ways():
    assert cloud_aws.acl_verdict(OPEN, False, (PORT, PORT), CLIENT)["verdict"] == "allow"
    assert cloud_aws.acl_verdict(OPEN, True, cloud_aws.EPHEMERAL_PORTS, CLIENT)["verdict"] == "allow"


def test_no_matching_rule_falls_to_the_default_deny_star():
    only_tcp = acl(entry(100, "allow", False, "6", (1, 65535)), entry(100, "allow", True, "-1"))
    verdict = cloud_aws.acl_verdict(only_tcp, False, (PORT, PORT), CLIENT)
    assert verdict["verdict"] == "deny" and [e["rule_number"] for e in verdict["deciding"]] == [32767]
    assert "inbound rule *: deny all traffic from 0.0.0.0/0" in verdict["reason"]


def test_the_star_rule_applies_when_the_listing_leaves_it_out():
    assert cloud_aws.acl_verdict(acl(default=False), False, (PORT, PORT), CLIENT)["verdict"] == "deny"


def test_the_lowest_rule_number_decides_whatever_the_list_order():
    rules = acl(entry(200, "allow", ports=(PORT, PORT)), entry(90, "deny", ports=(50000, 52000)),
                entry(100, "allow", True, "-1"))
    verdict = cloud_aws.acl_verdict(rules, False, (PORT, PORT), CLIENT)
    assert verdict["verdict"] == "deny" and verdict["deciding"][0]["rule_number"] == 90
    swapped = acl(entry(80, "allow", ports=(PORT, PORT)), entry(90, "deny", ports=(50000, 52000)))
    assert cloud_aws.acl_verdict(swapped, False, (PORT, PORT), CLIENT)["deciding"][0]["rule_number"] == 80


def test_an_acl_rule_for_another_source_is_skipped():
    rules = acl(entry(50, "deny", cidr="198.51.100.0/24"), entry(100, "allow", False, "-1"))
    assert cloud_aws.acl_verdict(rules, False, (PORT, PORT), CLIENT)["verdict"] == "deny"
    assert cloud_aws.acl_verdict(rules, False, (PORT, PORT), "192.0.2.9")["verdict"] == "allow"


def test_an_unknown_initiator_against_a_source_specific_rule_is_unknown_not_a_guess():
    rules = acl(entry(50, "allow", ports=(PORT, PORT), cidr="198.51.100.0/24"))
    assert cloud_aws.acl_verdict(rules, False, (PORT, PORT), None)["verdict"] == "unknown"


def test_outbound_reply_ports_are_checked_over_the_whole_ephemeral_span():
    half = acl(entry(100, "allow", False, "-1"), entry(100, "allow", True, "17", (32768, 65535)))
    verdict = cloud_aws.acl_verdict(half, True, cloud_aws.EPHEMERAL_PORTS, CLIENT)
    assert verdict["verdict"] == "partial" and verdict["denied"] == [(1024, 32767)]
    # An initiator with a fixed ListenPort inside the allowed span is fine.
    assert cloud_aws.acl_verdict(half, True, (40000, 40000), CLIENT)["verdict"] == "allow"


def test_ipv6_acl_entries_take_ipv6_only():
    rules = acl(entry(100, "allow", cidr="::/0"), entry(101, "deny", cidr="0.0.0.0/0"))
    assert cloud_aws.acl_verdict(rules, False, (PORT, PORT), "2001:db8::1")["verdict"] == "allow"
    assert cloud_aws.acl_verdict(rules, False, (PORT, PORT), CLIENT)["verdict"] == "deny"


def test_the_info_module_list_form_reads_the_same():
    listed = {"nacl_id": "acl-l", "ingress": [[100, "udp", "allow", "0.0.0.0/0", None, None, PORT, PORT]],
              "egress": [[100, "all", "allow", "0.0.0.0/0", None, None, 0, 65535]]}
    assert cloud_aws.acl_verdict(listed, False, (PORT, PORT), CLIENT)["verdict"] == "allow"
    assert cloud_aws.acl_verdict(listed, False, (PORT + 1, PORT + 1), CLIENT)["verdict"] == "deny"
    assert cloud_aws.acl_verdict(listed, True, cloud_aws.EPHEMERAL_PORTS, CLIENT)["verdict"] == "allow"


def test_the_acl_rule_to_add_sits_below_the_first_deny_and_is_exact():
    rules = acl(entry(100, "allow", False, "6", (22, 22)), entry(120, "deny", ports=(50000, 60000)))
    text = cloud_aws.acl_rule_to_add(rules, False, (PORT, PORT), CLIENT + "/32")
    assert text.startswith("network ACL acl-1: add inbound rule 110: allow udp 51333 from 198.51.100.7/32")
    assert "--ingress --rule-number 110 --protocol udp --port-range From=51333,To=51333 --cidr-block 198.51.100.7/32" in text


# ---- both layers ----------------------------------------------------------------------------

def test_the_acl_decides_first_and_names_its_rule_number():
    sg = group("sg-ok", udp(PORT, PORT, ["0.0.0.0/0"]))
    rules = acl(entry(90, "deny", ports=(PORT, PORT)), entry(100, "allow", False, "-1"), entry(100, "allow", True, "-1"))
    verdict = cloud_aws.inbound_verdict([sg], rules, PORT, CLIENT)
    assert verdict["verdict"] == "deny" and verdict["decided_by"] == "network_acl_inbound"
    assert "inbound rule 90: deny udp 51333-51333 from 0.0.0.0/0" in verdict["reason"]


def test_an_acl_that_drops_the_reply_denies_the_handshake():
    sg = group("sg-ok", udp(PORT, PORT, ["0.0.0.0/0"]))
    rules = acl(entry(100, "allow", False, "-1"), entry(100, "allow", True, "6", (0, 65535)))
    verdict = cloud_aws.inbound_verdict([sg], rules, PORT, CLIENT, source_port=41000)
    assert verdict["decided_by"] == "network_acl_outbound" and verdict["acl_outbound"]["ports"] == [41000, 41000]


def test_group_decides_when_the_acl_allows():
    verdict = cloud_aws.inbound_verdict([SSH_ONLY], OPEN, PORT, CLIENT)
    assert verdict["verdict"] == "deny" and verdict["decided_by"] == "security_group"
    allowed = cloud_aws.inbound_verdict([group("sg-ok", udp(PORT, PORT, [CLIENT + "/32"]))], OPEN, PORT, CLIENT)
    assert allowed["verdict"] == "allow" and allowed["security_group"]["rule"]["source"] == CLIENT + "/32"


def test_narrowest_cidrs_are_host_prefixes():
    assert cloud_aws.narrowest_cidrs([CLIENT, "2001:db8::7", CLIENT, "garbage"]) == ["198.51.100.7/32", "2001:db8::7/128"]


def test_a_source_cidr_is_allowed_only_when_a_rule_holds_all_of_it():
    sg = group("sg-c", udp(PORT, PORT, ["198.18.4.0/24"]))
    assert cloud_aws.security_group_verdict([sg], PORT, "198.18.4.0/25")["verdict"] == "allow"
    assert cloud_aws.security_group_verdict([sg], PORT, "198.18.0.0/16")["verdict"] == "deny"
    host = group("sg-h", udp(PORT, PORT, ["198.18.4.0/32"]))
    assert cloud_aws.security_group_verdict([host], PORT, "198.18.4.0/24")["verdict"] == "deny"


def test_an_acl_entry_that_holds_part_of_a_source_cidr_leaves_it_unknown():
    rules = acl(entry(50, "deny", cidr="198.18.4.128/25"), entry(100, "allow", False, "-1"))
    assert cloud_aws.acl_verdict(rules, False, (PORT, PORT), "198.18.4.0/24")["verdict"] == "unknown"
    assert cloud_aws.acl_verdict(rules, False, (PORT, PORT), "198.18.4.0/25")["verdict"] == "allow"
    assert cloud_aws.acl_verdict(rules, False, (PORT, PORT), "198.18.4.128/26")["verdict"] == "deny"
