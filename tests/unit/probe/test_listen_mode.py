# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The responder-side listener: did the probe's initiation arrive at all?"""
from __future__ import annotations

import os
import shutil
import socket
import struct
import threading
import time

import pytest

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard import crypto as wg_crypto
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard import noise as wg_noise
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.host import capture as wg_capture

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="AF_PACKET needs root")


def _ipv4_udp(source, sport, dport, payload):
    header = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + 8 + len(payload), 0, 0, 64, 17, 0,
                         socket.inet_aton(source), socket.inet_aton("10.0.0.2"))
    return header + struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) + payload


def _ipv6_udp(source, sport, dport, payload):
    header = struct.pack(">IHBB16s16s", 0x60000000, 8 + len(payload), 17, 64,
                         socket.inet_pton(socket.AF_INET6, source), socket.inet_pton(socket.AF_INET6, "fd00::2"))
    return header + struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) + payload


def test_an_initiation_to_the_port_is_recognised_in_ipv4_and_ipv6():
    initiation = b"\x01\x00\x00\x00" + bytes(144)
    assert wg_capture.parse_initiation_packet(_ipv4_udp("192.0.2.7", 40000, 51820, initiation), 51820) == ("192.0.2.7", 40000)
    assert wg_capture.parse_initiation_packet(_ipv6_udp("2001:db8::7", 40001, 51820, initiation), 51820) == ("2001:db8::7", 40001)


def test_responses_other_ports_and_garbage_are_not_initiations():
    response = b"\x02\x00\x00\x00" + bytes(88)
    assert wg_capture.parse_initiation_packet(_ipv4_udp("192.0.2.7", 40000, 51820, response), 51820) is None
    assert wg_capture.parse_initiation_packet(_ipv4_udp("192.0.2.7", 40000, 51821, b"\x01" + bytes(147)), 51820) is None
    assert wg_capture.parse_initiation_packet(b"", 51820) is None
    assert wg_capture.parse_initiation_packet(b"\x45" + bytes(10), 51820) is None


def test_tcpdump_lines_give_time_source_and_port():
    line = "1764085000.123456 IP 10.200.47.1.45722 > 10.200.47.2.51820: UDP, length 148"
    assert wg_capture.parse_tcpdump_line(line) == (1764085000.123456, "10.200.47.1", 45722)
    line6 = "1764085000.5 lo   In  IP6 fd00::1.40000 > fd00::2.51820: UDP, length 148"
    assert wg_capture.parse_tcpdump_line(line6) == (1764085000.5, "fd00::1", 40000)
    assert wg_capture.parse_tcpdump_line("tcpdump: listening on lo, link-type EN10MB") is None


def test_filter_matches_what_tcpdump_compiles_for_ipv4():
    # tcpdump -d -y RAW 'udp dst port 51820 and udp[8] = 1' checks the same fields in the same way.
    program = wg_capture.initiation_filter(51820)
    assert (0x45, 13, 0, 0x1FFF) in program  # skip non-first fragments
    assert (0xb1, 0, 0, 0) in program  # X = IPv4 header length
    assert sum(1 for code, _jt, _jf, k in program if code == 0x15 and k == 51820) == 2  # IPv4 and IPv6
    assert program[-2:] == [(0x06, 0, 0, 0x40000), (0x06, 0, 0, 0)]


def _send_initiation_and_noise(port, delay):
    time.sleep(delay)
    initiator = wg_noise.Initiator(wg_crypto.clamp_private_key(b"\x01" * 32), wg_crypto.x25519_base(b"\x02" * 32))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.sendto(b"\x02\x00\x00\x00" + bytes(88), ("127.0.0.1", port))  # a response: not counted
        sock.sendto(b"\x01hello", ("127.0.0.1", port + 1))  # another port: not counted
        sock.sendto(initiator.create_initiation(), ("127.0.0.1", port))
        sock.sendto(initiator.create_initiation(), ("127.0.0.1", port))
        return sock.getsockname()[1]


@needs_root
def test_af_packet_filter_drops_other_traffic_in_the_kernel():
    port = 47111
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(wg_capture.ETH_P_ALL))
    with sock:
        wg_capture._attach_filter(sock, wg_capture.initiation_filter(port))
        sock.bind(("lo", wg_capture.ETH_P_ALL))
        while True:  # drain what was queued before the filter was attached
            try:
                sock.recv(65535, socket.MSG_DONTWAIT)
            except BlockingIOError:
                break
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            sender.sendto(b"\x02" + bytes(91), ("127.0.0.1", port))
            sender.sendto(b"\x01" + bytes(147), ("127.0.0.1", port + 1))
            sender.sendto(b"\x01" + bytes(147), ("127.0.0.1", port))
        sock.settimeout(1)
        packet = sock.recv(65535)
    # The first packet the kernel let through is the initiation, not the two sent before it.
    assert wg_capture.parse_initiation_packet(packet, port) is not None


@needs_root
def test_listener_counts_initiations_per_source_and_stops_by_itself():
    port = 47112
    box = {}
    sender = threading.Thread(target=lambda: box.update(sport=_send_initiation_and_noise(port, 0.2)))
    sender.start()
    started = time.monotonic()
    result = wg_capture.listen_initiations(port, 0.8, interface="lo", method="af_packet")
    elapsed = time.monotonic() - started
    sender.join()
    assert 0.75 <= elapsed < 1.5
    assert result["method"] == "af_packet"
    assert result["count"] == 2
    [seen] = result["initiations"]
    assert (seen["source_address"], seen["source_port"], seen["count"]) == ("127.0.0.1", box["sport"], 2)
    assert seen["first_seen"] <= seen["last_seen"]


@needs_root
def test_listener_reports_nothing_when_nothing_arrived():
    result = wg_capture.listen_initiations(47113, 0.2, interface="lo", method="af_packet")
    assert result["count"] == 0 and result["initiations"] == []


@needs_root
@pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump not installed")
def test_tcpdump_fallback_sees_the_same_initiations():
    port = 47114
    box = {}
    # tcpdump needs a moment before it captures
    sender = threading.Thread(target=lambda: box.update(sport=_send_initiation_and_noise(port, 1.0)))
    sender.start()
    result = wg_capture.listen_initiations(port, 2.0, interface="lo", method="tcpdump", tcpdump=shutil.which("tcpdump"))
    sender.join()
    assert result["method"] == "tcpdump"
    assert [(s["source_address"], s["source_port"], s["count"]) for s in result["initiations"]] == [("127.0.0.1", box["sport"], 2)]


def test_unknown_interface_is_a_clear_error():
    if os.geteuid() != 0:
        pytest.skip("AF_PACKET needs root")
    with pytest.raises(wg_capture.CaptureError) as info:
        wg_capture.listen_initiations(51820, 0.1, interface="nosuchif0", method="af_packet")
    assert "nosuchif0" in str(info.value)


# ---- a capture that serves every probe aimed at it (issue 10) --------------------------------------

def _initiation_from(sender_index, port, sock):
    initiator = wg_noise.Initiator(wg_crypto.clamp_private_key(b"\x01" * 32), wg_crypto.x25519_base(b"\x02" * 32),
                                   sender_index=sender_index)
    sock.sendto(initiator.create_initiation(), ("127.0.0.1", port))


def test_the_sender_index_of_an_initiation_is_read_from_the_packet():
    initiator = wg_noise.Initiator(wg_crypto.clamp_private_key(b"\x01" * 32), wg_crypto.x25519_base(b"\x02" * 32),
                                   sender_index=0x01020304)
    packet = _ipv4_udp("192.0.2.7", 40000, 41194, initiator.create_initiation())
    assert wg_capture.parse_initiation(packet, 41194) == ("192.0.2.7", 40000, 0x01020304)


@needs_root
def test_listener_says_when_it_listens_and_stops_when_told_not_at_its_deadline(tmp_path):
    port = 47115
    ready, stop = str(tmp_path / "ready"), str(tmp_path / "stop")
    box = {}

    def probes_then_stop():
        deadline = time.monotonic() + 5
        while not os.path.exists(ready) and time.monotonic() < deadline:
            time.sleep(0.01)
        box["ready_seen"] = open(ready).read()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("127.0.0.1", 0))
            # Two initiators (two sender indices) from one NAT address and port: told apart by the index.
            _initiation_from(11, port, sock)
            _initiation_from(22, port, sock)
            _initiation_from(22, port, sock)
            # The last probe goes out long after a fixed capture of old would have ended.
            time.sleep(1.2)
            _initiation_from(33, port, sock)
        open(stop, "w").close()

    helper = threading.Thread(target=probes_then_stop)
    helper.start()
    started = time.monotonic()
    result = wg_capture.listen_initiations(port, 30, interface="lo", method="af_packet", ready_file=ready, stop_file=stop)
    elapsed = time.monotonic() - started
    helper.join()
    assert box["ready_seen"] == "listening\n"
    assert result["stopped"] == "signal" and 1.2 <= elapsed < 5
    assert sorted((entry["sender_index"], entry["count"]) for entry in result["initiations"]) == [(11, 1), (22, 2), (33, 1)]


@needs_root
def test_listener_without_a_stop_says_it_ran_out():
    result = wg_capture.listen_initiations(47116, 0.2, interface="lo", method="af_packet")
    assert result["stopped"] == "deadline"


def test_a_capture_that_cannot_start_still_releases_whoever_waits_for_it(tmp_path):
    ready = str(tmp_path / "ready")
    with pytest.raises(wg_capture.CaptureError):
        wg_capture.listen_initiations(51820, 0.1, interface="nosuchif0", method="af_packet", ready_file=ready)
    assert open(ready).read().startswith("failed: ")


@needs_root
@pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump not installed")
def test_tcpdump_fallback_says_when_it_listens_and_stops_when_told(tmp_path):
    port = 47117
    ready, stop = str(tmp_path / "ready"), str(tmp_path / "stop")

    def probe_then_stop():
        while not os.path.exists(ready):
            time.sleep(0.01)
        _send_initiation_and_noise(port, 0.0)
        time.sleep(0.3)
        open(stop, "w").close()

    helper = threading.Thread(target=probe_then_stop)
    helper.start()
    result = wg_capture.listen_initiations(port, 30, interface="lo", method="tcpdump", tcpdump=shutil.which("tcpdump"),
                                           ready_file=ready, stop_file=stop)
    helper.join()
    assert result["stopped"] == "signal" and result["count"] == 2
