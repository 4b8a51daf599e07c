# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixture access shared by the firewall tests."""
from __future__ import annotations

import json
import os

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
PORT = 51820
UPLINK = "fwv1"  # the interface the probe packets really arrived on when the fixtures were recorded
WG = "wgF0"


def fixture(*parts):
    with open(os.path.join(FIXTURES, *parts)) as handle:
        return handle.read()


def ran(*parts):
    """A command result as the facts module hands it over: (rc, stdout, stderr)."""
    return (0, fixture(*parts), "")


def probes():
    """What really happened to the probe of each recorded scenario."""
    return json.loads(fixture("probes.json"))


def expected_verdict(probe):
    """A probe that arrived was accepted; ICMP errors tell reject from silent drop."""
    if probe["arrived"] == probe["sent"]:
        return "accept"
    if probe["arrived"] == 0 and probe["sender_errors"]:
        return "reject"
    if probe["arrived"] == 0:
        return "drop"
    return None
