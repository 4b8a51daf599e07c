# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Each outcome the probe can report, produced by real sockets on 127.0.0.1.

The ICMP cases a firewall produces (admin-prohibited, host-unreachable, a DROP)
run inside a network namespace of our own, so no rule touches the host.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
import uuid

import pytest

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard import crypto as wg_crypto
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard import noise as wg_noise
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.host import probe as wg_probe
from noise_responder import Responder, UDPResponder

RESPONDER_PRIVATE = wg_crypto.clamp_private_key(b"\x21" * 32)
PROBE_PRIVATE = wg_crypto.clamp_private_key(b"\x31" * 32)
PSK = b"\x41" * 32


def _initiator(psk=PSK, responder_public=None):
    return wg_noise.Initiator(PROBE_PRIVATE, responder_public or wg_crypto.x25519_base(RESPONDER_PRIVATE), psk)


def _responder(psk=PSK, **kwargs):
    return Responder(RESPONDER_PRIVATE, {wg_crypto.x25519_base(PROBE_PRIVATE): psk}, **kwargs)


def _closed_udp_port(family=socket.AF_INET, host="127.0.0.1"):
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def test_healthy_responder_answers_ok_and_the_probe_sends_nothing_more():
    server = UDPResponder(_responder())
    with server as port:
        result = wg_probe.probe_wireguard("127.0.0.1", port, _initiator(), timeout=0.5)
        time.sleep(0.2)  # a keepalive or data packet would have arrived by now
    assert result["outcome"] == "ok"
    assert result["attempts"] == 1
    assert 0 < result["rtt_ms"] < 500
    assert result["local_address"] == "127.0.0.1" and result["local_port"] > 0
    assert result["backend"] == wg_crypto.backend_name()
    assert [len(datagram) for datagram in server.received] == [148]


def test_preshared_key_mismatch_is_auth_failed():
    with UDPResponder(_responder(psk=b"\x42" * 32)) as port:
        result = wg_probe.probe_wireguard("127.0.0.1", port, _initiator(), timeout=0.5)
    assert result["outcome"] == "auth_failed"
    assert "preshared key" in result["detail"]


def test_responder_under_load_is_answered_with_mac2_and_then_ok():
    server = UDPResponder(_responder(under_load=True))
    with server as port:
        result = wg_probe.probe_wireguard("127.0.0.1", port, _initiator(), timeout=0.5, retries=0)
    assert result["outcome"] == "ok"
    assert result["attempts"] == 2
    assert "cookie" in result["detail"]
    assert server.received[1][132:] != b"\x00" * 16


def test_responder_that_only_sends_cookies_is_reported_as_cookie_after_one_mac2_retry():
    server = UDPResponder(_responder(always_cookie=True))
    with server as port:
        result = wg_probe.probe_wireguard("127.0.0.1", port, _initiator(), timeout=0.2, retries=0)
    assert result["outcome"] == "cookie"
    assert len(server.received) == 2


def test_nothing_listening_is_refused():
    port = _closed_udp_port()
    result = wg_probe.probe_wireguard("127.0.0.1", port, _initiator(), timeout=0.5)
    assert result["outcome"] == "refused"
    assert result["attempts"] == 1
    assert "port unreachable" in result["detail"]


def test_nothing_listening_on_ipv6_loopback_is_refused():
    if not socket.has_ipv6 or not os.path.exists("/proc/net/if_inet6"):
        pytest.skip("no IPv6")
    port = _closed_udp_port(socket.AF_INET6, "::1")
    result = wg_probe.probe_wireguard("::1", port, _initiator(), timeout=0.5)
    assert result["outcome"] == "refused"
    assert "ICMPv6" in result["detail"]


def test_silence_is_timeout_after_every_attempt_at_least_100ms_apart():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        started = time.monotonic()
        result = wg_probe.probe_wireguard("127.0.0.1", silent.getsockname()[1], _initiator(), timeout=0.02, retries=2)
        elapsed = time.monotonic() - started
        received = []
        silent.settimeout(0.1)
        try:
            while True:
                received.append(silent.recv(2048))
        except socket.timeout:
            pass
    assert result["outcome"] == "timeout"
    assert result["attempts"] == 3
    assert result["rtt_ms"] is None
    assert elapsed >= 0.2
    assert len(received) == 3
    # every retry is a fresh initiation: wireguard-go drops a repeated timestamp as a replay
    assert len({datagram[8:40] for datagram in received}) == 3


def test_wrong_responder_key_is_timeout_because_the_responder_stays_silent():
    wrong = wg_crypto.x25519_base(b"\x77" * 32)
    with UDPResponder(_responder()) as port:
        result = wg_probe.probe_wireguard("127.0.0.1", port, _initiator(responder_public=wrong), timeout=0.1, retries=0)
    assert result["outcome"] == "timeout"


def test_stray_datagram_is_ignored_while_waiting_for_the_real_answer():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as noisy:
        noisy.bind(("127.0.0.1", 0))

        def answer_garbage_then_real():
            data, source = noisy.recvfrom(2048)
            noisy.sendto(b"\x02\x00\x00\x00" + b"x" * 88, source)
            verdict, response = _responder().answer(data, source)
            noisy.sendto(response, source)

        thread = threading.Thread(target=answer_garbage_then_real)
        thread.start()
        result = wg_probe.probe_wireguard("127.0.0.1", noisy.getsockname()[1], _initiator(), timeout=1.0)
        thread.join()
    assert result["outcome"] == "ok"


def test_raw_mode_reports_a_reply_and_a_refusal():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as echo:
        echo.bind(("127.0.0.1", 0))
        thread = threading.Thread(target=lambda: echo.sendto(b"pong", echo.recvfrom(64)[1]))
        thread.start()
        result = wg_probe.probe_raw("127.0.0.1", echo.getsockname()[1], b"ping", timeout=1.0)
        thread.join()
    assert result["outcome"] == "ok" and result["reply"] == b"pong".hex()
    refused = wg_probe.probe_raw("127.0.0.1", _closed_udp_port(), b"ping", timeout=0.5)
    assert refused["outcome"] == "refused"


def test_source_port_is_used_and_a_busy_one_is_a_clear_error():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy:
        busy.bind(("0.0.0.0", 0))
        with pytest.raises(wg_probe.ProbeError) as info:
            wg_probe.probe_raw("127.0.0.1", 9, b"x", timeout=0.1, source_port=busy.getsockname()[1])
    assert "source port" in str(info.value)
    free = _closed_udp_port(host="0.0.0.0")
    with UDPResponder(_responder()) as port:
        result = wg_probe.probe_wireguard("127.0.0.1", port, _initiator(), timeout=0.5, source_port=free)
    assert result["local_port"] == free and result["outcome"] == "ok"


@pytest.mark.parametrize("bad_host", ["no-such-host.invalid", ""])
def test_unresolvable_host_is_a_probe_error(bad_host):
    with pytest.raises(wg_probe.ProbeError) as info:
        wg_probe.resolve(bad_host, 51820)
    assert "cannot resolve host" in str(info.value)


@pytest.mark.parametrize("port", [0, 65536, -1])
def test_port_out_of_range_is_a_probe_error(port):
    with pytest.raises(wg_probe.ProbeError):
        wg_probe.resolve("127.0.0.1", port)


# ----------------------------------------------- firewall verdicts in a private netns
def _can_make_netns():
    return os.geteuid() == 0 and shutil.which("ip") and shutil.which("nft") and hasattr(os, "setns")


@pytest.fixture
def netns():
    if not _can_make_netns():
        pytest.skip("needs root, ip, nft and os.setns (Python 3.12)")
    name = "wgdh-cp-t%s" % uuid.uuid4().hex[:6]
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=False)


def _nft(netns_name, rule):
    ruleset = "table inet wgdh_probe {\n chain input {\n  type filter hook input priority 0;\n  %s\n }\n}\n" % rule
    subprocess.run(["ip", "netns", "exec", netns_name, "nft", "-f", "-"], input=ruleset.encode(), check=True)


def _probe_inside(netns_name, host, port, **kwargs):
    """Run the probe from a thread that has entered the namespace (setns only moves the calling thread)."""
    box = {}

    def run():
        with open("/run/netns/%s" % netns_name) as handle:
            os.setns(handle.fileno(), os.CLONE_NEWNET)
        box["result"] = wg_probe.probe_wireguard(host, port, _initiator(), **kwargs)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return box["result"]


@pytest.mark.parametrize("reject_with, words", [
    ("icmp type admin-prohibited", "administratively prohibited (type 3 code 13)"),
    ("icmp type host-unreachable", "host unreachable (type 3 code 1)"),
    ("icmp type net-unreachable", "net unreachable (type 3 code 0)"),
])
def test_reject_with_icmp_error_is_unreachable(netns, reject_with, words):
    _nft(netns, "udp dport 51820 reject with %s" % reject_with)
    result = _probe_inside(netns, "127.0.0.1", 51820, timeout=0.5)
    assert result["outcome"] == "unreachable"
    assert words in result["detail"]
    assert "127.0.0.1" in result["detail"]  # who sent the ICMP error


def test_ipv6_reject_admin_prohibited_is_unreachable(netns):
    _nft(netns, "udp dport 51820 reject with icmpv6 type admin-prohibited")
    result = _probe_inside(netns, "::1", 51820, timeout=0.5)
    assert result["outcome"] == "unreachable"
    assert "ICMPv6 communication administratively prohibited" in result["detail"]


def test_plain_reject_is_refused(netns):
    _nft(netns, "udp dport 51820 reject")
    assert _probe_inside(netns, "127.0.0.1", 51820, timeout=0.5)["outcome"] == "refused"


def test_drop_is_timeout(netns):
    _nft(netns, "udp dport 51820 drop")
    result = _probe_inside(netns, "127.0.0.1", 51820, timeout=0.1, retries=1)
    assert result["outcome"] == "timeout" and result["attempts"] == 2


def test_no_route_to_the_responder_is_unreachable_before_anything_is_sent(netns):
    result = _probe_inside(netns, "10.200.99.1", 51820, timeout=0.2)
    assert result["outcome"] == "unreachable"
    assert result["attempts"] == 0
    assert "network unreachable" in result["detail"]
