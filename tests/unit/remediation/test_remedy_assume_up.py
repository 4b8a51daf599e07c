"""A peer remedy after the remedy that starts its interface is planned, in --check, as the real run makes it (issue #11,
"Honest diagnosis and check mode").

The real run starts a stopped interface (the service remedy of interface_down) before a later peer remedy of the same
host and interface, which then changes the running peer too. A check run starts nothing: the peer role shows that live
change only with peer_assume_interface_up, which the remedy plumbing sets exactly there. Where nothing starts the
interface the real run changes no running peer (a stopped interface has none), so the check run must not show one.
"""
from __future__ import annotations

import pytest

from ansible_collections.wgdoctor.wireguard.plugins.filter.wg_remedies import role_defaults, wg_remedies

PEER = "wgdoctor.wireguard.peer"
KEY, OTHER_KEY = "x" * 43 + "=", "y" * 43 + "="


def remedy(role: str, host: str, **variables) -> dict:
    return {"role": "wgdoctor.wireguard." + role, "host": host, "vars": variables}


def interface_down(host: str, interface: str) -> dict:
    return {"code": "interface_down", "remedy": remedy("service", host, service_interface=interface)}


def allowed_ips_wrong(host: str, interface: str) -> dict:
    return {"code": "allowed_ips_missing_tunnel_address",
            "remedy": remedy("peer", host, peer_interface=interface, peer_public_key=KEY, peer_allowed_ips=["10.71.0.2/32"])}


def preshared_key_mismatch(host: str, interface: str) -> dict:
    return {"code": "preshared_key_mismatch",
            "remedy": remedy("peer", host, peer_interface=interface, peer_public_key=OTHER_KEY,
                             peer_preshared_key_from_host="hub", peer_preshared_key_from_interface="wg-corp7")}


def assumed_up(findings: list[dict], host: str) -> list[bool]:
    """peer_assume_interface_up of each peer remedy the host runs, in order."""
    return [applied["vars"]["peer_assume_interface_up"] for applied in wg_remedies(findings, host) if applied["role"] == PEER]


def test_the_role_default_assumes_nothing():
    assert role_defaults(PEER)["peer_assume_interface_up"] is False


def test_a_peer_remedy_after_the_service_remedy_of_its_interface_is_planned_as_started():
    findings = [interface_down("spoke06", "wg-sp6"), preshared_key_mismatch("spoke06", "wg-sp6"), allowed_ips_wrong("spoke06", "wg-sp6")]
    assert assumed_up(findings, "spoke06") == [True, True]


def test_a_remedy_between_them_does_not_break_the_chain():
    findings = [interface_down("spoke06", "wg-sp6"),
                {"code": "udp_blocked_host_firewall",
                 "remedy": remedy("firewall", "spoke06", firewall_interface="wg-sp6", firewall_port=47116)},
                allowed_ips_wrong("spoke06", "wg-sp6")]
    assert assumed_up(findings, "spoke06") == [True]


@pytest.mark.parametrize("findings", [
    pytest.param([allowed_ips_wrong("spoke06", "wg-sp6")], id="no service remedy"),
    pytest.param([allowed_ips_wrong("spoke06", "wg-sp6"), interface_down("spoke06", "wg-sp6")], id="service remedy after it"),
    pytest.param([interface_down("spoke06", "wg-other"), allowed_ips_wrong("spoke06", "wg-sp6")], id="another interface started"),
    pytest.param([interface_down("spoke07", "wg-sp6"), allowed_ips_wrong("spoke06", "wg-sp6")], id="same name started on another host"),
])
def test_a_peer_remedy_nothing_starts_before_it_is_planned_as_it_is(findings):
    assert assumed_up(findings, "spoke06") == [False]


def test_only_the_peer_remedies_after_the_start_are_planned_as_started():
    findings = [preshared_key_mismatch("spoke06", "wg-sp6"), interface_down("spoke06", "wg-sp6"), allowed_ips_wrong("spoke06", "wg-sp6")]
    assert assumed_up(findings, "spoke06") == [False, True]


def test_the_plumbing_decides_not_the_finding():
    """A finding states facts; whether the interface will run by then is known only from the order of the remedies."""
    claimed = allowed_ips_wrong("spoke06", "wg-sp6")
    claimed["remedy"]["vars"]["peer_assume_interface_up"] = True
    assert assumed_up([claimed], "spoke06") == [False]
    assert claimed["remedy"]["vars"]["peer_assume_interface_up"] is True, "the finding itself was changed"


def test_the_other_roles_get_no_such_variable():
    findings = [interface_down("spoke06", "wg-sp6"), allowed_ips_wrong("spoke06", "wg-sp6")]
    service = [applied for applied in wg_remedies(findings, "spoke06") if applied["role"] != PEER]
    assert service and all("peer_assume_interface_up" not in applied["vars"] for applied in service)
