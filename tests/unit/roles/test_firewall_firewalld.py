# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The firewall role's firewalld path is a thin wrapper of wg_firewalld (issue #11, one firewall model): no firewall-cmd
of its own, no plan in Jinja, every variable the module needs passed from the role's."""
from __future__ import annotations

import os

import yaml

from ansible_collections.wgdoctor.wireguard.plugins.modules import wg_firewalld

ROLE = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "roles", "firewall"))


def _load(*parts: str):
    with open(os.path.join(ROLE, *parts)) as handle:
        return yaml.safe_load(handle)


def test_firewalld_tasks_only_call_wg_firewalld():
    tasks = _load("tasks", "firewalld.yml")
    assert [name for task in tasks for name in task if "." in name] == ["wgdoctor.wireguard.wg_firewalld"]
    options = set(yaml.safe_load(wg_firewalld.DOCUMENTATION)["options"])
    assert set(tasks[0]["wgdoctor.wireguard.wg_firewalld"]) == options, "every option of the module comes from the role"


def test_no_firewalld_plan_is_left_in_jinja():
    assert not os.path.exists(os.path.join(ROLE, "templates", "firewalld_plan.j2"))
    for name in os.listdir(os.path.join(ROLE, "tasks")):
        with open(os.path.join(ROLE, "tasks", name)) as handle:
            text = handle.read()
        assert "firewall-cmd" not in text, "%s runs firewall-cmd itself" % name


def test_the_mss_clamp_of_firewalld_is_the_modules():
    block = _load("tasks", "mss_clamp.yml")[1]["block"]
    include = next(task for task in block if "ansible.builtin.include_tasks" in task)
    assert include["when"] == "firewall_mss_backend != 'firewalld'"
    assert not os.path.exists(os.path.join(ROLE, "tasks", "mss_firewalld.yml"))
    assert _load("tasks", "firewalld.yml")[0]["wgdoctor.wireguard.wg_firewalld"]["mss_clamp"] == "{{ firewall_mss_clamp | bool }}"
