# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Send one WireGuard handshake initiation (or a raw datagram) and say what came back.

Why a connected socket with IP_RECVERR: only a connected UDP socket is told
about ICMP errors, and without IP_RECVERR Linux reports just "port
unreachable"; with it, host/net/admin-prohibited arrive as well, with the ICMP
type and code and the router that sent them in the error queue.

Outcomes: ok, auth_failed, cookie, refused, unreachable, timeout (see WIREGUARD.md).
Watching for the initiations on the responder's side is ``capture``'s job.
"""
from __future__ import annotations

import errno
import select
import socket
import struct
import time
import typing as t

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard import crypto as wg_crypto
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard import noise as wg_noise

IP_RECVERR = 11
IPV6_RECVERR = 25
SO_EE_ORIGIN_LOCAL = 1
SO_EE_ORIGIN_ICMP = 2
SO_EE_ORIGIN_ICMP6 = 3
MIN_RETRY_GAP = 0.1  # ICMP errors are rate limited: a burst, then about one a second
_ERRQUEUE_FLAG = getattr(socket, "MSG_ERRQUEUE", 0x2000)

_ICMP4_UNREACH = {
    0: "net unreachable", 1: "host unreachable", 2: "protocol unreachable", 3: "port unreachable",
    4: "fragmentation needed", 5: "source route failed", 6: "destination net unknown", 7: "destination host unknown",
    9: "net administratively prohibited", 10: "host administratively prohibited", 11: "net unreachable for TOS",
    12: "host unreachable for TOS", 13: "communication administratively prohibited",
}
_ICMP6_UNREACH = {
    0: "no route to destination", 1: "communication administratively prohibited", 2: "beyond scope of source address",
    3: "address unreachable", 4: "port unreachable", 5: "source address failed ingress/egress policy",
    6: "reject route to destination",
}
# (outcome, detail): what a probe concluded and why, in words for the report (an OSError may carry no words).
Outcome = t.Tuple[str, t.Optional[str]]
# (outcome, detail, rtt in seconds): an initiation that settled the question.
Settled = t.Tuple[str, t.Optional[str], t.Optional[float]]
SockAddr = t.Tuple[t.Any, ...]

# Keyed by OSError.errno, which may be None.
_ERRNO_OUTCOMES: dict[int | None, Outcome] = {
    errno.ECONNREFUSED: ("refused", "ICMP port unreachable: nothing listens on the port, or a REJECT rule"),
    errno.EHOSTUNREACH: ("unreachable", "host unreachable"),
    errno.ENETUNREACH: ("unreachable", "network unreachable"),
    errno.EACCES: ("unreachable", "sending was refused on this host (EACCES): a local OUTPUT firewall rule"),
    errno.EPERM: ("unreachable", "sending was refused on this host (EPERM): a local OUTPUT firewall rule"),
}


class ProbeError(Exception):
    """The probe could not be started (bad target, unusable source port): the caller's input, not the path."""


class _AttemptState(t.TypedDict):
    attempts: int
    cookie_retry: bool
    last_send: float | None


def resolve(host: str, port: int) -> tuple[int, SockAddr]:
    """(family, sockaddr) of the first address `host` resolves to."""
    if not 1 <= int(port) <= 65535:
        raise ProbeError("port %s is out of range 1-65535" % port)
    try:
        infos = socket.getaddrinfo(host, int(port), 0, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    except (socket.gaierror, UnicodeError) as exc:
        raise ProbeError("cannot resolve host %r: %s" % (host, getattr(exc, "strerror", None) or exc)) from None
    family, _type, _proto, _name, sockaddr = infos[0]
    return family, sockaddr


def open_probe_socket(family: int, sockaddr: SockAddr, source_port: int | None = None) -> socket.socket:
    """A connected UDP socket that will be told about ICMP errors."""
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVERR, 1)
        else:
            sock.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
        if source_port:
            sock.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", int(source_port)))
        sock.connect(sockaddr)
    except OSError as exc:
        sock.close()
        if exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
            raise
        raise ProbeError("cannot open a UDP socket to %s port %s%s: %s" % (
            sockaddr[0], sockaddr[1], " from source port %s" % source_port if source_port else "", exc.strerror)) from None
    return sock


def read_error_queue(sock: socket.socket) -> Outcome | None:
    """(outcome, detail) from the oldest queued ICMP error, or None when the queue is empty."""
    try:
        _data, ancdata, _flags, _addr = sock.recvmsg(512, 512, _ERRQUEUE_FLAG | socket.MSG_DONTWAIT)
    except (BlockingIOError, InterruptedError):
        return None
    except OSError:
        return None
    for level, kind, payload in ancdata:
        if (level, kind) in ((socket.IPPROTO_IP, IP_RECVERR), (socket.IPPROTO_IPV6, IPV6_RECVERR)) and len(payload) >= 16:
            return classify_extended_error(payload)
    return None


def classify_extended_error(payload: bytes) -> Outcome:
    """Decode a struct sock_extended_err (plus the offender address that follows it)."""
    ee_errno, origin, icmp_type, icmp_code = struct.unpack("=IBBB", payload[:7])
    sender = _offender(payload[16:])
    via = " (sent by %s)" % sender if sender else ""
    if origin == SO_EE_ORIGIN_ICMP:
        if icmp_type == 3 and icmp_code == 3:
            return "refused", "ICMP port unreachable%s: nothing listens on the port, or a REJECT rule" % via
        if icmp_type == 3:
            return "unreachable", "ICMP %s (type 3 code %d)%s" % (_ICMP4_UNREACH.get(icmp_code, "unreachable"), icmp_code, via)
        if icmp_type == 11:
            return "unreachable", "ICMP time exceeded%s: a routing loop or a too small TTL" % via
    if origin == SO_EE_ORIGIN_ICMP6:
        if icmp_type == 1 and icmp_code == 4:
            return "refused", "ICMPv6 port unreachable%s: nothing listens on the port, or a REJECT rule" % via
        if icmp_type == 1:
            return "unreachable", "ICMPv6 %s (type 1 code %d)%s" % (_ICMP6_UNREACH.get(icmp_code, "unreachable"), icmp_code, via)
        if icmp_type == 3:
            return "unreachable", "ICMPv6 time exceeded%s" % via
    return _ERRNO_OUTCOMES.get(ee_errno, ("error", "socket error %s" % errno.errorcode.get(ee_errno, ee_errno)))


def _offender(sockaddr: bytes) -> str | None:
    if len(sockaddr) < 8:
        return None
    family = struct.unpack("=H", sockaddr[:2])[0]
    if family == socket.AF_INET:
        return socket.inet_ntop(socket.AF_INET, sockaddr[4:8])
    if family == socket.AF_INET6 and len(sockaddr) >= 24:
        return socket.inet_ntop(socket.AF_INET6, sockaddr[8:24])
    return None


def wait_for_datagram(sock: socket.socket, deadline: float) -> tuple[str, t.Any]:
    """('datagram', bytes) | ('icmp', (outcome, detail)) | ('timeout', None), whichever comes first."""
    poller = select.poll()
    poller.register(sock, select.POLLIN | select.POLLERR)
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return "timeout", None
        events = poller.poll(max(1, int(remaining * 1000 + 0.999)))
        if not events:
            continue
        if events[0][1] & select.POLLERR:
            icmp = read_error_queue(sock)
            if icmp:
                return "icmp", icmp
        try:
            return "datagram", sock.recv(2048, socket.MSG_DONTWAIT)
        except BlockingIOError:
            continue
        except OSError as exc:
            icmp = read_error_queue(sock)
            return "icmp", icmp or _ERRNO_OUTCOMES.get(exc.errno, ("error", "socket error: %s" % exc.strerror))


def _result(outcome: str, detail: str | None, attempts: int, rtt: float | None, local: SockAddr | None) -> dict[str, t.Any]:
    return {
        "outcome": outcome,
        "rtt_ms": round(rtt * 1000, 3) if rtt is not None else None,
        "attempts": attempts,
        "local_address": local[0] if local else None,
        "local_port": local[1] if local else None,
        "backend": wg_crypto.backend_name(),
        "detail": detail,
    }


def _send(sock: socket.socket, data: bytes) -> Outcome | None:
    """None when sent, else (outcome, detail) for an error the kernel reports at once."""
    try:
        sock.send(data)
    except OSError as exc:
        return read_error_queue(sock) or _ERRNO_OUTCOMES.get(exc.errno, ("error", "send failed: %s" % exc.strerror))
    return None


def _pace(last_send: float | None) -> None:
    if last_send is not None:
        gap = MIN_RETRY_GAP - (time.monotonic() - last_send)
        if gap > 0:
            time.sleep(gap)


def probe_wireguard(host: str, port: int, initiator: wg_noise.Initiator, timeout: float = 1.0, retries: int = 1,
                    source_port: int | None = None) -> dict[str, t.Any]:
    """Send handshake initiations (1 + retries, >= 100 ms apart) until one is answered or refused.

    A cookie reply earns exactly one more initiation carrying mac2. Nothing is
    ever sent after a response: the socket is closed at once.
    """
    family, sockaddr = resolve(host, port)
    try:
        sock = open_probe_socket(family, sockaddr, source_port)
    except OSError as exc:
        return _result(*_ERRNO_OUTCOMES.get(exc.errno, ("error", exc.strerror)), attempts=0, rtt=None, local=None)
    with sock:
        local = sock.getsockname()[:2]
        state: _AttemptState = {"attempts": 0, "cookie_retry": False, "last_send": None}
        budget = 1 + max(0, int(retries))
        while state["attempts"] < budget:
            verdict = _one_attempt(sock, initiator, timeout, state)
            if verdict == "cookie":
                budget = max(budget, state["attempts"] + 1)  # exactly one more initiation, now carrying mac2
                continue
            if isinstance(verdict, tuple):
                outcome, detail, rtt = verdict
                return _result(outcome, detail, state["attempts"], rtt, local)
        detail = ("no answer to %d initiation(s) within %.3g s each: a DROP rule, a wrong responder public key, "
                  "an initiator key the responder does not know, or a replayed timestamp" % (state["attempts"], timeout))
        if state["cookie_retry"]:
            return _result("cookie", "the responder is under load: it answered with a cookie reply, proving the path "
                           "and the responder key, but did not answer the initiation carrying mac2", state["attempts"], None, local)
        return _result("timeout", detail, state["attempts"], None, local)


def _one_attempt(sock: socket.socket, initiator: wg_noise.Initiator, timeout: float,
                 state: _AttemptState) -> Settled | str | None:
    """(outcome, detail, rtt) when this initiation settled the question, "cookie" to resend with mac2, None on timeout."""
    _pace(state["last_send"])
    message = initiator.create_initiation()
    state["attempts"] += 1
    sent_at = state["last_send"] = time.monotonic()
    failed = _send(sock, message)
    if failed:
        return failed[0], failed[1], None
    deadline = sent_at + timeout
    while True:
        kind, value = wait_for_datagram(sock, deadline)
        if kind == "timeout":
            return None
        if kind == "icmp":
            return value[0], value[1], time.monotonic() - sent_at
        rtt = time.monotonic() - sent_at
        answer = _judge_answer(initiator, value, state)
        if isinstance(answer, str):
            return answer  # "cookie"
        if answer is not None:
            return answer[0], answer[1], rtt


def _judge_answer(initiator: wg_noise.Initiator, data: bytes, state: _AttemptState) -> Outcome | str | None:
    kind = wg_noise.message_type(data)
    try:
        if kind == wg_noise.MESSAGE_RESPONSE:
            outcome = initiator.consume_response(data)
            if outcome == wg_noise.OUTCOME_OK:
                via = " after a cookie reply (responder under load)" if state["cookie_retry"] else ""
                return "ok", "handshake response verified and decrypted%s" % via
            return "auth_failed", ("handshake response arrived but does not decrypt: the preshared key differs "
                                   "(path, listening port and responder key are fine)")
        if kind == wg_noise.MESSAGE_COOKIE_REPLY and not state["cookie_retry"]:
            initiator.consume_cookie_reply(data)
            state["cookie_retry"] = True
            return "cookie"
    except wg_noise.NoiseError:
        return None  # not an answer to this initiation: keep waiting
    return None


# ------------------------------------------------------------------ raw mode
def probe_raw(host: str, port: int, payload: bytes, timeout: float = 1.0, retries: int = 1,
              source_port: int | None = None) -> dict[str, t.Any]:
    """Send `payload` and report the first reply or ICMP error, for UDP services that are not WireGuard."""
    family, sockaddr = resolve(host, port)
    try:
        sock = open_probe_socket(family, sockaddr, source_port)
    except OSError as exc:
        return _result(*_ERRNO_OUTCOMES.get(exc.errno, ("error", exc.strerror)), attempts=0, rtt=None, local=None)
    with sock:
        local = sock.getsockname()[:2]
        last_send = None
        for attempt in range(1, 2 + max(0, int(retries))):
            _pace(last_send)
            sent_at = last_send = time.monotonic()
            failed = _send(sock, payload)
            if failed:
                return _result(failed[0], failed[1], attempt, None, local)
            kind, value = wait_for_datagram(sock, sent_at + timeout)
            rtt = time.monotonic() - sent_at
            if kind == "icmp":
                return _result(value[0], value[1], attempt, rtt, local)
            if kind == "datagram":
                result = _result("ok", "a reply of %d bytes arrived" % len(value), attempt, rtt, local)
                result["reply"] = value[:256].hex()
                return result
        return _result("timeout", "no reply and no ICMP error: the service ignored the payload, or a firewall "
                       "dropped it (UDP alone cannot tell these apart)", attempt, None, local)
