# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What ping's statistics lines say (iputils and busybox), read once for everyone.

The diagnosis reads the pings it ran through the tunnels (plugin_utils/records.py) and the
monitor role's check reads the pings it runs on the host. Standard library only, and nothing
from ansible_collections: the monitor role installs this file as ``wgdoctor_ping.py`` beside
``/usr/local/sbin/wgdoctor-monitor``, which runs on the host from a timer, outside Ansible.
"""
from __future__ import annotations

import re
import typing as t

# iputils: "3 packets transmitted, 1 received, +2 errors, 66.6667% packet loss, time 620ms";
# busybox: "3 packets transmitted, 3 packets received, 0% packet loss".
_SUMMARY = re.compile(r"(?P<transmitted>\d+) packets transmitted, (?P<received>\d+) (?:packets )?received"
                      r"(?P<extra>(?:, \+\d+ [a-z]+)*)(?:, (?P<loss>[0-9.]+)% packet loss)?")
_EXTRA = re.compile(r"\+(\d+) ([a-z]+)")
# iputils "rtt min/avg/max/mdev = 0.042/0.205/0.530/0.229 ms", busybox "round-trip min/avg/max = ...".
_RTT = re.compile(r"(?:rtt|round-trip) min/avg/max(?:/mdev)? = ([0-9.]+)/([0-9.]+)/([0-9.]+)")


class PingSummary(t.TypedDict):
    transmitted: int
    received: int
    errors: int
    loss: float
    rtt_ms: t.Optional[t.Dict[str, float]]


def parse_ping(stdout: str) -> t.Optional[PingSummary]:
    """ping's statistics lines, or None when it printed none (it did not run, or not to the end)."""
    summary = _SUMMARY.search(stdout or "")
    if summary is None:
        return None
    transmitted, received = int(summary.group("transmitted")), int(summary.group("received"))
    extra = dict((word, int(count)) for count, word in _EXTRA.findall(summary.group("extra") or ""))
    if summary.group("loss") is not None:
        loss = float(summary.group("loss")) / 100
    else:
        loss = 1.0 if not transmitted else (transmitted - min(received, transmitted)) / transmitted
    rtt = _RTT.search(stdout)
    return {
        "transmitted": transmitted, "received": received, "errors": extra.get("errors", 0), "loss": round(loss, 6),
        "rtt_ms": None if rtt is None else dict(zip(("min", "avg", "max"), (float(v) for v in rtt.groups()))),
    }
