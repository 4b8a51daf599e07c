"""A role that changes a WireGuard interface has no default interface (issue #11 item 3; ARCHITECTURE.md).

A default such as wg0 makes a remedy, a playbook or a test that forgets the name act on another tunnel than the
one meant, or on none; only the firewall role is left out here (another change owns it).
"""
from __future__ import annotations

import os

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
INTERFACE_VARIABLES = {"peer": "peer_interface", "service": "service_interface", "keepalive": "keepalive_interface"}
# Every other variable each role requires, with a value it accepts.
OTHER_REQUIRED = {"peer": {"peer_public_key": "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="},
                  "service": {},
                  "keepalive": {"keepalive_peer": "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="}}


def _load(role: str, *path: str):
    with open(os.path.join(REPO, "roles", role, *path)) as handle:
        return yaml.safe_load(handle) or {}


@pytest.mark.parametrize("role", sorted(INTERFACE_VARIABLES))
def test_the_interface_is_required_and_has_no_default(role):
    variable = INTERFACE_VARIABLES[role]
    option = _load(role, "meta", "argument_specs.yml")["argument_specs"]["main"]["options"][variable]
    assert option.get("required") is True and "default" not in option, option
    assert variable not in _load(role, "defaults", "main.yml")


@pytest.mark.parametrize("role", sorted(INTERFACE_VARIABLES))
def test_include_role_without_the_interface_is_refused_by_name(role):
    # As include_role validates: the role's defaults, then the variables the caller passes.
    options = _load(role, "meta", "argument_specs.yml")["argument_specs"]["main"]["options"]
    given = dict(_load(role, "defaults", "main.yml"), **OTHER_REQUIRED[role])
    result = ArgumentSpecValidator(options).validate(given, validate_role_argument_spec=True)
    assert result.error_messages == ["missing required arguments: %s" % INTERFACE_VARIABLES[role]]
