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
Routable = t.Callable[[str], bool]
# UDP port used only to ask the kernel for a route; connect() on a UDP socket sends nothing.
ROUTE_QUERY_PORT = 9


def has_route(address: str) -> bool:
    """Whether this host has a route to address (its family configured and routed), asked of the
    kernel by connecting a UDP socket, which sends no packet."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as query:
            query.connect((address, ROUTE_QUERY_PORT))
    except OSError:
        return False
    return True


def unusable_because(address: str, allowed_networks: t.Sequence[t.Any]) -> t.Optional[str]:
    """Why a peer must not be pointed at address, None when it can be.

    Only unicast that can leave the host is an endpoint: not loopback, unspecified, multicast,
    link-local (a scope wg set cannot be given), broadcast or reserved. Private and
    documentation ranges are fine: tunnels run across LANs. An address inside the interface's
    own AllowedIPs would route the encrypted packets into the tunnel itself; a default route
    (/0, a full tunnel) is left out, wg-quick routes the endpoint around it with its fwmark.
    """
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return "not an address"
    if ip == ipaddress.IPv4Address("255.255.255.255"):
        return "broadcast"
    for kind in ("unspecified", "loopback", "multicast", "link_local", "reserved"):
        if getattr(ip, "is_" + kind):
            return kind.replace("_", "-")
    for network in allowed_networks:
        if network.version == ip.version and ip in network:
            return "inside the tunnel's AllowedIPs %s" % network
    return None


def usable_answers(resolved: t.Sequence[str], allowed_ips: t.Iterable[str], routable: Routable,
                   current: t.Optional[str]) -> t.Tuple[t.List[str], t.List[str]]:
    """(the answers a peer can be pointed at, current family first, each else in resolver order;
    "address (why not)" for every other answer)."""
    networks = []
    for prefix in allowed_ips:
        try:
            network = ipaddress.ip_network(prefix.strip(), strict=False)
        except ValueError:
            continue
        if network.prefixlen:
            networks.append(network)
    usable: t.List[str] = []
    rejected: t.List[str] = []
    for address in resolved:
        why = unusable_because(address, networks)
        if why is None and not routable(address):
            why = "no route"
        if why is None:
            usable.append(address)
        else:
            rejected.append("%s (%s)" % (address, why))
    if current is not None:
        current_is_ipv6 = ":" in current
        # sorted() is stable: within each family the resolver's order is kept.
        usable.sort(key=lambda address: (":" in address) != current_is_ipv6)
    return usable, rejected


def is_stale(latest_handshake: int, now: float, stale_after: t.Optional[float]) -> bool:
    """Whether a peer's name is worth looking up: it never shook hands, or its latest handshake is
    older than stale_after seconds; stale_after None says yes whatever the handshake (the peer role's
    "now"). A peer that handshakes works at the address it has, whatever DNS says now."""
    return stale_after is None or not latest_handshake or now - latest_handshake > stale_after


def decide(host: str, port: int, latest_handshake: int, live_endpoint: t.Optional[str], resolved: t.List[str], now: float,
           stale_after: t.Optional[float], allowed_ips: t.Iterable[str] = (), routable: Routable = has_route) -> Decision:
    """What to do about one peer: {"action": "none"|"set", "reason": ..., "endpoint": new endpoint or None}, and
    "unusable" (the answers and why each is unusable) when the name answered but with nowhere to go.

    A peer with a fresh handshake (not older than stale_after seconds) is left alone: its
    address works, whatever DNS says now; stale_after None re-resolves whatever the
    handshake says (the peer role's "now"). Otherwise only the answers the peer can be
    reached at count (usable_answers: unicast, routed from this host, outside allowed_ips,
    the interface's AllowedIPs); the peer stays when it is already at one of them (several
    A records: any of them is fine), else it is pointed at the first, in the family it is
    in now when the name has an answer there.
    """
    if not is_stale(latest_handshake, now, stale_after):
        return {"action": "none", "reason": "handshake %ds ago" % (now - latest_handshake), "endpoint": None}
    age = None if not latest_handshake else now - latest_handshake
    if not resolved:
        return {"action": "none", "reason": "%s does not resolve" % host, "endpoint": None}
    current = endpoint_address(live_endpoint)
    usable, rejected = usable_answers(resolved, allowed_ips, routable, current)
    if not usable:
        # Not a quiet "nothing to do": the peer is stale and its name offers nowhere to go, which the job logs.
        return {"action": "none", "endpoint": None, "unusable": ", ".join(rejected),
                "reason": "%s has no usable address: %s" % (host, ", ".join(rejected))}
    if current in usable:
        return {"action": "none", "reason": "%s still resolves to %s" % (host, current), "endpoint": None}
    new = format_endpoint(usable[0], port)
    since = "never" if age is None else "%ds ago" % age
    skipped = "; not %s" % ", ".join(rejected) if rejected else ""
    return {"action": "set", "endpoint": new,
            "reason": "handshake %s; %s moved from %s to %s%s" % (since, host, current or "(none)", usable[0], skipped)}
