# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Watch, on the responder, for WireGuard handshake initiations arriving on a UDP port.

The other half of a probe (``probe`` sends): a capture sees a packet before the host's
firewall judges it, so "arrived here" together with ``timeout`` at the initiator means a
rule on this host dropped it. An AF_PACKET socket with a classic BPF filter is tried first;
``tcpdump`` is the fallback where that socket cannot be opened.
"""
from __future__ import annotations

import os
import select
import socket
import struct
import subprocess
import time
import typing as t

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard.noise import MESSAGE_INITIATION

ETH_P_ALL = 0x0003
SO_ATTACH_FILTER = 26
PACKET_OUTGOING = 4

# Classic BPF opcodes (linux/filter.h)
_LDB_ABS, _LDH_ABS, _LDB_IND, _LDH_IND = 0x30, 0x28, 0x50, 0x48
_LDXB_MSH, _AND_K, _JEQ_K, _JSET_K, _RET_K = 0xb1, 0x54, 0x15, 0x45, 0x06

BpfInstruction = t.Tuple[int, int, int, int]
Source = t.Tuple[str, int]
# (source address, source port, sender index): the sender index is the initiator's choice and survives NAT,
# so it tells apart the probes of several initiators that one capture serves.
Initiation = t.Tuple[str, int, t.Optional[int]]
STOP_CHECK_INTERVAL = 0.05  # how often the stop file is looked for while packets keep the socket busy
READY_TIMEOUT = 10.0  # how long tcpdump may take to say it listens


class CaptureError(Exception):
    """The capture could not run (bad port, unknown interface, no way to capture): the caller's input or the host."""


def initiation_filter(port: int) -> list[BpfInstruction]:
    """`udp dst port P and udp[8] = 1` for IPv4 and IPv6, as (code, jt, jf, k) on packets starting at
    the network header (what an AF_PACKET SOCK_DGRAM socket filters): first IPv4 fragments only."""
    program = [
        ("v4?", _LDB_ABS, 0), ("", _AND_K, 0xF0), ("jeq 0x40 ->v6", _JEQ_K, 0x40),
        ("", _LDB_ABS, 9), ("jeq 17", _JEQ_K, 17),
        ("", _LDH_ABS, 6), ("jset frag", _JSET_K, 0x1FFF),
        ("", _LDXB_MSH, 0), ("", _LDH_IND, 2), ("jeq port", _JEQ_K, port),
        ("", _LDB_IND, 8), ("jeq 1 ->accept", _JEQ_K, MESSAGE_INITIATION),
        ("v6", _JEQ_K, 0x60),
        ("", _LDB_ABS, 6), ("jeq 17", _JEQ_K, 17),
        ("", _LDH_ABS, 42), ("jeq port", _JEQ_K, port),
        ("", _LDB_ABS, 48), ("jeq 1 ->accept", _JEQ_K, MESSAGE_INITIATION),
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


def parse_initiation_packet(packet: bytes, port: int) -> Source | None:
    """(source address, source port) when `packet` (from the IP header) is a type-1 datagram to `port`."""
    initiation = parse_initiation(packet, port)
    return None if initiation is None else initiation[:2]


def parse_initiation(packet: bytes, port: int) -> Initiation | None:
    """(source address, source port, sender index) when `packet` (from the IP header) is a type-1 datagram
    to `port`; the sender index is None when the datagram is too short to hold one."""
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
    if destination_port != port or udp[8] != MESSAGE_INITIATION:
        return None
    sender_index = struct.unpack("<I", udp[12:16])[0] if len(udp) >= 16 else None
    return source, source_port, sender_index


def _attach_filter(sock: socket.socket, program: list[BpfInstruction]) -> None:
    # Imported here: udp_probe loads this module in every mode, and a Python built without ctypes must still send probes.
    import ctypes  # pylint: disable=import-outside-toplevel
    raw = b"".join(struct.pack("=HBBI", *instruction) for instruction in program)
    buffer = ctypes.create_string_buffer(raw, len(raw))
    fprog = struct.pack("=HxxxxxxQ" if struct.calcsize("P") == 8 else "=HxxI", len(program), ctypes.addressof(buffer))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)


class _Sightings:
    """Initiations seen, grouped by where they came from and by the sender index they carry."""

    def __init__(self) -> None:
        self.by_source: dict[tuple[str, int, t.Optional[int]], dict[str, t.Any]] = {}

    def add(self, source: Source, when: float, sender_index: int | None = None) -> None:
        key = (source[0], source[1], sender_index)
        entry = self.by_source.get(key)
        if entry is None:
            entry = self.by_source[key] = {"source_address": source[0], "source_port": source[1],
                                           "count": 0, "first_seen": when, "last_seen": when}
            if sender_index is not None:
                entry["sender_index"] = sender_index
        entry["count"] += 1
        entry["last_seen"] = when

    def as_list(self) -> list[dict[str, t.Any]]:
        return sorted(self.by_source.values(), key=lambda entry: entry["first_seen"])


class Signals:
    """How a capture tells that it listens and learns that it may stop.

    `ready_file` is written once the capture sees packets (or once it knows it never will), so a
    caller waits for it instead of guessing with a pause; `stop_file` appearing means every probe
    this capture serves is done, so it stops then, with `duration` only as the upper bound."""

    def __init__(self, ready_file: str | None = None, stop_file: str | None = None) -> None:
        self.ready_file = ready_file
        self.stop_file = stop_file
        self.ready_written = False

    def ready(self, state: str = "listening") -> None:
        if self.ready_file and not self.ready_written:
            write_signal_file(self.ready_file, state)
            self.ready_written = True

    def stop_requested(self) -> bool:
        return bool(self.stop_file) and os.path.exists(str(self.stop_file))


def write_signal_file(path: str, text: str) -> None:
    """Write `text` to `path` whole (temporary file, then rename) so a waiter never reads half of it."""
    directory = os.path.dirname(path) or "."
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o700)
    temporary = os.path.join(directory, ".%s.%d" % (os.path.basename(path), os.getpid()))
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text + "\n")
    os.rename(temporary, path)


def _take_packet(sock: socket.socket, port: int, sightings: _Sightings) -> None:
    packet, address = sock.recvfrom(65535)
    # A packet we send ourselves (loopback shows both directions) is not an arrival.
    if address[2] == PACKET_OUTGOING:
        return
    # Re-checked in Python: packets queued before the filter was attached were not filtered.
    initiation = parse_initiation(packet, port)
    if initiation:
        sightings.add(initiation[:2], round(time.time(), 6), initiation[2])


def _drain(sock: socket.socket, port: int, sightings: _Sightings) -> None:
    """Take what is already queued: it arrived before the stop was asked for."""
    sock.setblocking(False)
    while True:
        try:
            _take_packet(sock, port, sightings)
        except (BlockingIOError, InterruptedError):
            return


def _listen_af_packet(port: int, duration: float, interface: str | None, sightings: _Sightings,
                      signals: Signals) -> str:
    """Capture until the stop file appears ("signal") or `duration` has passed ("deadline")."""
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
    with sock:
        _attach_filter(sock, initiation_filter(port))
        if interface:
            try:
                sock.bind((interface, ETH_P_ALL))
            except OSError as exc:
                raise CaptureError("cannot listen on interface %r: %s" % (interface, exc.strerror)) from None
        signals.ready()
        deadline = time.monotonic() + duration
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        next_check = 0.0
        while True:
            now = time.monotonic()
            if signals.stop_file and now >= next_check:
                if signals.stop_requested():
                    _drain(sock, port, sightings)
                    return "signal"
                next_check = now + STOP_CHECK_INTERVAL
            remaining = deadline - now
            if remaining <= 0:
                return "deadline"
            wait = min(remaining, STOP_CHECK_INTERVAL) if signals.stop_file else remaining
            if not poller.poll(max(1, int(wait * 1000))):
                continue
            _take_packet(sock, port, sightings)


def parse_tcpdump_line(line: str) -> tuple[float, str, int] | None:
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


def _wait_until_tcpdump_listens(process: subprocess.Popen) -> str:
    """What tcpdump said on stderr up to its "listening on" line (or until it exited or took too long)."""
    said = ""
    deadline = time.monotonic() + READY_TIMEOUT
    if process.stderr is None:
        raise ValueError("tcpdump was started without a stderr pipe")
    descriptor = process.stderr.fileno()
    while "listening on" not in said and time.monotonic() < deadline:
        readable, _w, _x = select.select([descriptor], [], [], 0.1)
        if readable:
            chunk = os.read(descriptor, 4096)
            if not chunk:
                break
            said += chunk.decode("utf-8", "replace")
    return said


def _listen_tcpdump(port: int, duration: float, interface: str | None, sightings: _Sightings, tcpdump: str,
                    signals: Signals) -> str:
    argv = [tcpdump, "-n", "-l", "-tt", "-Q", "in", "-i", interface or "any",
            "udp dst port %d and udp[8] = %d" % (port, MESSAGE_INITIATION)]
    # run_command cannot stop a capture on a signal, and module_utils here take no AnsibleModule.
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,  # pylint: disable=ansible-bad-function
                               universal_newlines=True)
    said = _wait_until_tcpdump_listens(process)
    signals.ready()
    deadline = time.monotonic() + duration
    stopped = "deadline"
    while process.poll() is None:
        if signals.stop_requested():
            stopped = "signal"
            break
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            process.wait(timeout=min(remaining, STOP_CHECK_INTERVAL) if signals.stop_file else remaining)
        except subprocess.TimeoutExpired:
            continue
    if process.poll() is None:
        process.terminate()
    out, err = process.communicate()
    err = said + err
    if process.returncode not in (0, -15, 143) and not out:
        last_line = (err.strip().splitlines() or ["exit status %s" % process.returncode])[-1]
        raise CaptureError("tcpdump failed: %s" % last_line)
    for line in out.splitlines():
        parsed = parse_tcpdump_line(line)
        if parsed:
            sightings.add((parsed[1], parsed[2]), parsed[0])
    return stopped


def listen_initiations(port: int, duration: float, interface: str | None = None, method: str = "auto",
                       tcpdump: str | None = None, ready_file: str | None = None,
                       stop_file: str | None = None) -> dict[str, t.Any]:
    """Watch for handshake initiations arriving on `port` until `stop_file` appears, at most for
    `duration` seconds, then stop by itself; `ready_file` is written once the capture listens.

    Capture sees a packet before the host's firewall judges it, so "arrived" here
    and `timeout` at the initiator means a rule on this host dropped it. `stopped` says
    whether the capture was told every probe was done ("signal") or ran out ("deadline"):
    only the first proves that a probe it did not see never arrived.
    """
    if not 1 <= int(port) <= 65535:
        raise CaptureError("port %s is out of range 1-65535" % port)
    signals = Signals(ready_file, stop_file)
    try:
        return _listen(int(port), float(duration), interface, method, tcpdump, signals)
    except (CaptureError, OSError) as exc:
        # The waiter for the ready file must not wait in vain: the capture's own result says what failed.
        signals.ready("failed: %s" % (getattr(exc, "strerror", None) or exc))
        raise


def _listen(port: int, duration: float, interface: str | None, method: str, tcpdump: str | None,
            signals: Signals) -> dict[str, t.Any]:
    sightings = _Sightings()
    used = method
    stopped = "deadline"
    if method in ("auto", "af_packet"):
        try:
            stopped = _listen_af_packet(port, duration, interface, sightings, signals)
            used = "af_packet"
        except (OSError, AttributeError) as exc:
            if method == "af_packet" or not tcpdump:
                reason = getattr(exc, "strerror", None) or str(exc)
                raise CaptureError("cannot capture with an AF_PACKET socket (needs Linux and root or CAP_NET_RAW): %s"
                                   % reason) from None
            used = "tcpdump"
    if used == "tcpdump":
        if not tcpdump:
            raise CaptureError("tcpdump is not installed")
        stopped = _listen_tcpdump(port, duration, interface, sightings, tcpdump, signals)
    initiations = sightings.as_list()
    return {
        "outcome": "listened",
        "method": used,
        "interface": interface,
        "port": int(port),
        "duration": float(duration),
        "stopped": stopped,
        "count": sum(entry["count"] for entry in initiations),
        "initiations": initiations,
        "detail": "%d handshake initiation(s) arrived from %d source(s)" % (
            sum(entry["count"] for entry in initiations),
            len(set((entry["source_address"], entry["source_port"]) for entry in initiations))),
    }
