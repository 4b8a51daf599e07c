# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The remedies one host runs, in report order, each with every variable its role reads."""
from __future__ import annotations

import functools
import json
import os
import typing as t

import yaml
from ansible.errors import AnsibleFilterError

# Collection modules are imported inside the filters (here: types only): wg_diagnose.py says why.
if t.TYPE_CHECKING:
    from ansible_collections.wgdoctor.wireguard.plugins.module_utils.contracts import Remedy

ROLE_PREFIX = "wgdoctor.wireguard."
FIREWALL_ROLE = ROLE_PREFIX + "firewall"
# The role that starts an interface (service, the remedy of interface_down), by the variable naming it.
STARTS_INTERFACE = {ROLE_PREFIX + "service": "service_interface"}
# Roles whose check run can plan a stopped interface as started: the variable naming the interface, and the flag.
ASSUMES_INTERFACE_UP = {ROLE_PREFIX + "peer": ("peer_interface", "peer_assume_interface_up")}
ROLES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "roles")


@functools.lru_cache(maxsize=None)
def role_defaults(role: str) -> dict[str, t.Any]:
    """roles/<role>/defaults/main.yml: what include_role gives a variable the playbook does not pass.

    include_role's `vars` must be a static mapping, so the one task that runs every remedy names every
    role variable; those a remedy does not carry get the role's own default here, never one the
    playbook invents."""
    if not role.startswith(ROLE_PREFIX) or not role[len(ROLE_PREFIX):].replace("_", "").isalnum():
        raise AnsibleFilterError("wg_remedies: %r is not a role of wgdoctor.wireguard" % role)
    path = os.path.join(ROLES_DIR, role[len(ROLE_PREFIX):], "defaults", "main.yml")
    if not os.path.isfile(path):
        raise AnsibleFilterError("wg_remedies: %s has no defaults/main.yml" % role)
    with open(path) as handle:
        return yaml.safe_load(handle) or {}


def _remedy(value: t.Any) -> t.Optional[Remedy]:
    if not value:
        return None
    if not (isinstance(value, dict) and isinstance(value.get("role"), str) and isinstance(value.get("host"), str)
            and isinstance(value.get("vars"), dict)):
        raise AnsibleFilterError("wg_remedies: a remedy is {role, host, vars}, got %r" % (value,))
    return t.cast("Remedy", value)


def _merged(first: dict[str, t.Any], second: dict[str, t.Any]) -> t.Optional[dict[str, t.Any]]:
    """Two firewall remedies' own vars as one, or None when they disagree: lists are joined, flags that turn
    something on are or-ed, any other variable must be the same in both (or set in one only)."""
    merged = dict(first)
    for name, value in second.items():
        if name not in merged or merged[name] == value:
            merged[name] = value
        elif isinstance(value, list) and isinstance(merged[name], list):
            merged[name] = merged[name] + [item for item in value if item not in merged[name]]
        elif isinstance(value, bool) and isinstance(merged[name], bool):
            merged[name] = merged[name] or value
        else:
            return None
    return merged


def _plan_started_interfaces(remedies: list[Remedy]) -> None:
    """Tell each remedy that can plan a stopped interface as started whether an earlier remedy of the run starts it.

    A check run starts nothing, so without this a peer remedy after the service remedy of its interface showed only the
    file change, where the real run (the interface started by then) also changes the running peer. The flag is set
    from the order alone, never from a finding: where nothing starts the interface first, the real run changes no
    running peer, so the check run must not show one either."""
    started: set[str] = set()
    for remedy in remedies:
        if remedy["role"] in ASSUMES_INTERFACE_UP:
            interface_variable, flag = ASSUMES_INTERFACE_UP[remedy["role"]]
            remedy["vars"][flag] = remedy["vars"].get(interface_variable) in started
        starts = STARTS_INTERFACE.get(remedy["role"])
        if starts is not None and isinstance(remedy["vars"].get(starts), str):
            started.add(remedy["vars"][starts])


def wg_remedies(findings: t.Any, host: str) -> list[Remedy]:
    """The remedies of `findings` for `host`, in the findings' (report) order, each once.

    The report puts root causes first, so a remedy that brings an interface up runs before one that
    reads keys from it. Each remedy's vars are the role's defaults overlaid with the remedy's own.
    Firewall remedies of one interface (port, forwarding, masquerade) run as one, where the first of them
    stands: apart, `--check` planned each from the firewall as it was before any of them and showed
    changes the real run, where the first had made them, does not make again. A peer remedy that follows the
    remedy starting its interface (service, for interface_down) is planned by --check as on the started interface."""
    if not isinstance(findings, list):
        raise AnsibleFilterError("wg_remedies expects the report's findings (a list), got %s" % type(findings).__name__)
    own: list[Remedy] = []
    seen: set[str] = set()
    for finding in findings:
        remedy = _remedy((finding or {}).get("remedy") if isinstance(finding, dict) else None)
        if remedy is None or remedy["host"] != host:
            continue
        identity = json.dumps(remedy, sort_keys=True)
        if identity in seen:
            continue
        seen.add(identity)
        if remedy["role"] == FIREWALL_ROLE:
            same = [index for index, earlier in enumerate(own) if earlier["role"] == FIREWALL_ROLE
                    and earlier["vars"].get("firewall_interface") == remedy["vars"].get("firewall_interface")]
            merged = _merged(own[same[-1]]["vars"], remedy["vars"]) if same else None
            if merged is not None:
                own[same[-1]] = {"role": remedy["role"], "host": remedy["host"], "vars": merged}
                continue
        own.append({"role": remedy["role"], "host": remedy["host"], "vars": dict(remedy["vars"])})
    remedies: list[Remedy] = []
    for remedy in own:
        variables = dict(role_defaults(remedy["role"]))
        variables.update(remedy["vars"])
        remedies.append({"role": remedy["role"], "host": remedy["host"], "vars": variables})
    _plan_started_interfaces(remedies)
    return remedies


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"wg_remedies": wg_remedies}
