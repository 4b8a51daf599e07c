#!/usr/bin/env python
# Copyright (c) 2026, wgdoctor contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Baseline for the udp_probe benchmark: a plain UDP send/recv round trip on the same path.

  python benchmarks/bench_udp_baseline.py --container wgd7-server --address 198.18.4.10 [--count 100] [--port 51999]

Starts a UDP echo (python3, in the lab container that runs the WireGuard responder), sends a
148-byte datagram (the size of a handshake initiation) from this process and waits for it to come
back, one at a time, and prints the median round trip. What a probe costs above this is the
Noise handshake work on both ends.
"""
from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
PIDFILE = "/tmp/wgd-bench-echo.pid"
ECHO = ("import os, socket\n"
        "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "s.bind(('0.0.0.0', {port}))\n"
        "open('{pidfile}', 'w').write(str(os.getpid()))\n"
        "while True:\n"
        "    data, peer = s.recvfrom(2048)\n"
        "    s.sendto(data, peer)\n")


def podman(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, CONTAINERS_CONF=os.environ.get("CONTAINERS_CONF", os.path.join(REPO, "tests/lab/containers.conf")))
    return subprocess.run(["podman", *args], env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)


def exchange(sock: socket.socket, number: int) -> None:
    """Send datagram `number` and wait for its own echo (a late echo of an earlier one does not count)."""
    payload = b"\x01" + number.to_bytes(4, "big") + b"\x00" * 143
    sock.send(payload)
    while sock.recv(2048)[:5] != payload[:5]:
        pass


def round_trips(address: str, port: int, count: int) -> list:
    samples = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(1.0)
        sock.connect((address, port))
        deadline = time.monotonic() + 10
        number = 0
        while True:  # the echo needs a moment to bind
            number += 1
            try:
                exchange(sock, number)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        for _n in range(count):
            number += 1
            start = time.perf_counter()
            exchange(sock, number)
            samples.append(time.perf_counter() - start)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--container", required=True)
    parser.add_argument("--address", required=True)
    parser.add_argument("--port", type=int, default=51999)
    parser.add_argument("--count", type=int, default=100)
    args = parser.parse_args()
    podman("exec", "-d", args.container, "python3", "-c", ECHO.format(port=args.port, pidfile=PIDFILE))
    try:
        samples = round_trips(args.address, args.port, args.count)
    finally:
        podman("exec", args.container, "sh", "-c", "kill $(cat %s) && rm -f %s" % (PIDFILE, PIDFILE))
    ordered = sorted(samples)
    print("plain UDP round trip to %s:%d (echo in %s): %d samples, median %.3f ms (min %.3f, p90 %.3f ms)" % (
        args.address, args.port, args.container, len(samples), statistics.median(samples) * 1000, ordered[0] * 1000,
        ordered[int(len(ordered) * 0.9)] * 1000))


if __name__ == "__main__":
    sys.exit(main())
