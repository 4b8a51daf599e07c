# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The keepalive role's installed job (issue #11 item 11): no interface name reaches a command line
unchecked, and the job runs confined (the lab proof is extensions/molecule/keepalive)."""
from __future__ import annotations

import os

REPO = os.path.join(os.path.dirname(__file__), "..", "..", "..")
ROLE = os.path.join(REPO, "roles", "keepalive")


def read_role_file(*parts: str) -> str:
    with open(os.path.join(ROLE, *parts), encoding="utf-8") as handle:
        return handle.read()


def test_the_reresolve_unit_is_hardened_and_runs_python_isolated():
    unit = read_role_file("templates", "wgdoctor-reresolve@.service.j2")
    for line in ("NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
                 "CapabilityBoundingSet=CAP_NET_ADMIN", "ReadWritePaths=-/run/wireguard"):
        assert "\n" + line + "\n" in unit, line
    assert "ExecStart=/usr/bin/python3 -I /usr/local/sbin/wgdoctor-reresolve --interface %i" in unit


def test_the_cron_job_quotes_the_interface_and_runs_python_isolated():
    tasks = read_role_file("tasks", "reresolve.yml")
    assert "/usr/bin/python3 -I /usr/local/sbin/wgdoctor-reresolve --interface {{ keepalive_interface | quote }}" in tasks


def test_the_role_validates_the_interface_name_before_anything_else():
    tasks = read_role_file("tasks", "main.yml")
    first_task = tasks.split("\n- name:")[0] + tasks.split("\n- name:")[1]
    assert "^[a-zA-Z0-9_=+.-]{1,15}$" in first_task


def test_the_job_refuses_an_interface_name_that_is_a_path(tmp_path):
    import subprocess
    import shutil
    script = tmp_path / "wgdoctor-reresolve"
    shutil.copy(os.path.join(ROLE, "files", "wgdoctor-reresolve"), script)
    for name, source in (("wgdoctor_resolve.py", ("host", "resolve.py")), ("wgdoctor_config.py", ("wireguard", "config.py")),
                         ("wgdoctor_keys.py", ("wireguard", "keys.py"))):
        shutil.copy(os.path.join(REPO, "plugins", "module_utils", *source), tmp_path / name)
    for name in ("../../etc/shadow", "wg0;id", "..", "a" * 16):
        result = subprocess.run(["python3", "-I", str(script), "--interface", name, "--dry-run"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, universal_newlines=True, check=False)
        assert result.returncode == 2 and "is not an interface name" in result.stderr, (name, result.stderr)
