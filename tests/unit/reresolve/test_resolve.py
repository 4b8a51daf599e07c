# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Endpoint re-resolution, the one home wg_facts and the re-resolution job share."""
from __future__ import annotations

import ast
import os
import socket
import subprocess
import sys
import textwrap
import time

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.host import resolve

RESOLVE_PY = resolve.__file__


def test_all_names_resolve_in_parallel_within_one_deadline():
    def fake(host: str, port: int) -> list:
        if host == "slow.example.test":
            time.sleep(2)
        if host == "gone.example.test":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return ["198.51.100.10", "2001:db8::10"]

    started = time.monotonic()
    outcomes = resolve.resolve_all([("vpn.example.test", 51820), ("gone.example.test", 51820),
                                    ("slow.example.test", 51820), ("vpn.example.test", 51820)], 0.5, fake)
    assert time.monotonic() - started < 1.5
    assert outcomes == {
        ("vpn.example.test", 51820): (["198.51.100.10", "2001:db8::10"], None),
        ("gone.example.test", 51820): (None, "Name or service not known"),
        ("slow.example.test", 51820): (None, "no answer within 0.5 s"),
    }


def test_a_resolver_stuck_past_the_deadline_does_not_hold_the_process_at_exit():
    # wg_facts exits right after resolving: a thread still waiting for DNS must not keep the
    # module's process alive (resolve_timeout is the limit the user asked for, not a hint).
    script = textwrap.dedent("""
        import importlib.util, sys, time
        spec = importlib.util.spec_from_file_location("resolve_under_test", sys.argv[1])
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)

        def stuck(host, port):
            time.sleep(6)
            return ["192.0.2.1"]

        print(module.resolve_all([("stuck.example.test", 51820)], 0.2, stuck))
    """)
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-c", script, RESOLVE_PY], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True, timeout=30, check=True)
    assert "no answer within 0.2 s" in result.stdout
    assert time.monotonic() - started < 4, "the process waited for the stuck resolver after its deadline"


def test_no_more_than_max_parallel_lookups_at_once():
    running, peak = [0], [0]

    def fake(host: str, port: int) -> list:
        running[0] += 1
        peak[0] = max(peak[0], running[0])
        time.sleep(0.05)
        running[0] -= 1
        return ["192.0.2.1"]

    outcomes = resolve.resolve_all([("peer%d.example.test" % number, 51820) for number in range(30)], 5, fake)
    assert len(outcomes) == 30 and all(outcome == (["192.0.2.1"], None) for outcome in outcomes.values())
    assert 1 <= peak[0] <= resolve.MAX_PARALLEL


def test_getaddrinfo_answers_are_kept_in_order_once_each(monkeypatch):
    answers = [(socket.AF_INET, socket.SOCK_DGRAM, 17, "", ("198.51.100.10", 51820)),
               (socket.AF_INET6, socket.SOCK_DGRAM, 17, "", ("2001:db8::10", 51820, 0, 0)),
               (socket.AF_INET, socket.SOCK_DGRAM, 17, "", ("198.51.100.10", 51820))]
    monkeypatch.setattr(resolve.socket, "getaddrinfo", lambda *args: answers)
    assert resolve.resolve_name("vpn.example.test", 51820) == ["198.51.100.10", "2001:db8::10"]


def test_resolve_py_runs_outside_the_collection():
    # The keepalive role installs this file beside its job on the host, where no collection exists.
    with open(RESOLVE_PY, encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    imported = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    imported += [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    assert not [name for name in imported if name.startswith("ansible")], imported
    assert os.path.basename(RESOLVE_PY) == "resolve.py"


def test_a_peer_is_stale_when_it_never_shook_hands_or_its_handshake_is_older_than_the_threshold():
    now = 1_764_085_000
    assert resolve.is_stale(0, now, 135)
    assert resolve.is_stale(now - 136, now, 135)
    assert not resolve.is_stale(now - 135, now, 135)
    # None: the peer role's "re-resolve now", whatever the handshake says.
    assert resolve.is_stale(now - 5, now, None)
