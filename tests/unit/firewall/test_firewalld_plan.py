# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The firewall role's firewalld plan, made in Python by the diagnosis' reader (issue #11, one firewall model).

The recorded outputs (fixtures/firewalld_plan/, firewalld 1.3.3 on the lab server, see its README) are what
firewall-cmd printed in each state: the image's configuration (fresh), the tunnel opened by hand the way the role
does it (converged), and two real cases where the role's earlier Jinja plan (firewalld_policy.yml + firewalld_plan.j2,
run verbatim by old_firewalld_plan.py) did the wrong thing. Both tests failed on the Jinja plan before the Python one.
"""
from __future__ import annotations

import hashlib
import os
import sys
import typing as t

import pytest

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall import firewalld as fw_firewalld
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall import firewalld_plan

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fw_fixtures import fixture  # noqa: E402  pylint: disable=wrong-import-position
import old_firewalld_plan  # noqa: E402  pylint: disable=wrong-import-position

TUNNEL = "10.99.0.0/24"
ROLE_VARS: firewalld_plan.Params = {
    "interface": "wg0", "port": 51820, "zone": "", "uplinks": ["eth0"], "forward": True, "forward_sources": [TUNNEL],
    "forward_uplinks": ["eth0"], "masquerade_source": TUNNEL, "masquerade_interface": "eth0", "mss_clamp": False,
    "comment": "wgdoctor"}
ACCEPT = 'rule family="ipv4" source address="10.99.0.0/24" accept'
MASQUERADE = 'rule family="ipv4" source address="10.99.0.0/24" masquerade'


def recorded(name: str, what: str) -> str:
    return fixture("firewalld_plan", "%s.%s" % (name, what))


def state_of(name: str) -> firewalld_plan.State:
    """What wg_firewalld reads, from the recorded outputs of one state."""
    default = t.cast(str, fw_firewalld.parse_default_zone(recorded(name, "default_zone")))
    layers = {layer: firewalld_plan.read_layer(
        recorded(name, prefix + "zones"), recorded(name, prefix + "policies"), recorded(name, prefix + "direct"),
        recorded(name, prefix + "ipsets"), default_zone=default) for layer, prefix in (("permanent", "permanent_"), ("runtime", ""))}
    return {"default_zone": default, "active": fw_firewalld.parse_active_zones(recorded(name, "active_zones")),
            "permanent": layers["permanent"], "runtime": layers["runtime"]}


def new_plan(role_vars: firewalld_plan.Params, name: str) -> dict[str, t.Any]:
    """The Python plan in the shape old_firewalld_plan.plan gives."""
    made = firewalld_plan.plan(role_vars, state_of(name))
    return {"permanent": [c["args"][1:] for c in made["changes"] if c["layer"] == "permanent"],
            "runtime": [c["args"] for c in made["changes"] if c["layer"] == "runtime"],
            "reload": made["reload"], "refused": made["lost_by_reload"], "plan": made}


def test_a_policy_rule_removed_at_runtime_is_put_back_at_runtime():
    """An admin debugging the tunnel removed the policy's accept at runtime only: forwarding is broken until the next
    reload or reboot. The old plan compared the permanent configuration only (which still has the rule), planned
    nothing and reported ok; the plan of each configuration on its own adds the rule at runtime, and only there."""
    changes = new_plan(ROLE_VARS, "policy_rule_removed_at_runtime")
    assert changes["runtime"] == [["--policy=wgdfw-wg0", "--add-rich-rule=" + ACCEPT]]
    assert changes["permanent"] == [] and not changes["reload"]
    assert changes["plan"]["before"] == [line for line in changes["plan"]["after"] if line != "runtime: policy wgdfw-wg0: " + ACCEPT]
    old = old_firewalld_plan.plan(dict(ROLE_VARS), recorded, "policy_rule_removed_at_runtime")
    assert old["runtime"] == [] and old["permanent"] == [], "the Jinja plan saw nothing to do"


def test_a_port_opened_at_runtime_only_does_not_block_the_reload():
    """The classic first attempt: `firewall-cmd --add-port=51820/udp` without --permanent (works until the next reboot).
    The old role refused the reload the new zone and policy need, since the runtime held a port the permanent
    configuration lacked - the very port the role makes permanent before it reloads. Nothing else is runtime-only."""
    changes = new_plan(ROLE_VARS, "port_open_runtime_only")
    assert changes["refused"] == []
    assert changes["reload"]
    assert ["--zone=public", "--add-port=51820/udp"] in changes["permanent"]
    assert changes["runtime"] == [], "after the reload the runtime is the permanent configuration"
    old = old_firewalld_plan.plan(dict(ROLE_VARS), recorded, "port_open_runtime_only")
    assert old["refused"] == ["ports: 51820/udp"], "the Jinja plan refused"


def test_a_reload_is_refused_when_it_would_drop_a_runtime_only_setting_the_plan_does_not_make():
    """Another runtime-only port (8443/tcp, someone's service) would vanish with the reload: refused, as before."""
    state = state_of("port_open_runtime_only")
    state["runtime"]["zones"]["zones"]["public"]["ports"].append("8443/tcp")
    made = firewalld_plan.plan(ROLE_VARS, state)
    assert made["reload"] and made["lost_by_reload"] == ["zone public: ports 8443/tcp"]


def test_on_the_image_configuration_the_plan_is_what_the_jinja_plan_was_plus_the_port():
    """Where both plans are right they agree (the port was ansible.posix.firewalld's task, runtime and permanent; the
    services the tunnel reached in the default zone, which the old plan took away, go with it into its own zone)."""
    changes = new_plan(ROLE_VARS, "fresh")
    old = old_firewalld_plan.plan(dict(ROLE_VARS), recorded, "fresh")
    assert changes["reload"] and old["reload"] and changes["refused"] == old["refused"] == []
    kept = [["--zone=wgd-wg0", "--add-service=dhcpv6-client"], ["--zone=wgd-wg0", "--add-service=ssh"]]
    assert sorted(changes["permanent"]) == sorted(old["permanent"] + [["--zone=public", "--add-port=51820/udp"]] + kept)
    assert changes["runtime"] == []
    assert [c["what"] for c in changes["plan"]["changes"]][:2] == ["permanent: + zone wgd-wg0", "permanent: + policy wgdfw-wg0"]
    assert not any("trusted" in line or "--add-masquerade" in line for args in changes["permanent"] for line in args)


def test_a_converged_host_plans_nothing():
    changes = new_plan(ROLE_VARS, "converged")
    assert changes["permanent"] == changes["runtime"] == [] and not changes["reload"]
    assert changes["plan"]["before"] == changes["plan"]["after"]
    old = old_firewalld_plan.plan(dict(ROLE_VARS), recorded, "converged")
    assert old["permanent"] == old["runtime"] == [] and not old["reload"]


def test_the_mss_clamp_is_planned_as_direct_rules_in_each_configuration():
    fresh = new_plan(dict(ROLE_VARS, forward=False, masquerade_source="", masquerade_interface="", mss_clamp=True), "fresh")
    direct = [args for args in fresh["runtime"] if args[0] == "--direct"]
    assert len(direct) == 4 and len([args for args in fresh["permanent"] if args[0] == "--direct"]) == 4
    assert ["--direct", "--add-rule", "ipv6", "mangle", "FORWARD", "0", "-i", "wg0", "-p", "tcp", "--tcp-flags", "SYN,RST", "SYN",
            "-m", "comment", "--comment", "wgdoctor", "-j", "TCPMSS", "--clamp-mss-to-pmtu"] in direct
    converged = new_plan(dict(ROLE_VARS, mss_clamp=True), "converged")
    assert converged["permanent"] == converged["runtime"] == []


def test_only_the_port_without_forwarding():
    changes = new_plan(dict(ROLE_VARS, forward=False, forward_sources=[], forward_uplinks=[], masquerade_source="",
                            masquerade_interface=""), "fresh")
    assert changes["permanent"] == [["--zone=public", "--add-port=51820/udp"]]
    assert changes["runtime"] == [["--zone=public", "--add-port=51820/udp"]] and not changes["reload"]


def test_an_interface_the_host_bound_to_another_zone_stays_there_with_a_warning():
    state = state_of("fresh")
    for layer in ("runtime", "permanent"):
        state[layer]["zones"]["zones"]["trusted"]["interfaces"] = ["wg0"]
    made = firewalld_plan.plan(ROLE_VARS, state)
    assert made["ingress_zone"] == "trusted" and not made["ours"]
    assert "target ACCEPT" in made["warnings"][0]
    assert not any(c["item"][0] == "zone" or (c["item"][0] == "interface" and c["item"][2] == "wg0") for c in made["changes"])
    assert ("ingress", "wgdfw-wg0", "trusted") in [c["item"] for c in made["changes"]]


def test_a_stale_policy_setting_of_ours_is_removed_in_the_configuration_that_has_it():
    """The tunnel's subnet changed: the policy's old accept goes, in both configurations, and nothing else of the policy."""
    changes = new_plan(dict(ROLE_VARS, forward_sources=["10.98.0.0/24"], masquerade_source="10.98.0.0/24"), "converged")
    for layer, prefix in (("permanent", []), ("runtime", [])):
        assert prefix + ["--policy=wgdfw-wg0", "--remove-rich-rule=" + ACCEPT] in changes[layer]
        assert prefix + ["--policy=wgdfw-wg0", "--remove-rich-rule=" + MASQUERADE] in changes[layer]
        assert prefix + ["--policy=wgdfw-wg0", '--add-rich-rule=rule family="ipv4" source address="10.98.0.0/24" accept'] in changes[layer]
        assert len(changes[layer]) == 4


@pytest.mark.parametrize("one_remedy", [
    pytest.param({"forward": False, "forward_sources": [], "forward_uplinks": []}, id="masquerade only"),
    pytest.param({"masquerade_source": "", "masquerade_interface": ""}, id="forwarding only"),
])
def test_a_remedy_for_one_thing_keeps_what_a_remedy_for_the_other_added(one_remedy):
    """The diagnosis names forward_chain_blocks and nat_masquerade_missing as two findings, and the remediation runs
    the role once for each: the masquerade run must not take away the accept the forwarding run added (found in the
    lab: a hub's full-tunnel peer lost its forwarding that way), nor the forwarding run the masquerade."""
    changes = new_plan(dict(ROLE_VARS, **one_remedy), "converged")
    assert changes["permanent"] == [] and changes["runtime"] == [], changes


def test_the_tunnel_keeps_what_its_peers_reached_when_it_moves_into_a_zone_of_its_own():
    """wg0, bound to no zone, was filtered by the default zone (public: ssh, dhcpv6-client): a peer reached SSH through
    the tunnel. Moved into wgd-wg0 for forwarding, it must still: the new zone gets the services and ports of the zone
    that filtered it, and nothing more (found in the lab: a neighbour peer lost SSH through a firewalld hub's tunnel)."""
    changes = new_plan(ROLE_VARS, "fresh")
    for service in ("ssh", "dhcpv6-client"):
        assert ["--zone=wgd-wg0", "--add-service=%s" % service] in changes["permanent"], changes["permanent"]
    assert not any(arg.startswith("--add-service") for args in changes["runtime"] for arg in args), "the reload brings them"
    converged = new_plan(ROLE_VARS, "converged")
    assert converged["permanent"] == [] and converged["runtime"] == [], "a tunnel already in its zone gets nothing more"


def test_the_new_zone_takes_tcp_ports_but_not_the_udp_ports_of_wireguard_opened_beside_it():
    """A UDP port in the old zone is a WireGuard listen port, maybe opened by the remedy run just before (another
    tunnel's): copying it made the real run differ from --check, which planned from the firewall before that remedy
    (found in the lab on the firewalld hub, wg0's 51820/udp)."""
    state = state_of("fresh")
    for layer in ("runtime", "permanent"):
        state[layer]["zones"]["zones"]["public"]["ports"] = ["51820/udp", "8443/tcp"]
    made = firewalld_plan.plan(ROLE_VARS, state)
    added = [c["args"][1:] for c in made["changes"] if c["layer"] == "permanent"]
    assert ["--zone=wgd-wg0", "--add-port=8443/tcp"] in added, added
    assert ["--zone=wgd-wg0", "--add-port=51820/udp"] not in added, added


def test_names_fit_firewalld_and_long_interface_names_are_shortened_as_before():
    assert firewalld_plan.zone_name("wgsrv") == "wgd-wgsrv" and firewalld_plan.policy_name("wgsrv") == "wgdfw-wgsrv"
    # The Jinja of vars/main.yml: interface[:7] ~ '-' ~ (interface | hash('sha1'))[:4]
    assert firewalld_plan.short_name("wg-corpnet-hub") == "wg-corp-" + hashlib.sha1(b"wg-corpnet-hub").hexdigest()[:4]
    assert len(firewalld_plan.zone_name("abcdefghijklmno")) <= 17 and len(firewalld_plan.policy_name("abcdefghijklmno")) <= 18


@pytest.mark.parametrize("bad, message", [
    ({"interface": "wg0;rm"}, "interface"), ({"uplinks": ["eth 0"]}, "uplinks"), ({"port": 0}, "port"),
    ({"forward_sources": ["10.99.0.0"]}, "prefix length"), ({"masquerade_interface": ""}, "come together"),
    ({"forward_uplinks": []}, "forward needs"), ({"zone": "a b"}, "zone"),
])
def test_bad_input_is_named(bad, message):
    with pytest.raises(firewalld_plan.PlanError, match=message):
        firewalld_plan.check_params(t.cast(firewalld_plan.Params, dict(ROLE_VARS, **bad)))


def test_the_recorded_states_read_with_the_diagnosis_reader():
    for name in ("fresh", "converged", "port_open_runtime_only", "policy_rule_removed_at_runtime"):
        zones = fw_firewalld.parse_zones(recorded(name, "zones"), recorded(name, "default_zone").strip())
        assert zones["errors"] == [] and zones["default_zone"] == "public"
        state_of(name)  # policies and direct rules read too
