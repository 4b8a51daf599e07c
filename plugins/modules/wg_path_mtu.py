#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: wg_path_mtu
short_description: Find the largest don't-fragment ping that crosses a WireGuard tunnel, and its underlay
version_added: 0.1.0
description:
  - Bisects with C(ping -M do -s SIZE -c 1 -W 1 -I INTERFACE ADDRESS) for the largest ICMP payload that crosses the tunnel
    to O(address) with the don't-fragment bit set, between 64 bytes and what the interface MTU promises (MTU minus 28 for
    IPv4, 48 for IPv6). A healthy tunnel answers the first, full-size probe.
  - A path MTU black hole (a link on the path that carries less, and no ICMP "fragmentation needed" coming back) shows as a
    largest size below the promise; the diagnosis names it C(tunnel_mtu_blackhole).
  - With O(underlay=true), the same search runs outside the tunnel to the endpoint of the peer whose AllowedIPs hold
    O(address) (from C(wg show INTERFACE endpoints) and C(allowed-ips); no key is read), for the underlay path MTU when the
    path answers pings.
  - The whole search is bounded by O(timeout) seconds; a lost probe is tried once more before it counts as lost.
  - The module only sends pings; it changes nothing.
author:
  - wgdoctor maintainers (@wgdoctor)
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: The module only measures; it runs the same in check mode.
  diff_mode:
    description: Will return details on what has changed when in diff mode.
    support: none
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
requirements:
  - ping from iputils (C(-M do)), ip from iproute2, wg from wireguard-tools for O(underlay)
options:
  interface:
    description: The WireGuard interface the pings leave by (C(ping -I)).
    type: str
    required: true
    version_added: 0.1.0
  address:
    description: The far end's tunnel address.
    type: str
    required: true
    version_added: 0.1.0
  timeout:
    description: Seconds the whole search (tunnel and underlay) may take; past it the search stops with RV(complete=false).
    type: float
    default: 30
    version_added: 0.1.0
  underlay:
    description: Also search outside the tunnel, to the peer's endpoint.
    type: bool
    default: true
    version_added: 0.1.0
'''

EXAMPLES = r'''
- name: Find the largest don't-fragment ping through wg5
  wgdoctor.wireguard.wg_path_mtu:
    interface: wg5
    address: 10.55.0.1
    timeout: 20
  register: wg_path_mtu_result
'''

RETURN = r'''
mtu:
  description: The interface MTU (C(/sys/class/net/INTERFACE/mtu)); null when it could not be read.
  returned: always
  type: int
  sample: 1420
header:
  description: IP and ICMP header bytes around a ping payload, 28 (IPv4) or 48 (IPv6).
  returned: always
  type: int
  sample: 28
largest:
  description: The largest payload that crossed; null when not even 64 bytes did.
  returned: always
  type: int
  sample: 1212
smallest_lost:
  description: The smallest payload known lost; null when every size tried crossed.
  returned: always
  type: int
  sample: 1213
probes:
  description: Pings sent through the tunnel.
  returned: always
  type: int
seconds:
  description: Time the tunnel search took.
  returned: always
  type: float
complete:
  description: False when the time bound stopped the search; RV(largest) is then a lower bound.
  returned: always
  type: bool
underlay:
  description:
    - The search outside the tunnel (address, interface, mtu, largest, error); null when O(underlay=false).
  returned: always
  type: dict
error:
  description: Why the search could not run (no such interface, ping missing), or null.
  returned: always
  type: str
'''

import os  # noqa: E402
import time  # noqa: E402
import typing as t  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.host.path_mtu import (  # noqa: E402
    HEADER, endpoint_for, family_of, largest_payload, parse_route_device,
)


def _read_mtu(interface: str) -> t.Optional[int]:
    try:
        with open(os.path.join("/sys/class/net", interface, "mtu")) as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return None


def _underlay(module: AnsibleModule, run, interface: str, address: str, budget: float) -> dict[str, t.Any]:
    result: dict[str, t.Any] = {"address": None, "interface": None, "mtu": None, "largest": None, "error": None}
    wg = module.get_bin_path("wg")
    if wg is None:
        result["error"] = "wg is not installed"
        return result
    _rc, endpoints, _err = module.run_command([wg, "show", interface, "endpoints"])
    _rc, allowed, _err = module.run_command([wg, "show", interface, "allowed-ips"])
    endpoint = endpoint_for(address, endpoints, allowed)
    if endpoint is None:
        result["error"] = "no peer of %s with an endpoint routes %s" % (interface, address)
        return result
    result["address"] = endpoint
    _rc, route, _err = module.run_command(["ip", "route", "get", endpoint])
    device = parse_route_device(route)
    result["interface"] = device
    result["mtu"] = _read_mtu(device) if device else None
    if result["mtu"] is None:
        result["error"] = "the MTU of the route to %s is unknown" % endpoint
        return result
    search = largest_payload(run, endpoint, None, result["mtu"] - HEADER[family_of(endpoint)], budget)
    result["largest"] = search["largest"]
    if search["largest"] is None:
        result["error"] = search["error"] or "no don't-fragment ping to %s was answered (ICMP filtered?)" % endpoint
    elif not search["complete"]:
        result["error"] = "stopped at the time bound: a lower bound"
    return result


def main() -> t.NoReturn:
    module = AnsibleModule(
        argument_spec=dict(
            interface=dict(type="str", required=True),
            address=dict(type="str", required=True),
            timeout=dict(type="float", default=30.0),
            underlay=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    interface, address = module.params["interface"], module.params["address"]
    started = time.monotonic()
    header = HEADER[family_of(address)]
    result: dict[str, t.Any] = {"changed": False, "mtu": _read_mtu(interface), "header": header, "largest": None,
                                "smallest_lost": None, "probes": 0, "seconds": 0.0, "complete": False, "underlay": None,
                                "error": None}
    ping = module.get_bin_path("ping")
    if ping is None:
        result["error"] = "ping is not installed"
        module.exit_json(**result)
    if result["mtu"] is None:
        result["error"] = "no interface %s (or its MTU cannot be read)" % interface
        module.exit_json(**result)

    def run(argv: list[str]) -> tuple[int, str, str]:
        rc, out, err = module.run_command([ping] + argv[1:], environ_update={"LC_ALL": "C"})
        return rc, out, err

    search = largest_payload(run, address, interface, result["mtu"] - header, module.params["timeout"])
    result.update((key, search[key]) for key in ("largest", "smallest_lost", "probes", "seconds", "complete", "error"))
    if module.params["underlay"]:
        left = module.params["timeout"] - (time.monotonic() - started)
        if left > 0:
            result["underlay"] = _underlay(module, run, interface, address, left)
        else:
            result["underlay"] = {"address": None, "interface": None, "mtu": None, "largest": None,
                                  "error": "no time left within the bound"}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
