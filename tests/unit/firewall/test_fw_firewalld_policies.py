# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""firewalld policies: forwarding and masquerade as firewalld 1.x decides them, zones AND policies.

The two recorded states (fixtures/firewalld_policies/README.md) are a hub after the firewall role's
remedies: without the policy's accept (masquerade_only) the zone still rejects what leaves the tunnel;
with it (accept_and_masquerade) the full-tunnel peer's packets were really forwarded and masqueraded.
"""
from __future__ import annotations

import pytest

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall import firewalld as fw_firewalld
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall.commands import FIREWALL_COMMANDS
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall.primitives import masquerade_covers
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall.reach import firewall_facts
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.host.runner import Host, firewall_outputs
from ansible_collections.wgdoctor.wireguard.tests.unit.firewall.fw_fixtures import fixture

TUNNEL, UPLINK, PORT, SUBNET = "fwhub5", "eth0", 44517, "10.95.0.0/24"
PEER, STRANGER = "10.95.0.3", "10.96.0.3"
POLICY = "wgdfw-fwhub5"
ACCEPT_RULE = 'rule family="ipv4" source address="10.95.0.0/24" accept'
MASQUERADE_RULE = 'rule family="ipv4" source address="10.95.0.0/24" masquerade'
KEYS = ("state", "default_zone", "active_zones", "zones", "policies")


def outputs_of(state, policies=None):
    """What wg_facts hands over for a recorded state: {FIREWALL_COMMANDS key: (rc, stdout, stderr)}."""
    outputs = {"firewalld_" + key: (0, fixture("firewalld_policies", "%s.%s" % (state, key)), "") for key in KEYS}
    if policies is not None:
        outputs["firewalld_policies"] = policies
    return outputs


def read(state):
    outputs = outputs_of(state)
    zones = fw_firewalld.parse_zones(outputs["firewalld_zones"][1],
                                     default_zone=fw_firewalld.parse_default_zone(outputs["firewalld_default_zone"][1]))
    return (zones, fw_firewalld.parse_active_zones(outputs["firewalld_active_zones"][1]),
            fw_firewalld.parse_policies(outputs["firewalld_policies"][1]))


def forward(state, source, win=TUNNEL, wout=UPLINK, ct_state="new"):
    zones, active, policies = read(state)
    return fw_firewalld.forward_verdict(zones, win, wout, active, ct_state=ct_state, source=source, policies=policies)


def facts_of(state, source=PEER, **outputs):
    return firewall_facts(outputs_of(state, **outputs), {TUNNEL: PORT}, [TUNNEL], [UPLINK], {TUNNEL: source})


# ---------------------------------------------------------------- what wg_facts runs

def test_the_policy_listing_is_one_of_the_firewall_commands():
    assert FIREWALL_COMMANDS["firewalld_policies"] == ["firewall-cmd", "--list-all-policies"]


class Runner:
    """Every firewall tool installed; firewall-cmd --state answers as given, everything else rc 0."""

    def __init__(self, state):
        self.state, self.ran = state, []

    def get_bin_path(self, name):
        return "/usr/sbin/" + name

    def run_command(self, args, data=None, environ_update=None):
        self.ran.append(args[1:])
        return self.state if args[1:] == ["--state"] else (0, "", "")


@pytest.mark.parametrize("state, runs", [((0, "running\n", ""), True), ((252, "not running\n", ""), False)])
def test_policies_are_listed_only_when_firewalld_runs(state, runs):
    runner = Runner(state)
    outputs = firewall_outputs(Host(runner))
    assert (["--list-all-policies"] in runner.ran) is runs
    assert (outputs["firewalld_policies"] == (0, "", "")) if runs else outputs["firewalld_policies"] is None


# ---------------------------------------------------------------- the recorded hub

def test_policy_listing_is_read_by_the_zone_parser():
    dummy_zones, dummy_active, policies = read("accept_and_masquerade")
    assert policies["errors"] == []
    policy = policies["zones"][POLICY]
    assert (policy["priority"], policy["target"], policy["ingress-zones"], policy["egress-zones"]) == (
        "-1", "CONTINUE", ["wgd-fwhub5"], ["public"])
    assert policy["rich rules"] == [MASQUERADE_RULE, ACCEPT_RULE] and "active" in policy["flags"]


def test_the_policy_accept_forwards_the_tunnel_subnet_before_the_zone_rejects():
    verdict = forward("accept_and_masquerade", PEER)
    assert (verdict["verdict"], verdict["backend"], verdict["table"], verdict["chain"], verdict["rule"]) == (
        "accept", "firewalld", POLICY, "policy %s" % POLICY, ACCEPT_RULE)
    assert not any("not read" in c and "polic" in c for c in verdict["conditional"]), verdict


def test_a_source_outside_the_rich_rule_falls_through_to_the_zone():
    verdict = forward("accept_and_masquerade", STRANGER)
    assert (verdict["verdict"], verdict["table"], verdict["rule"], verdict["reject_with"]) == (
        "reject", "wgd-fwhub5", "target: default", fw_firewalld.ADMIN_PROHIBITED)


def test_an_unknown_source_makes_the_rich_rule_a_doubt():
    verdict = forward("accept_and_masquerade", None)
    assert verdict["verdict"] == "reject"
    assert any(POLICY in c and ACCEPT_RULE in c for c in verdict["conditional"]), verdict


def test_without_the_policy_accept_the_zone_still_rejects():
    verdict = forward("masquerade_only", PEER)
    assert (verdict["verdict"], verdict["table"], verdict["chain"], verdict["rule"]) == (
        "reject", "wgd-fwhub5", "zone wgd-fwhub5", "target: default")


def test_the_policy_does_not_apply_the_other_way():
    # ingress zone public, egress zone wgd-fwhub5: no policy holds both.
    assert forward("accept_and_masquerade", "198.18.5.1", win=UPLINK, wout=TUNNEL)["verdict"] == "reject"
    assert forward("accept_and_masquerade", None, win=UPLINK, wout=TUNNEL, ct_state="established")["verdict"] == "accept"


@pytest.mark.parametrize("state", ["masquerade_only", "accept_and_masquerade"])
def test_the_policy_masquerade_covers_the_tunnel_out_of_the_uplink(state):
    zones, active, policies = read(state)
    entries = fw_firewalld.masquerade_rules(zones, active, policies=policies)
    entry = masquerade_covers(entries, SUBNET, UPLINK)
    assert entry is not None, entries
    assert (entry["backend"], entry["source"], entry["chain"], entry["target"]) == (
        "firewalld", SUBNET, "policy %s" % POLICY, "masquerade")
    assert MASQUERADE_RULE in entry["rule"]
    assert masquerade_covers(entries, "10.96.0.0/24", UPLINK) is None


def test_facts_of_the_fixed_hub_forward_and_masquerade():
    facts = facts_of("accept_and_masquerade")
    forward_facts = facts["interfaces"][TUNNEL]["forward"]
    assert (forward_facts["verdict"], forward_facts["from_tunnel"], forward_facts["table"], forward_facts["rule"]) == (
        "accept", "accept", POLICY, ACCEPT_RULE), forward_facts
    assert masquerade_covers(facts["masquerade"], SUBNET, UPLINK) is not None
    assert facts["errors"] == []


def test_facts_of_the_half_fixed_hub_still_reject():
    facts = facts_of("masquerade_only")
    assert facts["interfaces"][TUNNEL]["forward"]["from_tunnel"] == "reject"
    assert masquerade_covers(facts["masquerade"], SUBNET, UPLINK) is not None


@pytest.mark.parametrize("policies", [(2, "", "usage: see firewall-cmd man page\nfirewall-cmd: error: unrecognized arguments: --list-all-policies"),
                                      None])
def test_firewalld_without_policies_says_they_were_not_read(policies):
    outputs = outputs_of("accept_and_masquerade")
    if policies is None:
        del outputs["firewalld_policies"]
    else:
        outputs["firewalld_policies"] = policies
    facts = firewall_facts(outputs, {TUNNEL: PORT}, [TUNNEL], [UPLINK], {TUNNEL: PEER})
    verdict = facts["interfaces"][TUNNEL]["forward"]
    assert (verdict["verdict"], verdict["table"]) == ("reject", "wgd-fwhub5")
    assert any("policies" in c and "not read" in c for c in verdict["conditional"]), verdict
    assert masquerade_covers(facts["masquerade"], SUBNET, UPLINK) is None


# ---------------------------------------------------------------- firewalld's order, on small listings

ZONES = """public (active)
  target: default
  interfaces: eth0
  forward: yes
  masquerade: no
  rich rules:

tun (active)
  target: default
  interfaces: tun7
  forward: no
  masquerade: no
  rich rules:
"""


def policy(name, priority, target="CONTINUE", ingress="tun", egress="public", rules=(), masquerade="no", active=True):
    lines = ["%s%s" % (name, " (active)" if active else ""), "  priority: %d" % priority, "  target: %s" % target,
             "  ingress-zones: %s" % ingress, "  egress-zones: %s" % egress, "  masquerade: %s" % masquerade, "  rich rules: "]
    return "\n".join(lines + ["\t" + r for r in rules]) + "\n\n"


def small_verdict(policies_text, source="10.7.0.2", wout="eth0"):
    zones = fw_firewalld.parse_zones(ZONES, default_zone="public")
    return fw_firewalld.forward_verdict(zones, "tun7", wout, {}, source=source, policies=fw_firewalld.parse_policies(policies_text))


def test_policy_targets_decide_and_continue_goes_on():
    assert small_verdict(policy("p", -5, target="ACCEPT"))[("verdict")] == "accept"
    dropped = small_verdict(policy("p", -5, target="DROP"))
    assert (dropped["verdict"], dropped["table"], dropped["rule"]) == ("drop", "p", "target: DROP")
    assert small_verdict(policy("p", -5, target="REJECT"))["reject_with"] == fw_firewalld.ADMIN_PROHIBITED
    assert small_verdict(policy("p", -5))["table"] == "tun"


def test_lower_priority_first_and_any_zone_matches():
    deny = 'rule family="ipv4" source address="10.7.0.0/24" reject'
    allow = 'rule family="ipv4" source address="10.7.0.0/24" accept'
    text = policy("late", -1, rules=[allow]) + policy("early", -10, ingress="ANY", egress="ANY", rules=[deny])
    verdict = small_verdict(text)
    assert (verdict["verdict"], verdict["table"], verdict["rule"], verdict["reject_with"]) == (
        "reject", "early", deny, "icmp-port-unreachable")


def test_a_positive_priority_comes_after_the_zone_rules_and_before_its_target():
    allow = 'rule family="ipv4" source address="10.7.0.0/24" accept'
    # The zone tun rejects nothing by itself (target default): the positive policy still decides before the final reject.
    assert small_verdict(policy("after", 10, rules=[allow]))["table"] == "after"
    trusted = ZONES.replace("tun (active)\n  target: default", "tun (active)\n  target: ACCEPT")
    zones = fw_firewalld.parse_zones(trusted, default_zone="public")
    verdict = fw_firewalld.forward_verdict(zones, "tun7", "eth0", {}, source="10.7.0.2",
                                           policies=fw_firewalld.parse_policies(policy("after", 10, target="DROP")))
    # Recorded (firewalld_forward_policies/drop_after_trusted_zone): the zone's target ACCEPT comes after the policies.
    assert (verdict["verdict"], verdict["chain"], verdict["rule"]) == ("drop", "policy after", "target: DROP")


def test_inactive_policies_host_policies_and_other_egress_zones_do_not_apply():
    text = (policy("off", -5, target="DROP", active=False) + policy("host", -5, target="DROP", egress="HOST")
            + policy("other", -5, target="DROP", egress="tun"))
    assert small_verdict(text)["table"] == "tun"


def test_policy_masquerade_yes_out_of_bound_egress_interfaces_and_any_egress():
    # Egress zone public is the default zone: only its bound eth0 is masqueraded, not "any other" (recorded: firewalld
    # dispatches a policy's nat POSTROUTING by oifname of the egress zone's bindings).
    zones = fw_firewalld.parse_zones(ZONES, default_zone="public")
    entries = fw_firewalld.masquerade_rules(zones, {}, policies=fw_firewalld.parse_policies(
        policy("nat", -1, masquerade="yes") + policy("any", -1, egress="ANY", rules=['rule family="ipv4" source NOT address="10.7.0.0/24" masquerade'])))
    assert [(e["source"], e["out_interface"], e["chain"]) for e in entries] == [
        ("!10.7.0.0/24", None, "policy any"), (None, "eth0", "policy nat")]
    assert masquerade_covers(entries, "10.7.0.0/24", "eth0")["chain"] == "policy nat"


def test_garbage_policies_never_raise():
    for text in ("nonsense", "p (active)\n  priority: x\n  rich rules: \n\trule bad\"", policy("p", -1, ingress="", egress="")):
        parsed = fw_firewalld.parse_policies(text)
        verdict = small_verdict(text)
        assert verdict["verdict"] in ("accept", "drop", "reject", "unknown")
        fw_firewalld.masquerade_rules(fw_firewalld.parse_zones(ZONES, default_zone="public"), {}, policies=parsed)
