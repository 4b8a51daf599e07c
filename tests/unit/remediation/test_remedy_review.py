"""Which saved remedies run: only those this run's diagnosis confirms (issue #11 item 11, remediate.yml)."""
from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.wgdoctor.wireguard.plugins.filter.wg_confirm_remedies import wg_confirm_remedies
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.remedy_review import review_remedies

PORT = 51999


def finding(code: str, host: str, role: str, interface: str = "wghub", **variables) -> dict:
    return {"code": code, "host": host, "interface": interface, "peer": None, "severity": "critical",
            "remedy": {"role": "wgdoctor.wireguard." + role, "host": host, "vars": variables}}


def test_a_remedy_found_again_with_the_same_values_runs_in_this_runs_order():
    service = finding("interface_down", "hub", "service", service_interface="wghub")
    firewall = finding("udp_blocked_host_firewall", "hub", "firewall", firewall_interface="wghub", firewall_port=PORT)
    # The fresh pass puts the root cause first; the saved one had them the other way round.
    review = review_remedies([service, firewall], [firewall, service])
    assert [f["code"] for f in review["confirmed"]] == ["interface_down", "udp_blocked_host_firewall"]
    assert review["not_applied"] == []


def test_what_is_fixed_since_what_changed_and_what_nobody_reviewed_do_not_run():
    fixed = finding("udp_blocked_host_firewall", "hub", "firewall", firewall_interface="wghub", firewall_port=PORT)
    saved_key = finding("peer_public_key_mismatch", "spoke", "peer", interface="wgspoke", peer_interface="wgspoke",
                        peer_public_key="OLD", peer_new_public_key="HUB1")
    fresh_key = finding("peer_public_key_mismatch", "spoke", "peer", interface="wgspoke", peer_interface="wgspoke",
                        peer_public_key="OLD", peer_new_public_key="HUB2")
    new = finding("interface_down", "hub", "service", service_interface="wghub")
    review = review_remedies([fresh_key, new], [fixed, saved_key])
    assert review["confirmed"] == []
    assert [(n["code"], n["reason"]) for n in review["not_applied"]] == [
        ("peer_public_key_mismatch", "this run would fix it otherwise (peer_new_public_key differs)"),
        ("interface_down", "it is not in the report reviewed"),
        ("udp_blocked_host_firewall", "the diagnosis of this run does not find it")]
    assert review["not_applied"][0]["summary"] == \
        "peer_public_key_mismatch on spoke (wgspoke): not applied, this run would fix it otherwise (peer_new_public_key differs)"
    assert "HUB" not in str(review["not_applied"]), "a value, not only its name, reached the message"
    # What report.json's remediation.not_applied takes from each (wg_report).
    assert [(n["why"], n["role"], n["peer"]) for n in review["not_applied"]] == [
        ("differs", "wgdoctor.wireguard.peer", None), ("not_reviewed", "wgdoctor.wireguard.service", None),
        ("not_found", "wgdoctor.wireguard.firewall", None)]


def test_the_same_finding_on_another_interface_is_another_finding():
    saved = finding("interface_down", "hub", "service", interface="wgone", service_interface="wgone")
    fresh = finding("interface_down", "hub", "service", interface="wgtwo", service_interface="wgtwo")
    review = review_remedies([fresh], [saved])
    assert review["confirmed"] == [] and len(review["not_applied"]) == 2


def test_findings_without_a_remedy_play_no_part():
    symptom = dict(finding("handshake_never", "hub", "peer"), remedy=None)
    assert review_remedies([symptom], []) == {"confirmed": [], "not_applied": []}


@pytest.mark.parametrize("fresh, saved", [({"findings": []}, []), ([], "report.json"), ([1], [])])
def test_the_filter_refuses_anything_but_two_lists_of_findings(fresh, saved):
    with pytest.raises(AnsibleFilterError, match="wg_confirm_remedies: "):
        wg_confirm_remedies(fresh, saved)
