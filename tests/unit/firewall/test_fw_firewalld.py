# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""firewalld: is the port (or a service carrying it) open in the zone of the arrival interface?"""
from __future__ import annotations

from ansible_collections.wgdoctor.wireguard.plugins.module_utils import fw_firewalld
from ansible_collections.wgdoctor.wireguard.tests.unit.firewall.fw_fixtures import PORT, UPLINK, WG, fixture

ACTIVE = fw_firewalld.parse_active_zones(fixture("firewalld", "active_zones"))


def verdict_of(name, interface=UPLINK):
    return fw_firewalld.udp_input_verdict(fw_firewalld.parse_zones(fixture("firewalld", name)), PORT, interface, ACTIVE)


def test_state_running_and_not_running():
    assert fw_firewalld.parse_state(0, fixture("firewalld", "state_running"))
    assert not fw_firewalld.parse_state(252, fixture("firewalld", "state_not_running"))


def test_zones_and_default_zone():
    zones = fw_firewalld.parse_zones(fixture("firewalld", "zones_port_closed"))
    assert zones["default_zone"] == "public"
    assert zones["zones"]["public"]["services"] == ["dhcpv6-client", "ssh"]
    assert ACTIVE == {"public": {"interfaces": ["fwv1"], "sources": []}, "trusted": {"interfaces": ["wgF0"], "sources": []}}


def test_closed_port_in_public_zone_is_rejected_by_the_zone_target():
    verdict = verdict_of("zones_port_closed")
    assert (verdict["verdict"], verdict["table"]) == ("reject", "public")


def test_open_port_and_wireguard_service():
    assert verdict_of("zones_port_open")["rule"] == "port 51820/udp"
    assert verdict_of("zones_service_wireguard")["rule"] == "service wireguard"


def test_rich_drop_wins_and_source_rich_accept_is_conditional():
    verdict = verdict_of("zones_rich_drop")
    assert verdict["verdict"] == "drop"
    assert verdict["rule"] == 'rule family="ipv4" port port="51820" protocol="udp" drop'


def test_trusted_zone_accepts_everything():
    assert verdict_of("zones_port_closed", interface=WG)["verdict"] == "accept"


def test_forward_out_of_trusted_zone_and_masquerade_in_public():
    zones = fw_firewalld.parse_zones(fixture("firewalld", "zones_port_open"))
    assert fw_firewalld.forward_verdict(zones, WG, UPLINK, ACTIVE)["verdict"] == "accept"
    assert fw_firewalld.forward_verdict(zones, UPLINK, WG, ACTIVE)["verdict"] == "reject"
    assert [(m["out_interface"], m["rule"]) for m in fw_firewalld.masquerade_rules(zones, ACTIVE)] == [
        ("fwv1", "zone public: masquerade: yes")]


def test_garbage_is_an_error():
    assert fw_firewalld.parse_zones("   indented garbage\n")["errors"]
    assert "unreadable zone header 'FirewallD is not running'" in fw_firewalld.parse_zones("FirewallD is not running\n")["errors"][0]


def test_forward_port_continuation_lines_stay_with_their_setting():
    text = fixture("firewalld", "zones_rich_drop").replace(
        "  forward-ports: \n", "  forward-ports: port=80:proto=tcp:toport=8080:toaddr=\n\tport=443:proto=tcp:toport=8443:toaddr=\n", 1)
    zones = fw_firewalld.parse_zones(text)
    assert zones["zones"]["block"]["forward-ports"] == ["port=80:proto=tcp:toport=8080:toaddr=", "port=443:proto=tcp:toport=8443:toaddr="]
    assert len(zones["zones"]["public"]["rich rules"]) == 2
