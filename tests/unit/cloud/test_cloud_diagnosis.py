"""udp_blocked_cloud_firewall: the security group or network ACL in front of an EC2 end (issue #14)."""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "diagnosis"))

import pytest  # noqa: E402

from diagnosis_facts import codes, healthy_facts, never_handshaken, only, probe, run  # noqa: E402

from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils import cloud_aws  # noqa: E402

SSH = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}


def open_acl() -> dict:
    return {"NetworkAclId": "acl-0open", "Entries": [
        {"RuleNumber": 100, "Egress": False, "Protocol": "-1", "RuleAction": "allow", "CidrBlock": "0.0.0.0/0"},
        {"RuleNumber": 100, "Egress": True, "Protocol": "-1", "RuleAction": "allow", "CidrBlock": "0.0.0.0/0"}]}


def aws(facts: dict, *permissions: dict, acl: dict | None = None, allowed_cidrs=(), error=None) -> dict:
    facts["server"]["cloud"] = {
        "provider": "aws", "region": "eu-west-1", "instance_id": "i-0123456789abcdef0",
        "instance": {"id": "i-0123456789abcdef0", "subnet_id": "subnet-0a", "vpc_id": "vpc-0a", "group_ids": ["sg-0wg"]},
        "security_groups": [{"GroupId": "sg-0wg", "GroupName": "wireguard", "IpPermissions": [SSH] + list(permissions)}],
        "network_acl": acl if acl is not None else open_acl(), "prefix_lists": {},
        "allowed_cidrs": list(allowed_cidrs), "error": error}
    return facts


@pytest.fixture
def broken():
    """The tunnel that never came up: the client's initiations are lost before the server."""
    return never_handshaken(healthy_facts())


LOST = [probe("timeout", arrived=0)]


def test_a_group_without_the_udp_rule_is_the_root_cause_with_group_and_remedy(broken):
    report = run(aws(broken), probes=LOST)
    first = report["findings"][0]
    assert first["code"] == "udp_blocked_cloud_firewall" and first["severity"] == "critical" and first["host"] == "server"
    assert "aws: server is instance i-0123456789abcdef0 in eu-west-1, subnet subnet-0a, security groups sg-0wg (wireguard)" \
        in first["evidence"]
    assert any("no inbound rule of sg-0wg allows udp 51820" in line for line in first["evidence"])
    # The client's own address is public in these facts: the narrowest rule opens to it alone.
    assert first["remedy"] == {"role": "wgdoctor.wireguard.cloud_firewall", "host": "server", "vars": {
        "cloud_firewall_region": "eu-west-1", "cloud_firewall_group_id": "sg-0wg", "cloud_firewall_port": 51820,
        "cloud_firewall_cidrs": ["198.51.100.20/32"]}}


def test_upstream_follows_from_the_cloud_firewall_and_the_symptom_names_both(broken):
    report = run(aws(broken), probes=LOST)
    upstream = only(report, "udp_blocked_upstream")
    assert upstream["follows_from"] == ["udp_blocked_cloud_firewall"]
    assert upstream["summary"].endswith("It follows from udp_blocked_cloud_firewall.")
    assert codes(report).index("udp_blocked_cloud_firewall") < codes(report).index("udp_blocked_upstream")
    assert "udp_blocked_cloud_firewall" in only(report, "handshake_never")["follows_from"]


def test_a_group_that_allows_the_port_clears_the_cloud_and_says_so_on_upstream(broken):
    allow = {"IpProtocol": "udp", "FromPort": 51820, "ToPort": 51820, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
    report = run(aws(broken, allow), probes=LOST)
    assert "udp_blocked_cloud_firewall" not in codes(report)
    upstream = only(report, "udp_blocked_upstream")
    assert "follows_from" not in upstream or not upstream["follows_from"]
    assert any(line.startswith("aws: the cloud firewall allows it: sg-0wg (wireguard) inbound udp 51820 from 0.0.0.0/0")
               for line in upstream["evidence"])


def test_a_rule_for_another_source_counts_as_denied_for_this_initiator(broken):
    elsewhere = {"IpProtocol": "udp", "FromPort": 51820, "ToPort": 51820, "IpRanges": [{"CidrIp": "192.0.2.0/24"}]}
    finding = only(run(aws(broken, elsewhere), probes=LOST), "udp_blocked_cloud_firewall")
    assert any("none covers the initiator's address 198.51.100.20" in line for line in finding["evidence"])
    assert finding["remedy"]["vars"]["cloud_firewall_cidrs"] == ["198.51.100.20/32"]


def test_the_initiator_is_taken_where_the_responder_last_saw_it(broken):
    broken["client"]["addresses"] = [{"interface": "eth0", "address": "10.77.4.10", "prefixlen": 24, "family": 4}]
    runtime = broken["server"]["interfaces"]["wg0"]["runtime"]["peers"][0]
    runtime["endpoint"] = {"raw": "198.18.4.2:41000", "host": "198.18.4.2", "port": 41000}
    finding = only(run(aws(broken), probes=LOST), "udp_blocked_cloud_firewall")
    assert finding["remedy"]["vars"]["cloud_firewall_cidrs"] == ["198.18.4.2/32"]


def test_without_a_known_initiator_the_user_cidr_is_used_and_never_anywhere(broken):
    broken["client"]["addresses"] = [{"interface": "eth0", "address": "10.77.4.10", "prefixlen": 24, "family": 4}]
    finding = only(run(aws(broken, allowed_cidrs=["198.18.4.0/24"]), probes=LOST), "udp_blocked_cloud_firewall")
    assert finding["remedy"]["vars"]["cloud_firewall_cidrs"] == ["198.18.4.0/24"]
    unknown = only(run(aws(never_handshaken(healthy_facts()) | {"client": broken["client"]}), probes=LOST),
                   "udp_blocked_cloud_firewall")
    assert unknown["remedy"] is None and "set wg_cloud_allowed_cidrs on server" in unknown["summary"]


def test_an_initiator_is_judged_from_an_address_in_the_family_it_sends_over(broken):
    # Found in the lab once it had global IPv6: a NATed client with a global IPv6 address that reaches the
    # server over IPv4 was judged as coming from its IPv6 address (and the ACL's IPv6 default deny named).
    broken["client"]["addresses"] = [{"interface": "eth0", "address": "10.77.4.10", "prefixlen": 24, "family": 4},
                                     {"interface": "eth0", "address": "2001:db8:4:77::10", "prefixlen": 64, "family": 6}]
    finding = only(run(aws(broken, allowed_cidrs=["198.18.4.0/24"]), probes=LOST), "udp_blocked_cloud_firewall")
    assert finding["remedy"]["vars"]["cloud_firewall_cidrs"] == ["198.18.4.0/24"]
    assert not any("2001:db8" in line for line in finding["evidence"]), finding["evidence"]


def test_the_network_acl_denies_first_and_its_fix_is_only_reported(broken):
    acl = open_acl()
    acl["Entries"].insert(0, {"RuleNumber": 50, "Egress": False, "Protocol": "17", "RuleAction": "deny",
                              "CidrBlock": "0.0.0.0/0", "PortRange": {"From": 51000, "To": 52000}})
    allow = {"IpProtocol": "udp", "FromPort": 51820, "ToPort": 51820, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
    finding = only(run(aws(broken, allow, acl=acl), probes=LOST), "udp_blocked_cloud_firewall")
    assert finding["remedy"] is None
    assert "never changed automatically" in finding["summary"]
    assert any("inbound rule 50: deny udp 51000-52000 from 0.0.0.0/0" in line for line in finding["evidence"])
    assert any(line.startswith("network ACL acl-0open: add inbound rule 40: allow udp 51820 from 198.51.100.20/32")
               for line in finding["evidence"])


def test_an_acl_without_the_reply_ports_is_named_by_its_outbound_rule(broken):
    acl = {"NetworkAclId": "acl-0r", "Entries": [
        {"RuleNumber": 100, "Egress": False, "Protocol": "-1", "RuleAction": "allow", "CidrBlock": "0.0.0.0/0"},
        {"RuleNumber": 100, "Egress": True, "Protocol": "6", "RuleAction": "allow", "CidrBlock": "0.0.0.0/0",
         "PortRange": {"From": 0, "To": 65535}}]}
    allow = {"IpProtocol": "udp", "FromPort": 51820, "ToPort": 51820, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
    finding = only(run(aws(broken, allow, acl=acl), probes=LOST), "udp_blocked_cloud_firewall")
    assert any("denied by the network ACL outbound" in line for line in finding["evidence"])
    assert any("add outbound rule 32760: allow udp 1024-65535 to 198.51.100.20/32" in line for line in finding["evidence"])


def test_a_probe_that_got_through_means_the_cloud_does_not_block_the_path():
    facts = aws(healthy_facts())
    report = run(facts, probes=[probe("ok")])
    assert "udp_blocked_cloud_firewall" not in codes(report)


def test_a_cloud_read_that_failed_makes_the_report_incomplete_not_healthy(broken):
    facts = cloud_aws.with_cloud(healthy_facts(), {"server": {
        "provider": "aws", "error": "aws: reading the EC2 instance failed: UnauthorizedOperation", "security_groups": None}})
    report = run(facts, probes=[probe("ok")])
    assert report["incomplete"] is True and report["healthy"] is False
    assert {"host": "server", "what": "the cloud firewall (aws: reading the EC2 instance failed: UnauthorizedOperation)"} \
        in report["unchecked"]
    assert "udp_blocked_cloud_firewall" not in codes(report)


def test_ends_without_cloud_facts_are_diagnosed_as_before(broken):
    report = run(broken, probes=LOST)
    assert "udp_blocked_cloud_firewall" not in codes(report)
    assert "follows_from" not in only(report, "udp_blocked_upstream")


def test_an_unknown_initiator_is_judged_by_the_user_cidr_once_the_rule_is_there(broken):
    broken["client"]["addresses"] = [{"interface": "eth0", "address": "10.77.4.10", "prefixlen": 24, "family": 4}]
    added = {"IpProtocol": "udp", "FromPort": 51820, "ToPort": 51820, "IpRanges": [{"CidrIp": "198.18.4.2/32"}]}
    report = run(aws(broken, added, allowed_cidrs=["198.18.4.2/32"]), probes=LOST)
    assert "udp_blocked_cloud_firewall" not in codes(report)
    assert any(line.startswith("aws: the cloud firewall allows it: sg-0wg (wireguard) inbound udp 51820 from 198.18.4.2/32")
               for line in only(report, "udp_blocked_upstream")["evidence"])
