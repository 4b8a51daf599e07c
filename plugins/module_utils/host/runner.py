# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How target-side code runs commands and reads files: every failure becomes an entry of `errors`.

Commands run through an object with AnsibleModule's `get_bin_path(name)` and
`run_command(argv, environ_update=...)`, so that this file holds no Ansible object and a
test can answer from recorded outputs. Its own file so that a module that only runs a few
commands (wg_firewall_backend) does not ship the whole of the fact gathering (host/facts.py).
"""
from __future__ import annotations

import os
import typing as t

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall.commands import FIREWALL_COMMANDS
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard import keys as wg_keys

CommandResult = t.Tuple[int, str, str]


class CommandRunner(t.Protocol):
    """What gathering needs of AnsibleModule."""

    def get_bin_path(self, arg: str) -> t.Optional[str]:
        ...

    def run_command(self, args: t.List[str], data: t.Optional[str] = None,
                    environ_update: t.Optional[t.Dict[str, str]] = None) -> CommandResult:
        ...


class Host:
    """Runs the commands and reads the files; turns every failure into an entry of `errors`."""

    def __init__(self, runner: CommandRunner) -> None:
        self.runner = runner
        self.errors: t.List[str] = []

    def binary(self, name: str) -> t.Optional[str]:
        return self.runner.get_bin_path(name)

    def run(self, label: str, argv: t.List[str], quiet_rc: t.Tuple[int, ...] = ()) -> t.Optional[str]:
        """stdout, or None (the command is absent or failed: then `errors` says why)."""
        path = self.binary(argv[0])
        if path is None:
            return None
        rc, out, err = self.run_argv([path] + argv[1:])
        if rc != 0 and rc not in quiet_rc:
            first = (err or out or "").strip().splitlines()
            self.errors.append("%s: command failed (rc %d): %s" % (label, rc, first[0] if first else "no output"))
            return None
        return out

    def run_argv(self, argv: t.List[str]) -> CommandResult:
        try:
            # LANGUAGE too: ufw's gettext (Python's) reads it before LC_ALL and would translate "Status: active".
            return self.runner.run_command(argv, environ_update={"LC_ALL": "C", "LANGUAGE": "C"})
        except Exception as exc:  # pylint: disable=broad-except
            return 127, "", "%s: %s" % (type(exc).__name__, exc)

    def wg_pubkey(self, private_key: str) -> t.Optional[str]:
        """`wg pubkey` on this host: the config's public key without X25519 in Python (constant-time,
        and the module ships no curve). None when wg is absent or refuses the key."""
        path = self.binary("wg")
        if path is None:
            return None
        try:
            rc, out, _err = self.runner.run_command([path, "pubkey"], data=private_key, environ_update={"LC_ALL": "C"})
        except Exception:  # pylint: disable=broad-except
            # Nothing of the exception is kept: its text could quote the key given on stdin.
            return None
        public_key = (out or "").strip()
        return public_key if rc == 0 and wg_keys.is_valid_key(public_key) else None

    def read(self, path: str) -> t.Optional[str]:
        try:
            with open(path, "r", encoding="utf-8", errors="replace", newline="") as handle:
                return handle.read()
        except (IOError, OSError) as exc:
            self.errors.append("%s: cannot read: %s" % (path, exc.strerror or type(exc).__name__))
            return None

    def listdir(self, path: str) -> t.List[str]:
        try:
            return sorted(os.listdir(path))
        except (IOError, OSError) as exc:
            if not isinstance(exc, FileNotFoundError):
                self.errors.append("%s: cannot list: %s" % (path, exc.strerror or type(exc).__name__))
            return []

    def parsed(self, label: str, parser: t.Callable[..., t.Any], text: t.Optional[str], *args: t.Any) -> t.Any:
        """parser(text) or None with an `errors` entry; never a traceback."""
        if text is None:
            return None
        try:
            return parser(text, *args)
        except ValueError as exc:
            self.errors.append("%s: %s" % (label, exc))
        except Exception as exc:  # pylint: disable=broad-except
            # Only the type: the message of an unexpected error could quote the input.
            self.errors.append("%s: unexpected %s while parsing the output" % (label, type(exc).__name__))
        return None


def firewall_outputs(host: Host) -> t.Dict[str, t.Optional[CommandResult]]:
    """Every command of FIREWALL_COMMANDS, in the C locale; None for one that is not installed."""
    outputs: t.Dict[str, t.Optional[CommandResult]] = {}
    for name, argv in FIREWALL_COMMANDS.items():
        # firewall-cmd costs about half a second of CPU per call: its zones are listed only when it runs
        # (`--state` exits 0), the only case in which the readers look at them.
        if name.startswith("firewalld_") and name != "firewalld_state" and (outputs.get("firewalld_state") or (1,))[0] != 0:
            outputs[name] = None
            continue
        path = host.binary(argv[0])
        outputs[name] = None if path is None else host.run_argv([path] + list(argv[1:]))
    return outputs
