# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""wg_facts: the module reads the host; the firewall verdicts are computed here, on the controller, and the
controller's clock when the facts arrived is put beside the host's (`clock.controller_epoch`).

The module returns the firewall commands' output as `firewall_input`; this plugin removes it
from the result and puts the verdicts where docs/facts.md has them
(plugin_utils/firewall_facts.py). What a task registers is what the module returned when it
computed them itself, plus `clock.controller_epoch`; the module's payload no longer carries the
firewall readers.
"""
from __future__ import annotations

import time
import typing as t

from ansible.plugins.action import ActionBase

from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.firewall_facts import attach_firewall, stamp_arrival


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _supports_check_mode = True
    # The verdicts are computed from the module's result: an async job's result would come back without them.
    _supports_async = False

    def run(self, tmp: t.Any = None, task_vars: t.Optional[t.Dict[str, t.Any]] = None) -> t.Dict[str, t.Any]:
        result = super().run(tmp, task_vars)
        del tmp  # not used since Ansible 2.5
        result.update(self._execute_module(module_name="wgdoctor.wireguard.wg_facts", module_args=self._task.args,
                                           task_vars=task_vars))
        firewall_input = result.pop("firewall_input", None)
        facts = (result.get("ansible_facts") or {}).get("wireguard")
        if isinstance(facts, dict) and not result.get("failed"):
            stamp_arrival(facts, time.time())
            attach_firewall(facts, firewall_input)
        return result
