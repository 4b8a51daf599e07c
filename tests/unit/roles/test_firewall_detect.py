# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The firewall role's `firewall_backend: auto` picks with the readers the diagnosis uses (issue #11, one firewall model).

Until commit ebac3b4 roles/firewall/tasks/detect.yml ran ufw, firewall-cmd, nft and `iptables -S` itself and
picked in Jinja with rules of its own; OLD_PICK below is that task, verbatim, kept to show on recorded outputs
where the two answers differ and which one the packets agree with.
"""
from __future__ import annotations

import os
import sys

import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall import reach

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "firewall"))
from fw_fixtures import fixture, probes, ran  # noqa: E402  pylint: disable=wrong-import-position

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
DETECT = os.path.join(REPO, "roles", "firewall", "tasks", "detect.yml")

# detect.yml's "Pick the backend" task as of commit ebac3b4.
OLD_PICK = yaml.safe_load(r"""
firewall_active_backend: >-
  {{ 'ufw' if 'Status: active' in firewall_ufw_status.stdout | default('')
     else 'firewalld' if firewall_firewalld_state.stdout | default('') | trim == 'running'
     else 'nftables' if firewall_nft_native_input_chains | length > 0
     else 'iptables' if firewall_iptables_filtering
     else 'none' }}
vars:
  firewall_nft_items: >-
    {{ (firewall_nft_ruleset.stdout | from_json).nftables
       if firewall_nft_ruleset.rc == 0 and firewall_nft_ruleset.stdout | length > 0 else [] }}
  firewall_hooks: "{{ ['input', 'forward'] if firewall_forward | bool else ['input'] }}"
  firewall_iptables_chains: "{{ '(INPUT|FORWARD)' if firewall_forward | bool else 'INPUT' }}"
  firewall_nft_native_input_chains: >-
    {{ firewall_nft_items | selectattr('chain', 'defined') | map(attribute='chain')
       | selectattr('hook', 'defined') | selectattr('hook', 'in', firewall_hooks)
       | rejectattr('name', 'in', ['INPUT', 'FORWARD']) | list }}
  firewall_iptables_filtering: >-
    {{ firewall_iptables_input.results | selectattr('rc', 'equalto', 0) | map(attribute='stdout_lines') | flatten
       | select('match', '^(-A ' ~ firewall_iptables_chains ~ ' |-P ' ~ firewall_iptables_chains ~ ' (?!ACCEPT))')
       | list | length > 0 }}
""")


def _dash_s(save_text: str) -> str:
    """`iptables -S` of the filter table of an iptables-save text: what the old rule read."""
    policies, chains, rules, table = [], [], [], None
    for line in save_text.splitlines():
        if line.startswith("*"):
            table = line[1:]
        elif table != "filter" or not line.strip() or line.startswith(("#", "COMMIT")):
            continue
        elif line.startswith(":"):
            name, policy = line[1:].split()[:2]
            (chains.append("-N %s" % name) if policy == "-" else policies.append("-P %s %s" % (name, policy)))
        else:
            rules.append(line.split("] ", 1)[1] if line.startswith("[") else line)
    return "\n".join(policies + chains + rules)


def old_pick(ufw_status: str = "", firewalld_state: str = "", nft_json: str = "", iptables_s: str = "",
             forward: bool = False) -> str:
    """The old Jinja rule on the outputs of the commands it ran."""
    variables = {
        "firewall_forward": forward,
        "firewall_ufw_status": {"stdout": ufw_status},
        "firewall_firewalld_state": {"stdout": firewalld_state},
        "firewall_nft_ruleset": {"rc": 0 if nft_json else 127, "stdout": nft_json},
        "firewall_iptables_input": {"results": [{"rc": 0, "stdout_lines": iptables_s.splitlines()},
                                                {"rc": 0, "stdout_lines": []}]},
    }
    templar = Templar(loader=DataLoader(), variables=variables)
    for name, expression in OLD_PICK["vars"].items():
        variables[name] = templar.template(trust_as_template(expression))
        templar = Templar(loader=DataLoader(), variables=variables)
    return templar.template(trust_as_template(OLD_PICK["firewall_active_backend"])).strip()


def test_detect_takes_the_backend_from_the_readers_module():
    """detect.yml runs no firewall command and no Jinja rule of its own: it asks wg_firewall_backend."""
    with open(DETECT) as handle:
        tasks = yaml.safe_load(handle)
    modules = [name for task in tasks for name in task if "." in name and name != "ansible.builtin.set_fact"
               and not name.startswith("ansible.builtin.debug")]
    assert modules == ["wgdoctor.wireguard.wg_firewall_backend"], modules
    call = next(task for task in tasks if "wgdoctor.wireguard.wg_firewall_backend" in task)
    assert call["wgdoctor.wireguard.wg_firewall_backend"]["forward"] == "{{ firewall_forward | bool }}"
    register = call["register"]
    picks = [task["ansible.builtin.set_fact"]["firewall_active_backend"] for task in tasks
             if "firewall_active_backend" in (task.get("ansible.builtin.set_fact") or {})]
    assert picks == ["{{ %s.backend }}" % register]


def test_old_rule_missed_legacy_rules_behind_an_nft_iptables_command():
    """iptables-legacy rules that drop the port while `iptables` is the nft variant (Debian's default since buster,
    rules restored from an older rules.v4 with iptables-legacy-restore): the old rule read `iptables -S`, the nft
    variant's empty filter table, and said nothing filters; the readers see the legacy DROP, and so did the packet."""
    legacy = fixture("iptables", "policy_drop.legacy.save")
    nft_variant = fixture("iptables", "empty.nft.save")
    nft_json = fixture("iptables", "empty.nft.nft.json")
    assert probes()["iptables/policy_drop.legacy"]["arrived"] == 0, "the recorded probe was dropped"
    old = old_pick(nft_json=nft_json, iptables_s=_dash_s(nft_variant))
    new = reach.active_backends({"iptables_legacy": ran("iptables", "policy_drop.legacy.save"),
                                 "iptables_nft": ran("iptables", "empty.nft.save"),
                                 "nft": ran("iptables", "empty.nft.nft.json")})
    assert legacy and old == "none"
    assert (new["backends"], new["backend"]) == (["iptables-legacy"], "iptables")


def test_both_agree_where_only_one_iptables_variant_exists():
    """The recorded iptables-nft DROP policy: both answers are iptables (the reader does not count iptables-nft's
    own tables in `nft list ruleset` as native nftables, nor did the old rule)."""
    save = fixture("iptables", "policy_drop.nft.save")
    old = old_pick(nft_json=fixture("iptables", "policy_drop.nft.nft.json"), iptables_s=_dash_s(save))
    new = reach.active_backends({"iptables_nft": ran("iptables", "policy_drop.nft.save"),
                                 "nft": ran("iptables", "policy_drop.nft.nft.json")})
    assert old == new["backend"] == "iptables"
