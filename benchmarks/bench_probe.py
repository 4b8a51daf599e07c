# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark (not a test): how long a udp_probe takes in-process.

  python benchmarks/bench_probe.py [--count 100] [--backend pynacl|cryptography|pure] [--timeout 0.2 --retries 1]
  python benchmarks/bench_probe.py --target 10.200.47.2:51820 --responder-key KEY --private-key-file probe.key [--psk-file psk]

Prints the median time of an `ok` probe against a local responder (the test
suite's Python responder in a separate process, or a real WireGuard responder
with --target), and the time to a `timeout` verdict against a silent socket,
which should be timeout x (1 + retries) and nothing more.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import socket
import statistics
import sys
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "unit"))
sys.path.insert(0, os.path.join(REPO, "tests", "unit", "probe"))
# conftest makes the repo importable as ansible_collections.wgdoctor.wireguard
import conftest  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard import crypto as wg_crypto  # noqa: E402
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard import keys as wg_keys  # noqa: E402
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard import noise as wg_noise  # noqa: E402
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.host import probe as wg_probe  # noqa: E402

RESPONDER_PRIVATE = wg_crypto.clamp_private_key(b"\x21" * 32)
PROBE_PRIVATE = wg_crypto.clamp_private_key(b"\x31" * 32)


def _serve(ready, port_box):
    from noise_responder import Responder, UDPResponder  # pylint: disable=import-outside-toplevel
    responder = Responder(RESPONDER_PRIVATE, {wg_crypto.x25519_base(PROBE_PRIVATE): None})
    server = UDPResponder(responder)
    with server as port:
        port_box.value = port
        ready.set()
        time.sleep(3600)


def _median_ms(samples):
    return statistics.median(samples) * 1000


def bench_ok(count, host, port, static_private, responder_public, psk, gap):
    walls, rtts, outcomes = [], [], {}
    for _probe in range(count):
        initiator = wg_noise.Initiator(static_private, responder_public, psk)
        started = time.perf_counter()
        result = wg_probe.probe_wireguard(host, port, initiator, timeout=1.0, retries=0)
        walls.append(time.perf_counter() - started)
        outcomes[result["outcome"]] = outcomes.get(result["outcome"], 0) + 1
        if result["rtt_ms"] is not None:
            rtts.append(result["rtt_ms"] / 1000)
        time.sleep(gap)  # wireguard-go drops initiations from one key < 20 ms apart (flood guard)
    return walls, rtts, outcomes


def bench_timeout(timeout, retries):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        initiator = wg_noise.Initiator(PROBE_PRIVATE, wg_crypto.x25519_base(RESPONDER_PRIVATE))
        started = time.perf_counter()
        result = wg_probe.probe_wireguard("127.0.0.1", silent.getsockname()[1], initiator, timeout=timeout, retries=retries)
        return time.perf_counter() - started, result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--backend", choices=wg_crypto.BACKENDS)
    parser.add_argument("--timeout", type=float, default=0.2)
    parser.add_argument("--retries", type=int, default=1)
    parser.add_argument("--gap", type=float, default=0.025, help="seconds between ok probes")
    parser.add_argument("--target", help="host:port of a real WireGuard responder")
    parser.add_argument("--responder-key", help="its public key")
    parser.add_argument("--private-key-file", help="a probe key the responder knows as a peer")
    parser.add_argument("--psk-file")
    args = parser.parse_args()
    if args.backend:
        wg_crypto.force_backend(args.backend)

    server = None
    if args.target:
        host, _sep, port = args.target.rpartition(":")
        port = int(port)
        with open(args.private_key_file) as handle:
            static_private = wg_keys.decode_key(handle.read())
        psk = None
        if args.psk_file:
            with open(args.psk_file) as handle:
                psk = wg_keys.decode_key(handle.read())
        responder_public = wg_keys.decode_key(args.responder_key)
        where = "WireGuard responder at %s" % args.target
    else:
        ready, port_box = multiprocessing.Event(), multiprocessing.Value("i", 0)
        server = multiprocessing.Process(target=_serve, args=(ready, port_box), daemon=True)
        server.start()
        ready.wait(10)
        host, port = "127.0.0.1", port_box.value
        static_private, responder_public, psk = PROBE_PRIVATE, wg_crypto.x25519_base(RESPONDER_PRIVATE), None
        where = "local Python responder (separate process) on 127.0.0.1"
    try:
        walls, rtts, outcomes = bench_ok(args.count, host, port, static_private, responder_public, psk, args.gap)
    finally:
        if server is not None:
            server.terminate()
            server.join()
    print("backend: %s" % wg_crypto.backend_name())
    print("ok probe against %s: %d probes, outcomes %s" % (where, args.count, outcomes))
    print("  median whole probe %.3f ms (p90 %.3f ms), median rtt %.3f ms" % (
        _median_ms(walls), sorted(walls)[int(len(walls) * 0.9)] * 1000, _median_ms(rtts) if rtts else float("nan")))
    elapsed, result = bench_timeout(args.timeout, args.retries)
    expected = args.timeout * (1 + args.retries)
    print("timeout verdict: %.1f ms for timeout=%.3g s x %d attempts (expected %.1f ms, overhead %.1f ms), outcome %s" % (
        elapsed * 1000, args.timeout, result["attempts"], expected * 1000, (elapsed - expected) * 1000, result["outcome"]))


if __name__ == "__main__":
    main()
