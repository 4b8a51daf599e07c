# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An iptables-restore file with the firewall role's rules added; documentation lives in the .yml sidecar."""
from __future__ import annotations

import typing as t

from ansible.errors import AnsibleFilterError


def wg_iptables_rules_file(text: t.Any, rules: t.Any, path: str = "the rules file") -> str:
    # Collection modules are imported inside the filters: wg_diagnose.py says why.
    from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.iptables_rules_file import RulesFileError, with_rules

    if not isinstance(text, str):
        raise AnsibleFilterError("wg_iptables_rules_file: the input must be the file's text, got %s" % type(text).__name__)
    if not isinstance(rules, (list, tuple)):
        raise AnsibleFilterError("wg_iptables_rules_file: rules must be a list, got %s" % type(rules).__name__)
    try:
        return with_rules(text, rules, path)
    except RulesFileError as error:
        raise AnsibleFilterError("wg_iptables_rules_file: %s" % error) from None


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"wg_iptables_rules_file": wg_iptables_rules_file}
