"""The DF ping bisection (issue #16): a simulated path that carries up to N bytes, measured in few probes, bounded in time."""
from __future__ import annotations

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.host.path_mtu import (
    endpoint_for, largest_payload, parse_route_device, ping_argv,
)


class Path:
    """A path that answers DF pings up to `carries` bytes of payload; each ping costs `cost` seconds of a fake clock."""

    def __init__(self, carries, cost=0.0, lose_first=0, local_mtu=None, rc_error=None):
        self.carries, self.cost, self.lose_first, self.local_mtu, self.rc_error = carries, cost, lose_first, local_mtu, rc_error
        self.now = 0.0
        self.sent = []

    def clock(self):
        return self.now

    def run(self, argv):
        size = int(argv[argv.index("-s") + 1])
        self.sent.append(size)
        self.now += self.cost
        if self.rc_error:
            return 2, "", self.rc_error
        if self.local_mtu is not None and size + 28 > self.local_mtu:
            return 1, "", "ping: local error: message too long, mtu=%d" % self.local_mtu
        if self.lose_first > 0:
            self.lose_first -= 1
            return 1, "1 packets transmitted, 0 received, 100% packet loss", ""
        return (0, "1 packets transmitted, 1 received", "") if size <= self.carries else (1, "100% packet loss", "")


def test_the_argv_is_a_dont_fragment_ping_out_of_the_tunnel():
    expected = ["ping", "-M", "do", "-s", "1392", "-c", "1", "-W", "1", "-I", "wg5", "10.55.0.1"]
    assert ping_argv(1392, "10.55.0.1", "wg5") == expected
    assert "-I" not in ping_argv(1472, "192.0.2.1", None)


def test_a_healthy_path_answers_the_first_full_size_probe():
    path = Path(carries=1392)
    found = largest_payload(path.run, "10.55.0.1", "wg5", 1392, 30, clock=path.clock)
    assert found["largest"] == 1392 and found["smallest_lost"] is None and found["complete"]
    assert path.sent == [1392]


def test_a_black_hole_is_bisected_to_the_byte():
    path = Path(carries=1212)
    found = largest_payload(path.run, "10.55.0.1", "wg5", 1392, 30, clock=path.clock)
    assert (found["largest"], found["smallest_lost"], found["complete"]) == (1212, 1213, True)
    # Lost sizes are tried twice; still a handful of probes, not one per size.
    assert found["probes"] < 40


def test_nothing_crossing_is_reported_as_no_size_at_all():
    path = Path(carries=0)
    found = largest_payload(path.run, "10.55.0.1", "wg5", 1392, 30, clock=path.clock)
    assert found["largest"] is None and found["smallest_lost"] == 64 and found["complete"]
    assert path.sent == [1392, 1392, 64, 64]


def test_one_lost_ping_is_not_taken_for_the_mtu():
    path = Path(carries=1392, lose_first=1)
    found = largest_payload(path.run, "10.55.0.1", "wg5", 1392, 30, clock=path.clock)
    assert found["largest"] == 1392


def test_the_time_bound_stops_the_search_with_a_lower_bound():
    path = Path(carries=1212, cost=1.0)
    found = largest_payload(path.run, "10.55.0.1", "wg5", 1392, 8, clock=path.clock)
    assert not found["complete"]
    assert found["largest"] is not None and found["largest"] <= 1212
    assert path.now <= 8 + 2  # at most the probe (and its retry) that was running when time ran out


def test_a_local_message_too_long_names_the_kernels_path_mtu_and_is_not_retried():
    path = Path(carries=1392, local_mtu=1300)
    found = largest_payload(path.run, "192.0.2.1", None, 1472, 30, clock=path.clock)
    assert found["largest"] == 1272 and found["local_mtu"] == 1300
    assert path.sent.count(1472) == 1


def test_a_ping_that_cannot_be_sent_stops_with_its_error():
    path = Path(carries=1392, rc_error="ping: SO_BINDTODEVICE wg5: No such device")
    found = largest_payload(path.run, "10.55.0.1", "wg5", 1392, 30, clock=path.clock)
    assert found["largest"] is None and found["error"] == "ping: SO_BINDTODEVICE wg5: No such device"
    assert path.sent == [1392]


def test_the_underlay_endpoint_is_the_peer_that_routes_the_address():
    endpoints = "KEYA=\t192.0.2.10:51999\nKEYB=\t(none)\nKEYC=\t[2001:db8::1]:4000\n"
    allowed = "KEYA=\t10.55.0.0/24\nKEYB=\t10.55.0.7/32\nKEYC=\tfd55::/64\n"
    assert endpoint_for("10.55.0.1", endpoints, allowed) == "192.0.2.10"
    # 10.55.0.7 goes to KEYB (the longer prefix), which has no endpoint: there is no underlay to measure.
    assert endpoint_for("10.55.0.7", endpoints, allowed) is None
    assert endpoint_for("fd55::1", endpoints, allowed) == "2001:db8::1"
    assert endpoint_for("not an address", endpoints, allowed) is None
    assert parse_route_device("192.0.2.10 via 10.0.0.1 dev eth0 src 10.0.0.2 uid 0\n    cache\n") == "eth0"
    assert parse_route_device("") is None
