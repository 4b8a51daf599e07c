# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Gathering `ansible_facts.wireguard` (docs/facts.md) on a host: the I/O behind wg_facts.

Runs the commands and reads the files, hands their text to the pure readers (host/system.py,
wireguard/config.py and dump.py) and assembles the facts. Every command or file that cannot
be read becomes an entry of `errors`; nothing here raises on what a host prints.

The firewall is only read here: the rule dumps go back with the facts' inputs to the firewall
question (`firewall_input`), and the wg_facts action plugin answers it on the controller with
firewall/reach.py (plugin_utils/firewall_facts.py). The readers of five backends are the
largest code wg_facts would otherwise ship to every host.

Commands and files go through host/runner.py's Host (AnsibleModule's `get_bin_path` and
`run_command` behind it), so that this file holds no Ansible object and a test can answer
from recorded outputs.
"""
from __future__ import annotations

import os
import re
import socket
import time
import typing as t

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.host import monitor as wg_monitor
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.host import resolve
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.host.runner import CommandRunner, Host, firewall_outputs
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.host import stored_keys
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.host import system as wg_system
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard.config import parse_config
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard.dump import DumpParseError, compute_drift, parse_dump

INTERFACE_NAME = re.compile(r"^[a-zA-Z0-9_=+.-]{1,15}$")
RUN_DIR = "/var/run/wireguard"
# Jobs that re-resolve a hostname Endpoint: WireGuard itself resolves it only once.
RERESOLVE_TIMERS = ("wgdoctor-reresolve@%s.timer", "wireguard-reresolve-dns@%s.timer", "reresolve-dns@%s.timer",
                    "wg-reresolve-dns@%s.timer")
CRON_FILES_DIR = "/etc/cron.d"
# wireguard-go logs at debug level through the unit: read enough to reach wg-quick's own last lines.
JOURNAL_LINES = 200

Facts = t.Dict[str, t.Any]
# {"outputs": {FIREWALL_COMMANDS key: (rc, stdout, stderr) or None}, "listen_ports": {interface: port},
#  "uplinks": [device], "tunnel_sources": {interface: first IPv4 tunnel address}}
FirewallInput = t.Dict[str, t.Any]


# ---------------------------------------------------------------- host-wide facts

def gather_tools(host: Host) -> Facts:
    wireguard_go = None
    if host.binary("wireguard-go"):
        wireguard_go = host.parsed("wireguard-go --version", wg_system.parse_wireguard_go_version,
                                   host.run("wireguard-go --version", ["wireguard-go", "--version"]))
    return {
        "wg": host.parsed("wg --version", wg_system.parse_wg_version, host.run("wg --version", ["wg", "--version"])),
        "wg_quick": host.binary("wg-quick") is not None,
        "wireguard_go": wireguard_go,
    }


def gather_runtime(host: Host) -> Facts:
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


def userspace_processes() -> t.List[t.List[str]]:
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


def gather_implementation(host: Host, runtime: Facts) -> str:
    sockets = host.listdir(RUN_DIR)
    userspace = wg_system.userspace_interfaces(sockets, userspace_processes() if sockets else [])
    binaries = {"wireguard-go": bool(host.binary("wireguard-go")), "boringtun": bool(host.binary("boringtun-cli") or host.binary("boringtun"))}
    return wg_system.detect_implementation(sorted(runtime), userspace, kernel_module_present(), binaries)


def gather_routes(host: Host) -> wg_system.RouteTable:
    routes: t.List[Facts] = []
    for family in (4, 6):
        label = "ip -j -%d route show table all" % family
        text = host.run(label, ["ip", "-j", "-%d" % family, "route", "show", "table", "all"])
        routes.extend(host.parsed(label, wg_system.parse_ip_routes, text, family) or [])
    return wg_system.RouteTable(routes)


def gather_forwarding(host: Host) -> Facts:
    names = ("net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding")
    # rc 255 with the IPv4 value printed when IPv6 is disabled: keep what was printed.
    text = host.run("sysctl", ["sysctl"] + list(names), quiet_rc=(255,))
    values = host.parsed("sysctl", wg_system.parse_sysctl, text) or {}
    return {"ipv4": wg_system.sysctl_flag(values, names[0]), "ipv6": wg_system.sysctl_flag(values, names[1])}


def systemd_running() -> bool:
    return os.path.isdir("/run/systemd/system")


def gather_clock(host: Host) -> Facts:
    synchronized = None
    if systemd_running() and host.binary("timedatectl"):
        synchronized = host.parsed("timedatectl show", wg_system.parse_timedatectl, host.run("timedatectl show", ["timedatectl", "show"]))
    return {"epoch": round(time.time(), 2), "ntp_synchronized": synchronized}


def gather_unit(host: Host, name: str) -> t.Optional[Facts]:
    if not systemd_running() or not host.binary("systemctl"):
        return None
    unit = "wg-quick@%s" % name
    text = host.run("systemctl show %s" % unit, ["systemctl", "show", unit, "-p", "ActiveState", "-p", "UnitFileState"])
    return host.parsed("systemctl show %s" % unit, wg_system.parse_systemctl_show, text, unit)


def gather_reresolve(host: Host, name: str) -> t.Optional[Facts]:
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


def gather_monitor(host: Host) -> Facts:
    """wgdoctor.wireguard.monitor on this host: what runs it, and its state file (docs/facts.md `monitor`).
    A state file that cannot be read is the fact's `error`, not one of the host's: the tunnels are still checked."""
    scheduler, active = None, None
    if os.path.exists(wg_monitor.TIMER_FILE):
        scheduler = "systemd timer"
        if systemd_running() and host.binary("systemctl"):
            label = "systemctl show %s" % wg_monitor.TIMER
            unit = host.parsed(label, wg_system.parse_systemctl_show,
                               host.run(label, ["systemctl", "show", wg_monitor.TIMER, "-p", "ActiveState", "-p", "UnitFileState"]),
                               wg_monitor.TIMER)
            active = None if unit is None else unit.get("active") == "active"
    elif os.path.exists(wg_monitor.CRON_FILE):
        scheduler = "cron"
    state_text, state_error = None, None
    try:
        with open(wg_monitor.STATE_FILE, "r", encoding="utf-8", errors="replace") as handle:
            state_text = handle.read()
    except FileNotFoundError:
        pass  # no check has run yet
    except (IOError, OSError) as exc:
        state_error = exc.strerror or type(exc).__name__
    return wg_monitor.monitor_facts(os.path.exists(wg_monitor.SCRIPT), scheduler, active, state_text, state_error)


def tunnel_source(config: Facts) -> t.Optional[str]:
    """The interface's first IPv4 tunnel address: what traffic leaving the tunnel is judged as coming from."""
    for address in config.get("address") or []:
        ip = str(address).split("/", 1)[0]
        if ip.count(".") == 3:
            return ip
    return None


def firewall_input(host: Host, listen_ports: t.Dict[str, int], uplinks: t.List[str],
                   tunnel_sources: t.Dict[str, str]) -> FirewallInput:
    """The firewall commands' results and what the firewall question is asked about (answered on the controller)."""
    return {"outputs": firewall_outputs(host), "listen_ports": listen_ports, "uplinks": uplinks,
            "tunnel_sources": tunnel_sources}


def process_argv(pid: int) -> t.List[str]:
    """The command line of process `pid`, [] when it is gone or not ours to read."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            return [arg.decode("utf-8", "replace") for arg in handle.read().split(b"\0") if arg]
    except (IOError, OSError):
        return []


def quiet_read(path: str) -> t.Optional[str]:
    """A file read a second time: read_config already reported when it cannot be read."""
    try:
        with open(path, "r", encoding="utf-8", errors="replace", newline="") as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def gather_start_log(host: Host, name: str, config_path: str, unit: t.Optional[Facts]) -> t.Optional[Facts]:
    """The last start of wg-quick@NAME from the journal (systemd), else what `wg-quick strip` (a dry run that
    applies nothing) says about the file; None when neither can run."""
    if unit is not None:
        label = "journalctl -u wg-quick@%s -n %d --no-pager" % (name, JOURNAL_LINES)
        text = host.run(label, ["journalctl", "-u", "wg-quick@%s" % name, "-n", str(JOURNAL_LINES), "--no-pager"])
        if text is None:
            return None
        return {"source": label, "rc": 0, "outcome": wg_system.journal_outcome(text, name),
                "lines": wg_system.parse_journal(text, name)}
    wg_quick = host.binary("wg-quick")
    # wg-quick re-runs itself through sudo when not root: never prompt on a target.
    if wg_quick is None or os.geteuid() != 0:
        return None
    rc, _config_with_keys, err = host.run_argv([wg_quick, "strip", config_path])
    return {"source": "wg-quick strip %s" % config_path, "rc": rc, "outcome": None, "lines": wg_system.dry_run_lines(err or "")}


def gather_start(host: Host, name: str, interface: Facts, sockets: t.Optional[t.List[Facts]]) -> t.Optional[Facts]:
    """The `start` fact: what `wg-quick up` of an interface that is not running trips over; None while it runs."""
    config, runtime = interface["config"], interface["runtime"]
    if not config["exists"] or (runtime is not None and runtime.get("up") is not False):
        return None
    port = config["listen_port"]
    return {
        "dns_lines": wg_system.dns_lines(quiet_read(config["path"]) or ""),
        "resolvconf": host.binary("resolvconf"),
        "resolvectl": host.binary("resolvectl"),
        "port_holders": None if sockets is None else wg_system.port_holders(sockets, port, process_argv),
        "log": gather_start_log(host, name, config["path"], interface["unit"]),
    }


# ---------------------------------------------------------------- endpoints

def resolve_endpoints(configs: t.List[Facts], timeout: float) -> None:
    """Fill endpoint.resolved / resolve_error in place; all names in parallel, one overall deadline."""
    wanted: t.Dict[resolve.Key, t.List[Facts]] = {}
    for config in configs:
        for peer in config["peers"]:
            endpoint = peer["endpoint"]
            if endpoint is None:
                continue
            if not endpoint["is_hostname"]:
                endpoint["resolved"] = [endpoint["host"]]
                continue
            wanted.setdefault((endpoint["host"], endpoint["port"]), []).append(endpoint)
    for key, (resolved, error) in resolve.resolve_all(wanted, timeout).items():
        for endpoint in wanted[key]:
            endpoint["resolved"], endpoint["resolve_error"] = resolved, error


# ---------------------------------------------------------------- interfaces

def interface_names(host: Host, config_dir: str, runtime: Facts, requested: t.Optional[t.List[str]]) -> t.List[str]:
    if requested:
        return list(requested)
    names = set(runtime)
    for entry in host.listdir(config_dir):
        if entry.endswith(".conf") and INTERFACE_NAME.match(entry[:-5]):
            names.add(entry[:-5])
    return sorted(names)


def read_config(host: Host, config_dir: str, name: str) -> Facts:
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
    return parse_config(text, path, derive_public_key=host.wg_pubkey)


def routes_of(table: wg_system.RouteTable, name: str, config: Facts, runtime: t.Optional[Facts]) -> Facts:
    prefixes = []
    for peer in config["peers"] + (runtime["peers"] if runtime else []):
        prefixes.extend(peer["allowed_ips"])
    routes = {}
    for prefix in prefixes:
        if prefix not in routes:
            routes[prefix] = table.route_for(prefix, name)
    return routes


def interface_facts(name: str, config: Facts, runtime: t.Optional[Facts], links: Facts, sockets: t.Optional[t.List[Facts]],
                    table: wg_system.RouteTable, unit: t.Optional[Facts]) -> Facts:
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


def uplink_routes(table: wg_system.RouteTable, wg_names: t.List[str]) -> t.List[Facts]:
    """The `uplinks` fact: the main table's default route of each family, when it leaves by a
    device that is not one of the WireGuard interfaces (IPv4 first)."""
    uplinks = []
    for family, default in ((4, "0.0.0.0/0"), (6, "::/0")):
        route = table.route_for(default, "")
        if route and route["dev"] and route["dev"] not in wg_names:
            uplinks.append({"interface": route["dev"], "family": family, "via": route["via"]})
    return uplinks


def uplink_names(uplinks: t.List[Facts]) -> t.List[str]:
    """The devices of uplink_routes(), each once, in its order (what the firewall readers take)."""
    names: t.List[str] = []
    for route in uplinks:
        if route["interface"] not in names:
            names.append(route["interface"])
    return names


def gather(runner: CommandRunner, config_dir: str, interfaces: t.Optional[t.List[str]] = None,
           resolve_endpoints_now: bool = True, resolve_timeout: float = 3.0) -> t.Tuple[Facts, FirewallInput]:
    """`ansible_facts.wireguard` of this host (docs/facts.md) without its firewall verdicts, and the
    firewall input they are computed from (plugin_utils/firewall_facts.py attaches them)."""
    host = Host(runner)
    tools = gather_tools(host)
    runtime = gather_runtime(host)
    implementation = gather_implementation(host, runtime)
    ip_addr = host.parsed("ip -j addr show", wg_system.parse_ip_addr, host.run("ip -j addr show", ["ip", "-j", "addr", "show"]))
    ip_addr = ip_addr or {"addresses": [], "links": {}}
    sockets = host.parsed("ss -H -uanp", wg_system.parse_ss_udp, host.run("ss -H -uanp", ["ss", "-H", "-uanp"]))
    table = gather_routes(host)

    names = interface_names(host, config_dir, runtime, interfaces)
    configs = {name: read_config(host, config_dir, name) for name in names}
    if resolve_endpoints_now:
        resolve_endpoints(list(configs.values()), resolve_timeout)
    facts_of_interfaces = {}
    for name in names:
        facts_of_interfaces[name] = interface_facts(name, configs[name], runtime.get(name), ip_addr["links"], sockets, table,
                                                    gather_unit(host, name))
        facts_of_interfaces[name]["reresolve"] = gather_reresolve(host, name)
        facts_of_interfaces[name]["start"] = gather_start(host, name, facts_of_interfaces[name], sockets)

    listen_ports = {name: facts["listening"]["port"] for name, facts in facts_of_interfaces.items() if facts["listening"]["port"]}
    uplinks = uplink_routes(table, names)
    sources = dict((name, source) for name in listen_ports for source in [tunnel_source(configs[name])] if source)
    firewall = firewall_input(host, listen_ports, uplink_names(uplinks), sources)
    facts = {
        "schema": 1,
        "hostname": socket.gethostname(),
        "implementation": implementation,
        "tools": tools,
        "errors": host.errors,
        "addresses": ip_addr["addresses"],
        "uplinks": uplinks,
        "forwarding": gather_forwarding(host),
        "clock": gather_clock(host),
        "firewall": None,
        "monitor": gather_monitor(host),
        "interfaces": facts_of_interfaces,
        "keypair_checks": stored_keys.keypair_checks(config_dir, dict((name, (configs[name], runtime.get(name))) for name in names),
                                                     host.read, host.wg_pubkey),
    }
    return facts, firewall
