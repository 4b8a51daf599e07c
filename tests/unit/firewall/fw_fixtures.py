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


# firewalld was recorded on a lab server (record_firewalld.py): the probes arrived on eth0, wg0 is the tunnel.
LAB_UPLINK = "eth0"
LAB_WG = "wg0"
FIREWALLD_COMMANDS = ("state", "default_zone", "active_zones", "zones")


def firewalld_probes():
    """{scenario: probe record} of fixtures/firewalld/probes.json, without the "_recorded" header."""
    return {name: probe for name, probe in json.loads(fixture("firewalld", "probes.json")).items() if not name.startswith("_")}


def firewalld_outputs(name):
    """The four firewall-cmd results of a scenario, keyed as fw_common.FIREWALL_COMMANDS does."""
    probe = json.loads(fixture("firewalld", "probes.json"))[name]
    return {"firewalld_" + key: (probe["rc"][key], fixture("firewalld", "%s.%s" % (name, key)), probe["stderr"][key])
            for key in FIREWALLD_COMMANDS}
