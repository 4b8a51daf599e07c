# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The largest don't-fragment ping that crosses a path, by bisection, bounded in time (issue #16).

A path MTU black hole lets small packets through and drops big ones without a word: the ICMP
"fragmentation needed" that should tell the sender is filtered or never sent. `ping -M do` sends
with DF set and never fragments locally, so the largest payload that gets an answer is what the
path really carries. The search runs on the sending end in one call (one Ansible round trip per
tunnel, not one per size); `run` is injected so the logic is tested without a network.
"""
from __future__ import annotations

import re
import time
import typing as t

# A ping's command line -> (exit status, stdout, stderr).
Run = t.Callable[[t.List[str]], t.Tuple[int, str, str]]
Clock = t.Callable[[], float]

HEADER = {4: 28, 6: 48}  # IP + ICMP echo headers around a ping payload
SMALLEST = 64  # a payload every IP path carries (IPv4's 576 minimum MTU leaves 548): below it, nothing crosses at all
# Each probe waits this long for its answer; a lost one is tried once more (ping loss is not always the MTU).
WAIT_SECONDS = 1
_LOCAL_MTU = re.compile(r"mtu\s*=\s*(\d+)", re.IGNORECASE)


def family_of(address: str) -> int:
    return 6 if ":" in address else 4


def ping_argv(size: int, address: str, interface: t.Optional[str]) -> list[str]:
    argv = ["ping", "-M", "do", "-s", str(size), "-c", "1", "-W", str(WAIT_SECONDS)]
    if interface:
        argv += ["-I", interface]
    return argv + [address]


class Search(t.TypedDict):
    largest: t.Optional[int]
    smallest_lost: t.Optional[int]
    probes: int
    seconds: float
    complete: bool
    local_mtu: t.Optional[int]  # the MTU ping's own "message too long" named (the kernel's cached path MTU)
    error: t.Optional[str]


def largest_payload(run: Run, address: str, interface: t.Optional[str], upper: int, budget: float,
                    clock: Clock = time.monotonic, lower: int = SMALLEST) -> Search:
    """Bisect for the largest DF ping payload in [lower, upper] that crosses to `address`.

    The full size is tried first (a healthy path answers in one probe), then the smallest (nothing
    crossing at all is no MTU question), then halves. Stops when `budget` seconds are spent: then
    `complete` is False and `largest` is the largest size known to cross so far.
    """
    started = clock()
    result: Search = {"largest": None, "smallest_lost": None, "probes": 0, "seconds": 0.0, "complete": False,
                      "local_mtu": None, "error": None}

    def crosses(size: int) -> bool:
        for _attempt in range(2):
            result["probes"] += 1
            rc, stdout, stderr = run(ping_argv(size, address, interface))
            if rc == 0:
                return True
            local = _LOCAL_MTU.search(stdout + " " + stderr)
            if local:
                # Refused before it left: the kernel already knows a smaller path MTU; no retry tells more.
                result["local_mtu"] = int(local.group(1))
                return False
            if rc not in (0, 1):
                # Not an unanswered ping (exit status 1) but one that could not be sent: no such device, no address.
                lines = (stderr or stdout).strip().splitlines()
                result["error"] = lines[-1] if lines else "ping exited with %d" % rc
                return False
        return False

    def out_of_time() -> bool:
        return clock() - started >= budget

    if upper < lower:
        lower = upper
    if crosses(upper):
        result["largest"], result["complete"] = upper, True
    elif result["error"] is None and not out_of_time() and crosses(lower):
        good, bad = lower, upper
        while bad - good > 1 and not out_of_time():
            middle = (good + bad) // 2
            if crosses(middle):
                good = middle
            else:
                bad = middle
        result["largest"], result["smallest_lost"], result["complete"] = good, bad, bad - good <= 1
    else:
        finished = result["error"] is None and not out_of_time()
        result["smallest_lost"], result["complete"] = (lower if finished else None), finished
    result["seconds"] = round(clock() - started, 3)
    return result


# ---------------------------------------------------------------- what the search needs to know

def parse_route_device(text: str) -> t.Optional[str]:
    """`ip route get ADDR`: the device the route leaves by ('... dev eth0 src ...')."""
    match = re.search(r"\bdev\s+(\S+)", text or "")
    return match.group(1) if match else None


def endpoint_for(address: str, endpoints_text: str, allowed_ips_text: str) -> t.Optional[str]:
    """The endpoint host of the peer whose AllowedIPs hold `address`, from `wg show IF endpoints` and
    `wg show IF allowed-ips` (public keys and addresses only: no secret is read)."""
    import ipaddress  # pylint: disable=import-outside-toplevel
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    endpoints: dict[str, t.Optional[str]] = {}
    for line in (endpoints_text or "").splitlines():
        fields = line.split()
        if len(fields) == 2:
            endpoints[fields[0]] = None if fields[1] == "(none)" else fields[1].rpartition(":")[0].strip("[]")
    # WireGuard sends to the peer with the longest matching prefix, with or without an endpoint.
    best: t.Optional[tuple[int, t.Optional[str]]] = None
    for line in (allowed_ips_text or "").splitlines():
        fields = line.split()
        if not fields or fields[0] not in endpoints:
            continue
        for prefix in fields[1:]:
            try:
                net = ipaddress.ip_network(prefix, strict=False)
            except ValueError:
                continue
            if net.version == ip.version and ip in net and (best is None or net.prefixlen > best[0]):
                best = (net.prefixlen, endpoints[fields[0]])
    return best[1] if best else None
