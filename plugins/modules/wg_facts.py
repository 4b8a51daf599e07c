#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: wg_facts
short_description: Gather everything a host knows about its WireGuard tunnels, without revealing a key
version_added: 0.1.0
description:
  - Reads the wg-quick configuration files and the running interfaces (C(wg show all dump)) of one host, and what
    decides whether a handshake can complete there, the UDP sockets, addresses, routes, forwarding sysctls, clock,
    systemd unit and firewall.
  - Returns them as C(ansible_facts.wireguard), the schema documented in C(docs/facts.md) of the collection.
  - Changes nothing on the host.
  - Private and preshared keys are never returned. A private key is reported as C(has_private_key) and the public key
    derived from it; a preshared key as C(has_preshared_key) and C(preshared_key_digest), which is equal on two ends
    exactly when their preshared keys are equal.
  - Every command or file that cannot be read becomes an entry in C(errors); the module fails only on bad options.
  - A host without WireGuard succeeds with C(implementation=none).
author:
  - wgdoctor contributors (@wgdoctor)
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed when in diff mode.
    support: none
  facts:
    description: Action returns an C(ansible_facts) dictionary that will update existing host facts.
    support: full
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
options:
  interfaces:
    description:
      - WireGuard interfaces to report on.
      - Default is every interface with a C(<name>.conf) in O(config_dir) and every running WireGuard interface.
    type: list
    elements: str
    version_added: 0.1.0
  config_dir:
    description:
      - Directory holding the wg-quick configuration files.
    type: path
    default: /etc/wireguard
    version_added: 0.1.0
  resolve_endpoints:
    description:
      - Resolve every hostname Endpoint now, from this host, and report the addresses in C(endpoint.resolved).
      - A name that does not resolve is reported in C(endpoint.resolve_error), it is not a failure.
    type: bool
    default: true
    version_added: 0.1.0
  resolve_timeout:
    description:
      - Seconds to wait for all endpoint names to resolve.
    type: float
    default: 3.0
    version_added: 0.1.0
notes:
  - Needs root to read private keys from the configuration files and C(wg show all dump).
  - Routes are looked up per routing table; policy rules other than wg-quick's own fwmark rule are not evaluated.
seealso:
  - name: Facts schema
    description: C(docs/facts.md) in the collection, the contract between this module and the diagnosis.
    link: https://www.wireguard.com/
'''

EXAMPLES = r'''
- name: Gather WireGuard facts
  wgdoctor.wireguard.wg_facts:

- name: Report on wg0 only, without DNS lookups
  wgdoctor.wireguard.wg_facts:
    interfaces: [wg0]
    resolve_endpoints: false

- name: Say when the last handshake with each peer of wg0 happened
  ansible.builtin.debug:
    msg: "{{ item.public_key }}: {{ item.latest_handshake_age | default('never', true) }}"
  loop: "{{ ansible_facts.wireguard.interfaces.wg0.runtime.peers | default([]) }}"
'''

RETURN = r'''
ansible_facts:
  description: Facts added to C(ansible_facts).
  returned: always
  type: dict
  contains:
    wireguard:
      description: The WireGuard facts of the host, schema 1 of C(docs/facts.md).
      returned: always
      type: dict
      contains:
        schema:
          description: Version of the facts schema.
          type: int
          returned: always
          sample: 1
        hostname:
          description: The host's name as it sees itself.
          type: str
          returned: always
        implementation:
          description: What runs WireGuard here.
          type: str
          returned: always
          sample: wireguard-go
        tools:
          description: Versions of C(wg) and C(wireguard-go), and whether C(wg-quick) is installed.
          type: dict
          returned: always
          sample: {"wg": "v1.0.20210914", "wg_quick": true, "wireguard_go": "0.0.20220316"}
        errors:
          description: What could not be read, one sentence each.
          type: list
          elements: str
          returned: always
        addresses:
          description: The host's own addresses.
          type: list
          elements: dict
          returned: always
          sample: [{"interface": "eth0", "address": "198.51.100.10", "prefixlen": 24, "family": 4}]
        forwarding:
          description: IPv4 and IPv6 forwarding sysctls, null when unknown.
          type: dict
          returned: always
          sample: {"ipv4": false, "ipv6": false}
        clock:
          description: The host's clock, C(epoch) in Unix seconds and whether NTP synchronised it.
          type: dict
          returned: always
        firewall:
          description: Active firewall backends, forward policy and masquerade rules; null when unreadable.
          type: dict
          returned: always
        interfaces:
          description:
            - Interface name to C(name), C(config) (the file as wg-quick reads it), C(runtime) (C(wg show) of the running
              interface or null), C(drift), C(unit), C(listening), C(routes) and C(firewall). See C(docs/facts.md).
          type: dict
          returned: always
'''

import os
import re
import socket
import time
import concurrent.futures

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.host import system as wg_system
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard.config import parse_config
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard.dump import DumpParseError, compute_drift, parse_dump

try:
    from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall import reach as fw_common
except ImportError:
    fw_common = None

INTERFACE_NAME = re.compile(r"^[a-zA-Z0-9_=+.-]{1,15}$")
RUN_DIR = "/var/run/wireguard"


class Host:
    """Runs the commands and reads the files; turns every failure into an entry of `errors`."""

    def __init__(self, module: AnsibleModule) -> None:
        self.module = module
        self.errors = []

    def binary(self, name: str):
        return self.module.get_bin_path(name)

    def run(self, label: str, argv: list, quiet_rc=()):
        """stdout, or None (the command is absent or failed: then `errors` says why)."""
        path = self.binary(argv[0])
        if path is None:
            return None
        rc, out, err = self.run_argv([path] + argv[1:])
        if rc != 0 and rc not in quiet_rc:
            first = (err or out or "").strip().splitlines()
            self.errors.append("%s: command failed (rc %d): %s" % (label, rc, first[0] if first else "no output"))
            return None
        return out

    def run_argv(self, argv: list):
        try:
            return self.module.run_command(argv, environ_update={"LC_ALL": "C"})
        except Exception as exc:  # pylint: disable=broad-except
            return 127, "", "%s: %s" % (type(exc).__name__, exc)

    def read(self, path: str):
        try:
            with open(path, "r", encoding="utf-8", errors="replace", newline="") as handle:
                return handle.read()
        except (IOError, OSError) as exc:
            self.errors.append("%s: cannot read: %s" % (path, exc.strerror or type(exc).__name__))
            return None

    def listdir(self, path: str) -> list:
        try:
            return sorted(os.listdir(path))
        except (IOError, OSError) as exc:
            if not isinstance(exc, FileNotFoundError):
                self.errors.append("%s: cannot list: %s" % (path, exc.strerror or type(exc).__name__))
            return []

    def parsed(self, label: str, parser, text, *args):
        """parser(text) or None with an `errors` entry; never a traceback."""
        if text is None:
            return None
        try:
            return parser(text, *args)
        except ValueError as exc:
            self.errors.append("%s: %s" % (label, exc))
        except Exception as exc:  # pylint: disable=broad-except
            # Only the type: the message of an unexpected error could quote the input.
            self.errors.append("%s: unexpected %s while parsing the output" % (label, type(exc).__name__))
        return None


# ---------------------------------------------------------------- host-wide facts

def gather_tools(host: Host) -> dict:
    wireguard_go = None
    if host.binary("wireguard-go"):
        wireguard_go = host.parsed("wireguard-go --version", wg_system.parse_wireguard_go_version,
                                   host.run("wireguard-go --version", ["wireguard-go", "--version"]))
    return {
        "wg": host.parsed("wg --version", wg_system.parse_wg_version, host.run("wg --version", ["wg", "--version"])),
        "wg_quick": host.binary("wg-quick") is not None,
        "wireguard_go": wireguard_go,
    }


def gather_runtime(host: Host) -> dict:
    if not host.binary("wg"):
        return {}
    text = host.run("wg show all dump", ["wg", "show", "all", "dump"])
    if text is None:
        return {}
    try:
        return parse_dump(text)
    except DumpParseError as exc:
        host.errors.append(str(exc))
    return {}


def userspace_processes() -> list:
    processes = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as handle:
                argv = handle.read().split(b"\0")
        except (IOError, OSError):
            continue
        processes.append([arg.decode("utf-8", "replace") for arg in argv if arg])
    return processes


def kernel_module_present() -> bool:
    if os.path.isdir("/sys/module/wireguard"):
        return True
    release = os.uname()[2]
    base = "/lib/modules/%s" % release
    if os.path.isdir(os.path.join(base, "kernel/drivers/net/wireguard")):
        return True
    try:
        with open(os.path.join(base, "modules.builtin")) as handle:
            return "wireguard.ko" in handle.read()
    except (IOError, OSError):
        return False


def gather_implementation(host: Host, runtime: dict) -> str:
    sockets = host.listdir(RUN_DIR)
    userspace = wg_system.userspace_interfaces(sockets, userspace_processes() if sockets else [])
    binaries = {"wireguard-go": bool(host.binary("wireguard-go")), "boringtun": bool(host.binary("boringtun-cli") or host.binary("boringtun"))}
    return wg_system.detect_implementation(sorted(runtime), userspace, kernel_module_present(), binaries)


def gather_routes(host: Host) -> wg_system.RouteTable:
    routes = []
    for family in (4, 6):
        label = "ip -j -%d route show table all" % family
        text = host.run(label, ["ip", "-j", "-%d" % family, "route", "show", "table", "all"])
        routes.extend(host.parsed(label, wg_system.parse_ip_routes, text, family) or [])
    return wg_system.RouteTable(routes)


def gather_forwarding(host: Host) -> dict:
    names = ("net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding")
    # rc 255 with the IPv4 value printed when IPv6 is disabled: keep what was printed.
    text = host.run("sysctl", ["sysctl"] + list(names), quiet_rc=(255,))
    values = host.parsed("sysctl", wg_system.parse_sysctl, text) or {}
    return {"ipv4": wg_system.sysctl_flag(values, names[0]), "ipv6": wg_system.sysctl_flag(values, names[1])}


def systemd_running() -> bool:
    return os.path.isdir("/run/systemd/system")


def gather_clock(host: Host) -> dict:
    synchronized = None
    if systemd_running() and host.binary("timedatectl"):
        synchronized = host.parsed("timedatectl show", wg_system.parse_timedatectl, host.run("timedatectl show", ["timedatectl", "show"]))
    return {"epoch": round(time.time(), 2), "ntp_synchronized": synchronized}


def gather_unit(host: Host, name: str):
    if not systemd_running() or not host.binary("systemctl"):
        return None
    unit = "wg-quick@%s" % name
    text = host.run("systemctl show %s" % unit, ["systemctl", "show", unit, "-p", "ActiveState", "-p", "UnitFileState"])
    return host.parsed("systemctl show %s" % unit, wg_system.parse_systemctl_show, text, unit)


# Jobs that re-resolve a hostname Endpoint: WireGuard itself resolves it only once.
RERESOLVE_TIMERS = ("wgdoctor-reresolve@%s.timer", "wireguard-reresolve-dns@%s.timer", "reresolve-dns@%s.timer",
                    "wg-reresolve-dns@%s.timer")
CRON_FILES_DIR = "/etc/cron.d"


def gather_reresolve(host: Host, name: str):
    """How the hostname Endpoints of interface `name` are re-resolved, or None when nothing does."""
    if systemd_running() and host.binary("systemctl"):
        for pattern in RERESOLVE_TIMERS:
            unit = pattern % name
            text = host.run("systemctl show %s" % unit, ["systemctl", "show", unit, "-p", "ActiveState", "-p", "UnitFileState"])
            state = host.parsed("systemctl show %s" % unit, wg_system.parse_systemctl_show, text, unit) or {}
            if state.get("active") == "active":
                return {"method": "systemd timer", "unit": unit, "active": True}
    for entry in host.listdir(CRON_FILES_DIR):
        text = host.read(os.path.join(CRON_FILES_DIR, entry)) or ""
        for line in text.splitlines():
            if not line.lstrip().startswith("#") and "reresolve" in line and name in line.split():
                return {"method": "cron", "unit": os.path.join(CRON_FILES_DIR, entry), "active": True}
    return None


def gather_firewall(host: Host, listen_ports: dict, uplinks: list):
    if fw_common is None or not hasattr(fw_common, "firewall_facts"):
        host.errors.append("firewall: the fw_common module_utils is not available, firewall not read")
        return None
    outputs = {}
    for name, argv in fw_common.FIREWALL_COMMANDS.items():
        path = host.binary(argv[0])
        outputs[name] = None if path is None else host.run_argv([path] + list(argv[1:]))
    try:
        facts = fw_common.firewall_facts(outputs, listen_ports, sorted(listen_ports), uplinks)
    except Exception as exc:  # pylint: disable=broad-except
        host.errors.append("firewall: unexpected %s while reading the rules" % type(exc).__name__)
        return None
    host.errors.extend("firewall: %s" % error for error in facts.get("errors") or [])
    return facts


# ---------------------------------------------------------------- endpoints

def _resolve(host: str, port: int) -> list:
    answers = socket.getaddrinfo(host, port, 0, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    resolved = []
    for answer in answers:
        address = answer[4][0]
        if address not in resolved:
            resolved.append(address)
    return resolved


def resolve_endpoints(configs: list, timeout: float) -> None:
    """Fill endpoint.resolved / resolve_error in place; all names in parallel, one overall deadline."""
    wanted = {}
    for config in configs:
        for peer in config["peers"]:
            endpoint = peer["endpoint"]
            if endpoint is None:
                continue
            if not endpoint["is_hostname"]:
                endpoint["resolved"] = [endpoint["host"]]
                continue
            wanted.setdefault((endpoint["host"], endpoint["port"]), []).append(endpoint)
    if not wanted:
        return
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=min(8, len(wanted)))
    futures = {pool.submit(_resolve, key[0], key[1]): key for key in wanted}
    done = concurrent.futures.wait(futures, timeout=timeout).done
    for future, key in futures.items():
        resolved, error = None, None
        if future not in done:
            error = "no answer within %g s" % timeout
        elif future.exception() is not None:
            exc = future.exception()
            error = exc.strerror if isinstance(exc, socket.gaierror) and exc.strerror else str(exc)
        else:
            resolved = future.result()
        for endpoint in wanted[key]:
            endpoint["resolved"], endpoint["resolve_error"] = resolved, error
    # Do not wait for a resolver stuck past the deadline.
    pool.shutdown(wait=False)


# ---------------------------------------------------------------- interfaces

def interface_names(host: Host, config_dir: str, runtime: dict, requested) -> list:
    if requested:
        return list(requested)
    names = set(runtime)
    for entry in host.listdir(config_dir):
        if entry.endswith(".conf") and INTERFACE_NAME.match(entry[:-5]):
            names.add(entry[:-5])
    return sorted(names)


def read_config(host: Host, config_dir: str, name: str) -> dict:
    path = os.path.join(config_dir, "%s.conf" % name)
    if not os.path.exists(path):
        config = parse_config("", path)
        config["exists"] = False
        return config
    text = host.read(path)
    if text is None:
        config = parse_config("", path)
        config["parse_errors"].append({"file": path, "line": 0, "reason": "cannot read the file"})
        return config
    return parse_config(text, path)


def routes_of(table: wg_system.RouteTable, name: str, config: dict, runtime) -> dict:
    prefixes = []
    for peer in config["peers"] + (runtime["peers"] if runtime else []):
        prefixes.extend(peer["allowed_ips"])
    routes = {}
    for prefix in prefixes:
        if prefix not in routes:
            routes[prefix] = table.route_for(prefix, name)
    return routes


def interface_facts(name, config, runtime, links, sockets, table, unit) -> dict:
    if runtime is not None and name in links:
        runtime["up"] = links[name]["up"]
    port = runtime["listen_port"] if runtime else config["listen_port"]
    bound = None if sockets is None or port is None else wg_system.udp_port_bound(sockets, port)
    return {
        "name": name,
        "config": config,
        "runtime": runtime,
        "drift": compute_drift(config, runtime),
        "unit": unit,
        "listening": {"port": port, "bound": bound},
        "routes": routes_of(table, name, config, runtime),
        "firewall": None,
    }


def uplinks_of(table: wg_system.RouteTable, wg_names: list) -> list:
    uplinks = []
    for default in ("0.0.0.0/0", "::/0"):
        route = table.route_for(default, "")
        if route and route["dev"] and route["dev"] not in wg_names and route["dev"] not in uplinks:
            uplinks.append(route["dev"])
    return uplinks


def gather(module: AnsibleModule) -> dict:
    host = Host(module)
    params = module.params
    tools = gather_tools(host)
    runtime = gather_runtime(host)
    implementation = gather_implementation(host, runtime)
    ip_addr = host.parsed("ip -j addr show", wg_system.parse_ip_addr, host.run("ip -j addr show", ["ip", "-j", "addr", "show"]))
    ip_addr = ip_addr or {"addresses": [], "links": {}}
    sockets = host.parsed("ss -H -uanp", wg_system.parse_ss_udp, host.run("ss -H -uanp", ["ss", "-H", "-uanp"]))
    table = gather_routes(host)

    names = interface_names(host, params["config_dir"], runtime, params["interfaces"])
    configs = {name: read_config(host, params["config_dir"], name) for name in names}
    if params["resolve_endpoints"]:
        resolve_endpoints(list(configs.values()), params["resolve_timeout"])
    interfaces = {}
    for name in names:
        interfaces[name] = interface_facts(name, configs[name], runtime.get(name), ip_addr["links"], sockets, table,
                                           gather_unit(host, name))
        interfaces[name]["reresolve"] = gather_reresolve(host, name)

    listen_ports = {name: facts["listening"]["port"] for name, facts in interfaces.items() if facts["listening"]["port"]}
    firewall = gather_firewall(host, listen_ports, uplinks_of(table, names))
    if firewall is not None:
        for name, verdicts in (firewall.get("interfaces") or {}).items():
            if name in interfaces:
                interfaces[name]["firewall"] = verdicts
        firewall = {key: value for key, value in firewall.items() if key not in ("interfaces", "errors")}

    return {
        "schema": 1,
        "hostname": socket.gethostname(),
        "implementation": implementation,
        "tools": tools,
        "errors": host.errors,
        "addresses": ip_addr["addresses"],
        "forwarding": gather_forwarding(host),
        "clock": gather_clock(host),
        "firewall": firewall,
        "interfaces": interfaces,
    }


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            interfaces=dict(type="list", elements="str"),
            config_dir=dict(type="path", default="/etc/wireguard"),
            resolve_endpoints=dict(type="bool", default=True),
            resolve_timeout=dict(type="float", default=3.0),
        ),
        supports_check_mode=True,
    )
    bad = [name for name in module.params["interfaces"] or [] if not INTERFACE_NAME.match(name)]
    if bad:
        module.fail_json(msg="not a WireGuard interface name (1-15 of a-z A-Z 0-9 _ = + . -): %s" % ", ".join(bad))
    module.exit_json(changed=False, ansible_facts={"wireguard": gather(module)})


if __name__ == "__main__":
    main()
