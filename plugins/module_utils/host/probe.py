# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Send one WireGuard handshake initiation (or a raw datagram) and say what came back.

Why a connected socket with IP_RECVERR: only a connected UDP socket is told
about ICMP errors, and without IP_RECVERR Linux reports just "port
unreachable"; with it, host/net/admin-prohibited arrive as well, with the ICMP
type and code and the router that sent them in the error queue.

Outcomes: ok, auth_failed, cookie, refused, unreachable, timeout (see WIREGUARD.md).
"""
from __future__ import annotations

import errno
import select
import socket
import struct
import time

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
_ERRNO_OUTCOMES = {
    errno.ECONNREFUSED: ("refused", "ICMP port unreachable: nothing listens on the port, or a REJECT rule"),
    errno.EHOSTUNREACH: ("unreachable", "host unreachable"),
    errno.ENETUNREACH: ("unreachable", "network unreachable"),
    errno.EACCES: ("unreachable", "sending was refused on this host (EACCES): a local OUTPUT firewall rule"),
    errno.EPERM: ("unreachable", "sending was refused on this host (EPERM): a local OUTPUT firewall rule"),
}


class ProbeError(Exception):
    """The probe could not be started (bad target, unusable source port): the caller's input, not the path."""


def resolve(host: str, port: int) -> tuple:
    """(family, sockaddr) of the first address `host` resolves to."""
    if not 1 <= int(port) <= 65535:
        raise ProbeError("port %s is out of range 1-65535" % port)
    try:
        infos = socket.getaddrinfo(host, int(port), 0, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    except (socket.gaierror, UnicodeError) as exc:
        raise ProbeError("cannot resolve host %r: %s" % (host, getattr(exc, "strerror", None) or exc)) from None
    family, _type, _proto, _name, sockaddr = infos[0]
    return family, sockaddr


def open_probe_socket(family: int, sockaddr: tuple, source_port: int | None = None) -> socket.socket:
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


def read_error_queue(sock: socket.socket) -> tuple | None:
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


def classify_extended_error(payload: bytes) -> tuple:
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


def wait_for_datagram(sock: socket.socket, deadline: float) -> tuple:
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


def _result(outcome: str, detail: str, attempts: int, rtt: float | None, local: tuple) -> dict:
    return {
        "outcome": outcome,
        "rtt_ms": round(rtt * 1000, 3) if rtt is not None else None,
        "attempts": attempts,
        "local_address": local[0] if local else None,
        "local_port": local[1] if local else None,
        "backend": wg_crypto.backend_name(),
        "detail": detail,
    }


def _send(sock: socket.socket, data: bytes) -> tuple | None:
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
                    source_port: int | None = None) -> dict:
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
        state = {"attempts": 0, "cookie_retry": False, "last_send": None}
        budget = 1 + max(0, int(retries))
        while state["attempts"] < budget:
            verdict = _one_attempt(sock, initiator, timeout, state)
            if verdict == "cookie":
                budget = max(budget, state["attempts"] + 1)  # exactly one more initiation, now carrying mac2
                continue
            if verdict is not None:
                outcome, detail, rtt = verdict
                return _result(outcome, detail, state["attempts"], rtt, local)
        detail = ("no answer to %d initiation(s) within %.3g s each: a DROP rule, a wrong responder public key, "
                  "an initiator key the responder does not know, or a replayed timestamp" % (state["attempts"], timeout))
        if state["cookie_retry"]:
            return _result("cookie", "the responder is under load: it answered with a cookie reply, proving the path "
                           "and the responder key, but did not answer the initiation carrying mac2", state["attempts"], None, local)
        return _result("timeout", detail, state["attempts"], None, local)


def _one_attempt(sock: socket.socket, initiator: wg_noise.Initiator, timeout: float, state: dict) -> tuple | str | None:
    """(outcome, detail, rtt) when this initiation settled the question, "cookie" to resend with mac2, None on timeout."""
    _pace(state["last_send"])
    message = initiator.create_initiation()
    state["attempts"] += 1
    sent_at = state["last_send"] = time.monotonic()
    failed = _send(sock, message)
    if failed:
        return failed + (None,)
    deadline = sent_at + timeout
    while True:
        kind, value = wait_for_datagram(sock, deadline)
        if kind == "timeout":
            return None
        if kind == "icmp":
            return value + (time.monotonic() - sent_at,)
        rtt = time.monotonic() - sent_at
        answer = _judge_answer(initiator, value, state)
        if answer == "cookie":
            return answer
        if answer is not None:
            return answer + (rtt,)


def _judge_answer(initiator: wg_noise.Initiator, data: bytes, state: dict) -> tuple | str | None:
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
              source_port: int | None = None) -> dict:
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


# ---------------------------------------------------------------- listen mode
ETH_P_ALL = 0x0003
SO_ATTACH_FILTER = 26
PACKET_OUTGOING = 4

# Classic BPF opcodes (linux/filter.h)
_LDB_ABS, _LDH_ABS, _LDB_IND, _LDH_IND = 0x30, 0x28, 0x50, 0x48
_LDXB_MSH, _AND_K, _JEQ_K, _JSET_K, _RET_K = 0xb1, 0x54, 0x15, 0x45, 0x06


def initiation_filter(port: int) -> list:
    """`udp dst port P and udp[8] = 1` for IPv4 and IPv6, as (code, jt, jf, k) on packets starting at
    the network header (what an AF_PACKET SOCK_DGRAM socket filters): first IPv4 fragments only."""
    program = [
        ("v4?", _LDB_ABS, 0), ("", _AND_K, 0xF0), ("jeq 0x40 ->v6", _JEQ_K, 0x40),
        ("", _LDB_ABS, 9), ("jeq 17", _JEQ_K, 17),
        ("", _LDH_ABS, 6), ("jset frag", _JSET_K, 0x1FFF),
        ("", _LDXB_MSH, 0), ("", _LDH_IND, 2), ("jeq port", _JEQ_K, port),
        ("", _LDB_IND, 8), ("jeq 1 ->accept", _JEQ_K, 1),
        ("v6", _JEQ_K, 0x60),
        ("", _LDB_ABS, 6), ("jeq 17", _JEQ_K, 17),
        ("", _LDH_ABS, 42), ("jeq port", _JEQ_K, port),
        ("", _LDB_ABS, 48), ("jeq 1 ->accept", _JEQ_K, 1),
        ("accept", _RET_K, 0x40000), ("drop", _RET_K, 0),
    ]
    labels = {"v6": 12, "accept": 19, "drop": 20}
    compiled = []
    for index, (note, code, k) in enumerate(program):
        jt = jf = 0
        if code in (_JEQ_K, _JSET_K):
            if note == "jeq 0x40 ->v6":
                jf = labels["v6"] - index - 1
            elif note == "jset frag":
                jt = labels["drop"] - index - 1
            elif note.endswith("->accept"):
                jt, jf = labels["accept"] - index - 1, labels["drop"] - index - 1
            else:
                jf = labels["drop"] - index - 1
        compiled.append((code, jt, jf, k))
    return compiled


def parse_initiation_packet(packet: bytes, port: int) -> tuple | None:
    """(source address, source port) when `packet` (from the IP header) is a type-1 datagram to `port`."""
    if not packet:
        return None
    version = packet[0] >> 4
    if version == 4 and len(packet) >= 20 and packet[9] == 17:
        header = (packet[0] & 0x0F) * 4
        udp, source = packet[header:], socket.inet_ntop(socket.AF_INET, packet[12:16])
    elif version == 6 and len(packet) >= 40 and packet[6] == 17:
        udp, source = packet[40:], socket.inet_ntop(socket.AF_INET6, packet[8:24])
    else:
        return None
    if len(udp) < 9:
        return None
    source_port, destination_port = struct.unpack(">HH", udp[:4])
    if destination_port != port or udp[8] != wg_noise.MESSAGE_INITIATION:
        return None
    return source, source_port


def _attach_filter(sock: socket.socket, program: list) -> None:
    import ctypes  # only listen mode needs a pointer; keep the probe importable without ctypes
    raw = b"".join(struct.pack("=HBBI", *instruction) for instruction in program)
    buffer = ctypes.create_string_buffer(raw, len(raw))
    fprog = struct.pack("=HxxxxxxQ" if struct.calcsize("P") == 8 else "=HxxI", len(program), ctypes.addressof(buffer))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)


class _Sightings:
    """Initiations seen, grouped by where they came from."""

    def __init__(self) -> None:
        self.by_source = {}

    def add(self, source: tuple, when: float) -> None:
        entry = self.by_source.setdefault(source, {"source_address": source[0], "source_port": source[1],
                                                   "count": 0, "first_seen": when, "last_seen": when})
        entry["count"] += 1
        entry["last_seen"] = when

    def as_list(self) -> list:
        return sorted(self.by_source.values(), key=lambda entry: entry["first_seen"])


def _listen_af_packet(port: int, duration: float, interface: str | None, sightings: _Sightings) -> None:
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
    with sock:
        _attach_filter(sock, initiation_filter(port))
        if interface:
            try:
                sock.bind((interface, ETH_P_ALL))
            except OSError as exc:
                raise ProbeError("cannot listen on interface %r: %s" % (interface, exc.strerror)) from None
        deadline = time.monotonic() + duration
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            if not poller.poll(max(1, int(remaining * 1000))):
                continue
            packet, address = sock.recvfrom(65535)
            # A packet we send ourselves (loopback shows both directions) is not an arrival.
            if address[2] == PACKET_OUTGOING:
                continue
            # Re-checked in Python: packets queued before the filter was attached were not filtered.
            source = parse_initiation_packet(packet, port)
            if source:
                sightings.add(source, round(time.time(), 6))


def parse_tcpdump_line(line: str) -> tuple | None:
    """(epoch, source address, source port) from `tcpdump -n -tt` output."""
    parts = line.split()
    if len(parts) < 4 or ">" not in parts:
        return None
    try:
        when = float(parts[0])
    except ValueError:
        return None
    arrow = parts.index(">")
    source = parts[arrow - 1]
    address, _dot, source_port = source.rpartition(".")
    if not address or not source_port.isdigit():
        return None
    return when, address, int(source_port)


def _listen_tcpdump(port: int, duration: float, interface: str | None, sightings: _Sightings, tcpdump: str) -> None:
    import subprocess  # only the fallback needs it
    argv = [tcpdump, "-n", "-l", "-tt", "-Q", "in", "-i", interface or "any",
            "udp dst port %d and udp[8] = 1" % port]
    # run_command cannot stop a capture after `duration`, and module_utils here take no AnsibleModule.
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,  # pylint: disable=ansible-bad-function
                               universal_newlines=True)
    try:
        out, err = process.communicate(timeout=duration)
    except subprocess.TimeoutExpired:
        process.terminate()
        out, err = process.communicate()
    if process.returncode not in (0, -15, 143) and not out:
        last_line = (err.strip().splitlines() or ["exit status %s" % process.returncode])[-1]
        raise ProbeError("tcpdump failed: %s" % last_line)
    for line in out.splitlines():
        parsed = parse_tcpdump_line(line)
        if parsed:
            sightings.add((parsed[1], parsed[2]), parsed[0])


def listen_initiations(port: int, duration: float, interface: str | None = None, method: str = "auto",
                       tcpdump: str | None = None) -> dict:
    """Watch for handshake initiations arriving on `port` for `duration` seconds, then stop by itself.

    Capture sees a packet before the host's firewall judges it, so "arrived" here
    and `timeout` at the initiator means a rule on this host dropped it.
    """
    if not 1 <= int(port) <= 65535:
        raise ProbeError("port %s is out of range 1-65535" % port)
    sightings = _Sightings()
    used = method
    if method in ("auto", "af_packet"):
        try:
            _listen_af_packet(int(port), float(duration), interface, sightings)
            used = "af_packet"
        except (OSError, AttributeError) as exc:
            if method == "af_packet" or not tcpdump:
                reason = getattr(exc, "strerror", None) or str(exc)
                raise ProbeError("cannot capture with an AF_PACKET socket (needs Linux and root or CAP_NET_RAW): %s"
                                 % reason) from None
            used = "tcpdump"
    if used == "tcpdump":
        if not tcpdump:
            raise ProbeError("tcpdump is not installed")
        _listen_tcpdump(int(port), float(duration), interface, sightings, tcpdump)
    initiations = sightings.as_list()
    return {
        "outcome": "listened",
        "method": used,
        "interface": interface,
        "port": int(port),
        "duration": float(duration),
        "count": sum(entry["count"] for entry in initiations),
        "initiations": initiations,
        "detail": "%d handshake initiation(s) arrived from %d source(s)" % (
            sum(entry["count"] for entry in initiations), len(initiations)),
    }
