# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Re-resolving a hostname Endpoint, and choosing the address a peer should be pointed at.

wg resolves an Endpoint hostname once, when the interface comes up. Three things need to
resolve it again: wg_facts (what the name says now, from this host), the keepalive role's
job (a stale peer follows its name to a new address) and the peer role (re-resolve now).
They share this file.

Standard library only, and nothing from ansible_collections: the keepalive role installs
this file as ``wgdoctor_resolve.py`` beside ``/usr/local/sbin/wgdoctor-reresolve``, which runs
on the host from a systemd timer or cron, outside Ansible.
"""
from __future__ import annotations

import collections
import ipaddress
import re
import socket
import threading
import time
import typing as t

Key = t.Tuple[str, int]
# (addresses, None) when the name resolved, (None, why not) when it did not.
Outcome = t.Tuple[t.Optional[t.List[str]], t.Optional[str]]
Resolver = t.Callable[[str, int], t.List[str]]

# Names resolved at once: enough for a hub with many hostname peers, few enough for a small host.
MAX_PARALLEL = 8


# ---------------------------------------------------------------- endpoints as wg prints them

def split_endpoint(value: str) -> t.Optional[t.Tuple[str, int]]:
    """(host, port) of host:port or [v6]:port, None when it is neither."""
    match = re.match(r"^\[([^\]]+)\]:(\d+)$", value) or re.match(r"^([^:\[\]]+):(\d+)$", value)
    return (match.group(1), int(match.group(2))) if match else None


def is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def format_endpoint(address: str, port: int) -> str:
    return "[%s]:%d" % (address, port) if ":" in address else "%s:%d" % (address, port)


def endpoint_address(live: t.Optional[str]) -> t.Optional[str]:
    """The address part of a runtime endpoint ("(none)" -> None)."""
    split = split_endpoint(live or "")
    return split[0] if split else None


# ---------------------------------------------------------------- resolution

def resolve_name(host: str, port: int) -> t.List[str]:
    """The addresses getaddrinfo gives for host, in its order, each once; raises what getaddrinfo raises."""
    answers = socket.getaddrinfo(host, port, 0, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    resolved: t.List[str] = []
    for answer in answers:
        address = str(answer[4][0])
        if address not in resolved:
            resolved.append(address)
    return resolved


def resolve_error(exc: BaseException) -> str:
    """The resolver's own message ("Name or service not known"), never a traceback."""
    if isinstance(exc, socket.gaierror) and exc.strerror:
        return exc.strerror
    return str(exc)


def resolve_all(names: t.Iterable[Key], timeout: float, resolver: t.Optional[Resolver] = None) -> t.Dict[Key, Outcome]:
    """Resolve every (host, port) in parallel, at most MAX_PARALLEL at once, within one overall
    deadline of timeout seconds; a name without an answer by then is reported as such.

    The lookups run in daemon threads: getaddrinfo cannot be interrupted, and a non-daemon
    thread stuck in it would be joined when the process exits, so the caller (a module about
    to exit_json) would wait for DNS after all beyond the deadline.
    """
    resolver = resolver or resolve_name
    wanted = list(dict.fromkeys(names))
    if not wanted:
        return {}
    pending = collections.deque(wanted)
    outcomes: t.Dict[Key, Outcome] = {}
    finished = threading.Condition()

    def work() -> None:
        while True:
            with finished:
                if not pending:
                    return
                key = pending.popleft()
            try:
                outcome: Outcome = (resolver(key[0], key[1]), None)
            except Exception as exc:  # pylint: disable=broad-except
                outcome = (None, resolve_error(exc))
            with finished:
                outcomes[key] = outcome
                finished.notify_all()

    for number in range(min(MAX_PARALLEL, len(wanted))):
        threading.Thread(target=work, name="wgdoctor-resolve-%d" % number, daemon=True).start()
    deadline = time.monotonic() + timeout
    with finished:
        while len(outcomes) < len(wanted):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            finished.wait(left)
        # Past the deadline no thread starts another lookup; answers that come later are dropped.
        pending.clear()
        answered = dict(outcomes)
    return {key: answered.get(key, (None, "no answer within %g s" % timeout)) for key in wanted}


# ---------------------------------------------------------------- the choice of address

Decision = t.Dict[str, t.Optional[str]]


def decide(host: str, port: int, latest_handshake: int, live_endpoint: t.Optional[str], resolved: t.List[str], now: float,
           stale_after: t.Optional[float]) -> Decision:
    """What to do about one peer: {"action": "none"|"set", "reason": ..., "endpoint": new endpoint or None}.

    A peer with a fresh handshake (not older than stale_after seconds) is left alone: its
    address works, whatever DNS says now; stale_after None re-resolves whatever the
    handshake says (the peer role's "now"). Otherwise the peer is pointed at the first
    resolved address unless it is already at one of them (several A records: any of them
    is fine).
    """
    age = None if not latest_handshake else now - latest_handshake
    if stale_after is not None and age is not None and age <= stale_after:
        return {"action": "none", "reason": "handshake %ds ago" % age, "endpoint": None}
    if not resolved:
        return {"action": "none", "reason": "%s does not resolve" % host, "endpoint": None}
    current = endpoint_address(live_endpoint)
    if current in resolved:
        return {"action": "none", "reason": "%s still resolves to %s" % (host, current), "endpoint": None}
    new = format_endpoint(resolved[0], port)
    since = "never" if age is None else "%ds ago" % age
    return {"action": "set", "endpoint": new,
            "reason": "handshake %s; %s moved from %s to %s" % (since, host, current or "(none)", resolved[0])}
