# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ufw: the row of `ufw status verbose` a person would change, checked against ufw's real iptables rules."""
from __future__ import annotations

import pytest

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall import iptables as fw_iptables
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall import ufw as fw_ufw
from ansible_collections.wgdoctor.wireguard.tests.unit.firewall.fw_fixtures import (
    PORT, UPLINK, expected_verdict, fixture, probes)

UFW_PROBES = sorted((key.split("/", 1)[1], value) for key, value in probes().items() if key.startswith("ufw/"))


def status(name):
    return fw_ufw.parse_status(fixture("ufw", name + ".status"))


@pytest.mark.parametrize("name,probe", UFW_PROBES, ids=[pair[0] for pair in UFW_PROBES])
def test_status_alone_and_generated_rules_agree_with_the_probe(name, probe):
    assert fw_ufw.udp_input_verdict(status(name), PORT, UPLINK)["verdict"] == expected_verdict(probe)
    rules = fw_iptables.parse_save(fixture("ufw", name + ".save"))
    assert fw_iptables.udp_input_verdict(rules, PORT, UPLINK)["verdict"] == expected_verdict(probe)


def test_status_header_and_defaults():
    parsed = status("allow_other_interface")
    assert parsed["active"] is True
    assert parsed["default"] == {"incoming": "deny", "outgoing": "allow", "routed": "disabled"}
    assert status("inactive")["active"] is False


def test_allow_row_is_named():
    verdict = fw_ufw.udp_input_verdict(status("allow_port"), PORT, UPLINK)
    assert (verdict["verdict"], verdict["rule"]) == ("accept", "51820/udp ALLOW IN Anywhere")


def test_reject_row_is_named():
    verdict = fw_ufw.udp_input_verdict(status("reject_port"), PORT, UPLINK)
    assert (verdict["verdict"], verdict["rule"]) == ("reject", "51820/udp REJECT IN Anywhere")


def test_rule_on_another_interface_leaves_default_deny_in_charge():
    verdict = fw_ufw.udp_input_verdict(status("allow_other_interface"), PORT, UPLINK)
    assert (verdict["verdict"], verdict["evidence"]) == ("drop", ["Default: deny (incoming)"])


def test_rows_with_interfaces_v6_and_routes():
    rows = status("allow_other_interface")["rules"]
    assert [(r["to_interface"], r["v6"], r["direction"]) for r in rows] == [
        ("eth9", False, "in"), ("eth9", True, "in"), ("fwv1", False, "fwd"), ("fwv1", True, "fwd")]
    assert rows[2]["from_interface"] == "wgF0"


@pytest.mark.parametrize("row,expected", [
    ("51820/udp                  ALLOW IN    Anywhere", "accept"),
    ("51820                      DENY IN     Anywhere", "drop"),
    ("51000:52000/udp            ALLOW IN    Anywhere", "accept"),
    ("51820/tcp                  ALLOW IN    Anywhere", "drop"),
    ("22,51820/udp               LIMIT IN    Anywhere", "accept"),
    ("Anywhere on fwv1           REJECT IN   Anywhere", "reject"),
])
def test_rows_as_ufw_prints_them(row, expected):
    text = ("Status: active\nDefault: deny (incoming), allow (outgoing), disabled (routed)\n\n"
            "To                         Action      From\n--                         ------      ----\n%s\n" % row)
    assert fw_ufw.udp_input_verdict(fw_ufw.parse_status(text), PORT, UPLINK)["verdict"] == expected


def test_source_restricted_allow_is_conditional():
    text = ("Status: active\nDefault: deny (incoming), allow (outgoing), disabled (routed)\n\n"
            "To                         Action      From\n--                         ------      ----\n"
            "51820/udp                  ALLOW IN    192.0.2.0/24\n")
    verdict = fw_ufw.udp_input_verdict(fw_ufw.parse_status(text), PORT, UPLINK)
    assert verdict["verdict"] == "drop"
    assert "192.0.2.0/24" in verdict["conditional"][0]


def test_garbage_is_an_error_not_a_traceback():
    parsed = fw_ufw.parse_status("ERROR: You need to be root to run this script\n")
    assert parsed["errors"] == ["no 'Status:' line: not ufw status output"]
    broken = fw_ufw.parse_status("Status: active\n--\n51820/udp FROBNICATE Anywhere\n")
    assert "line 3" in broken["errors"][0]
