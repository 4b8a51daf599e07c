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
    return source, source_port


def _attach_filter(sock: socket.socket, program: list[BpfInstruction]) -> None:
    # Imported here: udp_probe loads this module in every mode, and a Python built without ctypes must still send probes.
    import ctypes  # pylint: disable=import-outside-toplevel
    raw = b"".join(struct.pack("=HBBI", *instruction) for instruction in program)
    buffer = ctypes.create_string_buffer(raw, len(raw))
    fprog = struct.pack("=HxxxxxxQ" if struct.calcsize("P") == 8 else "=HxxI", len(program), ctypes.addressof(buffer))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)


class _Sightings:
    """Initiations seen, grouped by where they came from."""

    def __init__(self) -> None:
        self.by_source: dict[Source, dict[str, t.Any]] = {}

    def add(self, source: Source, when: float) -> None:
        entry = self.by_source.setdefault(source, {"source_address": source[0], "source_port": source[1],
                                                   "count": 0, "first_seen": when, "last_seen": when})
        entry["count"] += 1
        entry["last_seen"] = when

    def as_list(self) -> list[dict[str, t.Any]]:
        return sorted(self.by_source.values(), key=lambda entry: entry["first_seen"])


def _listen_af_packet(port: int, duration: float, interface: str | None, sightings: _Sightings) -> None:
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
    with sock:
        _attach_filter(sock, initiation_filter(port))
        if interface:
            try:
                sock.bind((interface, ETH_P_ALL))
            except OSError as exc:
                raise CaptureError("cannot listen on interface %r: %s" % (interface, exc.strerror)) from None
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


def _listen_tcpdump(port: int, duration: float, interface: str | None, sightings: _Sightings, tcpdump: str) -> None:
    argv = [tcpdump, "-n", "-l", "-tt", "-Q", "in", "-i", interface or "any",
            "udp dst port %d and udp[8] = %d" % (port, MESSAGE_INITIATION)]
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
        raise CaptureError("tcpdump failed: %s" % last_line)
    for line in out.splitlines():
        parsed = parse_tcpdump_line(line)
        if parsed:
            sightings.add((parsed[1], parsed[2]), parsed[0])


def listen_initiations(port: int, duration: float, interface: str | None = None, method: str = "auto",
                       tcpdump: str | None = None) -> dict[str, t.Any]:
    """Watch for handshake initiations arriving on `port` for `duration` seconds, then stop by itself.

    Capture sees a packet before the host's firewall judges it, so "arrived" here
    and `timeout` at the initiator means a rule on this host dropped it.
    """
    if not 1 <= int(port) <= 65535:
        raise CaptureError("port %s is out of range 1-65535" % port)
    sightings = _Sightings()
    used = method
    if method in ("auto", "af_packet"):
        try:
            _listen_af_packet(int(port), float(duration), interface, sightings)
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
