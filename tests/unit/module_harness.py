# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a module's main() in-process and catch how it ends.

exit_json/fail_json are intercepted BEFORE Ansible's no_log masking, so a key that
slipped into a result, a message or a diff is seen by the test rather than hidden as ********.
"""
from __future__ import annotations

import json

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args


class ModuleExit(Exception):
    """How the module ended: failed or not, what it returned, what Ansible was told to mask."""

    def __init__(self, failed, result, no_log_values):
        super().__init__(result)
        self.failed = failed
        self.result = result
        self.no_log_values = no_log_values


def intercept_exits(monkeypatch):
    def exit_json(self, **result):
        raise ModuleExit(False, result, set(self.no_log_values))

    def fail_json(self, **result):
        raise ModuleExit(True, result, set(self.no_log_values))

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)


def fake_commands(monkeypatch, run_command):
    """Every binary is found in /usr/bin and every command goes to run_command(args, **kwargs)."""
    monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", lambda self, name, *a, **k: "/usr/bin/" + name)
    monkeypatch.setattr(basic.AnsibleModule, "run_command", lambda module, args, **kwargs: run_command(args, **kwargs))


def run_module(main, args):
    """main() with these module arguments; the ModuleExit it ended with (intercept_exits must be active)."""
    with patch_module_args(args):
        with pytest.raises(ModuleExit) as info:
            main()
    return info.value


def assert_no_secret(result, *secrets):
    rendered = json.dumps(result)
    for secret in secrets:
        assert secret not in rendered, "a private or preshared key leaked into the result"
        assert secret[:12] not in rendered, "a recognisable fragment of a key leaked into the result"
