"""Real packets through the server's FORWARD path, for the firewall scenarios that route for the tunnel.

The router gets a route to the tunnel subnet through the server, so that it is a "routable neighbour"
on the uplink: the firewall role must let the tunnel client out through the uplink (and the replies
back), and must not let the neighbour open anything into the tunnel. Shared by firewall_nftables,
firewall_iptables and firewall_ufw (their conftest puts this directory on sys.path).
"""
from __future__ import annotations

import contextlib
import re
import time
import typing as t

from lab_fixtures import PUBLIC_NET, lab_host

TUNNEL_INTERFACE = "wg0"
TUNNEL_SUBNET = "10.99.0.0/24"
SERVER_TUNNEL_ADDRESS = "10.99.0.1"
CLIENT_TUNNEL_ADDRESS = "10.99.0.2"
SERVER_UPLINK_ADDRESS = f"{PUBLIC_NET}.10"
ROUTER_UPLINK_ADDRESS = f"{PUBLIC_NET}.2"
CAPTURE_UNIT = "lab-forward-capture"
CAPTURE_FILE = "/tmp/lab-forward-capture.txt"


@contextlib.contextmanager
def server_routes_between_tunnel_and_uplink() -> t.Iterator[None]:
    """Forwarding on in the server, the router routing the tunnel subnet to it, the client sending the
    router's address into the tunnel; all of it undone afterwards (a reboot would reset it too)."""
    server, router, client = lab_host("server"), lab_host("router"), lab_host("client")
    forwarding_before = server.check_output("sysctl -n net.ipv4.ip_forward").strip()
    peer = client.check_output(f"wg show {TUNNEL_INTERFACE} peers").split()[0]
    server.check_output("sysctl -qw net.ipv4.ip_forward=1")
    router.check_output(f"ip route replace {TUNNEL_SUBNET} via {SERVER_UPLINK_ADDRESS}")
    client.check_output(f"wg set {TUNNEL_INTERFACE} peer {peer} allowed-ips {SERVER_TUNNEL_ADDRESS}/32,{ROUTER_UPLINK_ADDRESS}/32")
    client.check_output(f"ip route replace {ROUTER_UPLINK_ADDRESS}/32 dev {TUNNEL_INTERFACE}")
    try:
        yield
    finally:
        client.run(f"ip route del {ROUTER_UPLINK_ADDRESS}/32 dev {TUNNEL_INTERFACE}")
        client.run(f"wg set {TUNNEL_INTERFACE} peer {peer} allowed-ips {SERVER_TUNNEL_ADDRESS}/32")
        router.run(f"ip route del {TUNNEL_SUBNET} via {SERVER_UPLINK_ADDRESS}")
        server.run(f"sysctl -qw net.ipv4.ip_forward={forwarding_before}")


def tunnel_client_reaches_the_uplink() -> bool:
    """The client pings the router through the tunnel: out of the server's uplink, and the reply back in."""
    client = lab_host("client")
    return any(client.run(f"ping -c 1 -W 2 -I {TUNNEL_INTERFACE} {ROUTER_UPLINK_ADDRESS}").rc == 0 for _attempt in range(5))


def packets_forwarded_into_the_tunnel_from_the_uplink(protocol: str = "icmp") -> int:
    """The router (a neighbour on the uplink) sends 3 packets to the client's tunnel address through the
    server, while the server captures on its tunnel interface: how many of them the server sent into the tunnel.

    protocol "icmp" pings; "udp" sends datagrams that open a new connection. ufw's stock before.rules
    accept forwarded echo-requests by themselves (not a rule of ours), so its scenario asks with UDP."""
    server, router = lab_host("server"), lab_host("router")
    server.run(f"systemctl stop {CAPTURE_UNIT}")
    server.check_output(f"rm -f {CAPTURE_FILE}")
    # --immediate-mode: each packet reaches tcpdump as it arrives, not when a kernel buffer block fills or times out,
    # so stopping the capture right after the probes misses none; the timeout only bounds a capture nobody stops.
    server.check_output(
        f"systemd-run --collect --unit={CAPTURE_UNIT} sh -c "
        f"\"timeout 20 tcpdump --immediate-mode -nni {TUNNEL_INTERFACE} '{protocol} and src host {ROUTER_UPLINK_ADDRESS}' > {CAPTURE_FILE} 2>&1\"")
    deadline = time.monotonic() + 5
    while "listening on" not in server.run(f"cat {CAPTURE_FILE}").stdout and time.monotonic() < deadline:
        time.sleep(0.2)
    if protocol == "udp":
        for _datagram in range(3):
            router.run(f"sh -c 'echo probe | nc -u -w 0 {CLIENT_TUNNEL_ADDRESS} 40123'")
            time.sleep(0.3)
    else:
        router.run(f"ping -c 3 -i 0.3 -W 1 {CLIENT_TUNNEL_ADDRESS}")
    # The probes are sent (the pings waited a second for a reply): a packet the server forwarded is on wg0 by now.
    # Stop the capture instead of waiting out a fixed timer; tcpdump prints its counts when interrupted.
    time.sleep(0.5)
    server.run(f"systemctl kill --signal=SIGINT {CAPTURE_UNIT}")
    deadline = time.monotonic() + 15
    while server.run(f"systemctl is-active --quiet {CAPTURE_UNIT}").rc == 0 and time.monotonic() < deadline:
        time.sleep(0.5)
    capture = server.check_output(f"cat {CAPTURE_FILE}")
    assert "listening on" in capture, f"the capture on the server's {TUNNEL_INTERFACE} did not start: {capture}"
    counted = re.search(r"^(\d+) packets? captured", capture, re.M)
    matched = re.search(r"^(\d+) packets? received by filter", capture, re.M)
    assert counted and matched, f"tcpdump did not finish: {capture}"
    # What the kernel matched on wg0 counts too, had tcpdump not read it yet when stopped.
    return max(int(counted.group(1)), int(matched.group(1)))
