# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure readers of the host commands wg_facts runs: sockets, addresses, routes, sysctl,
clock, systemd unit, tool versions, and which WireGuard implementation is running.

Each takes the text a command printed and returns plain data; ValueError on output
that is not what the command prints. Nothing here runs a command or reads a file.
"""
from __future__ import annotations

import ipaddress
import json
import re
import typing as t

# `ip route` types that carry no traffic to a device of their own.
Network = t.Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
_LOCAL_ROUTE_TYPES = ("local", "broadcast", "multicast", "anycast", "nat")
_USERSPACE_IMPLEMENTATIONS = {"wireguard-go": "wireguard-go", "boringtun": "boringtun", "boringtun-cli": "boringtun"}


# ---------------------------------------------------------------- sockets

def parse_ss_udp(text: str) -> t.List[t.Dict[str, t.Any]]:
    """`ss -H -uanp`: one dict per UDP socket with its local address, port and owning process."""
    sockets = []
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        # With several socket types ss prepends a Netid column; -u alone does not.
        if fields[0] in ("udp", "udp6"):
            fields = fields[1:]
        if len(fields) < 5:
            raise ValueError("ss line %d: expected State Recv-Q Send-Q Local Peer" % number)
        address, _colon, port = fields[3].rpartition(":")
        if not port.isdigit():
            raise ValueError("ss line %d: local address has no port" % number)
        process = re.search(r'users:\(\("([^"]*)",pid=(\d+)', line)
        sockets.append({
            "local_address": address.strip("[]"),
            "port": int(port),
            "process": process.group(1) if process else None,
            "pid": int(process.group(2)) if process else None,
        })
    return sockets


def udp_port_bound(sockets: t.List[t.Dict[str, t.Any]], port: t.Optional[int]) -> bool:
    """Kernel WireGuard's sockets have no owning process, so any socket on the port counts."""
    return port is not None and any(sock["port"] == port for sock in sockets)


# ---------------------------------------------------------------- addresses and routes

def _json_list(text: str, what: str) -> t.List[t.Any]:
    try:
        data = json.loads(text or "[]")
    except ValueError:
        raise ValueError("%s: output is not JSON" % what) from None
    if not isinstance(data, list):
        raise ValueError("%s: expected a JSON list" % what)
    return data


def parse_ip_addr(text: str) -> t.Dict[str, t.Any]:
    """`ip -j addr show`: {"addresses": [...facts.md addresses...], "links": {ifname: {"up", "operstate", "mtu"}}}."""
    addresses: t.List[t.Dict[str, t.Any]] = []
    links: t.Dict[str, t.Dict[str, t.Any]] = {}
    for link in _json_list(text, "ip -j addr show"):
        name = link.get("ifname")
        if not name:
            continue
        flags = link.get("flags") or []
        links[name] = {"up": "UP" in flags, "operstate": link.get("operstate"), "mtu": link.get("mtu")}
        for info in link.get("addr_info") or []:
            family = {"inet": 4, "inet6": 6}.get(info.get("family"))
            if family is None or "local" not in info:
                continue
            # "dynamic" marks a DHCP/SLAAC lease: an address that may change under a peer's bare-IP Endpoint.
            addresses.append({"interface": name, "address": info["local"], "prefixlen": info.get("prefixlen"), "family": family,
                              "dynamic": bool(info.get("dynamic"))})
    return {"addresses": addresses, "links": links}


def parse_ip_routes(text: str, family: int = 4) -> t.List[t.Dict[str, t.Any]]:
    """`ip -j -4|-6 route show table all`: routes that can carry traffic, dst as a network."""
    routes = []
    for route in _json_list(text, "ip -j route show"):
        route_type = route.get("type", "unicast")
        if route_type in _LOCAL_ROUTE_TYPES:
            continue
        dst = route.get("dst", "default")
        if dst == "default":
            dst = "0.0.0.0/0" if family == 4 else "::/0"
        try:
            network = ipaddress.ip_network(dst, strict=False)
        except ValueError:
            continue
        routes.append({
            "dst": str(network),
            "dev": route.get("dev"),
            "via": route.get("gateway"),
            "table": str(route.get("table", "main")),
            "type": route_type,
        })
    return routes


class RouteTable:
    """Longest-prefix match over every routing table, linear in the number of lookups."""

    def __init__(self, routes: t.List[t.Dict[str, t.Any]]) -> None:
        self._tables: t.Dict[str, t.Dict[t.Tuple[int, int, int], t.Dict[str, t.Any]]] = {}
        for route in routes:
            network = ipaddress.ip_network(route["dst"])
            table = self._tables.setdefault(route["table"], {})
            # The first route printed for a prefix is the one the kernel uses (lowest metric).
            table.setdefault((network.version, network.prefixlen, int(network.network_address)), route)

    def lookup(self, table: str, network: Network) -> t.Optional[t.Dict[str, t.Any]]:
        entries = self._tables.get(table)
        if not entries:
            return None
        base = int(network.network_address)
        width = network.max_prefixlen
        for prefixlen in range(network.prefixlen, -1, -1):
            shift = width - prefixlen
            route = entries.get((network.version, prefixlen, (base >> shift) << shift))
            if route is not None:
                return route
        return None

    def route_for(self, allowed_ip: str, interface: str) -> t.Optional[t.Dict[str, t.Any]]:
        """The route that carries a peer's AllowedIP: main's answer when it is the WireGuard interface,
        else another table's route into the interface (wg-quick's table 51820 behind its fwmark rule),
        else main's answer (traffic leaves elsewhere), or None."""
        network = ipaddress.ip_network(allowed_ip, strict=False)
        main = self.lookup("main", network)
        if main is not None and main["dev"] == interface:
            return _route_fact(main)
        for table in sorted(self._tables):
            if table in ("main", "local"):
                continue
            other = self.lookup(table, network)
            if other is not None and other["dev"] == interface:
                return _route_fact(other)
        return _route_fact(main) if main is not None else None


def _route_fact(route: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
    return {"dev": route["dev"], "via": route["via"], "table": route["table"]}


# ---------------------------------------------------------------- sysctl, clock, systemd

def parse_sysctl(text: str) -> t.Dict[str, str]:
    """`sysctl NAME...` lines "name = value"; names that do not exist are simply absent."""
    return _key_values(text)


def sysctl_flag(values: t.Dict[str, str], name: str) -> t.Optional[bool]:
    value = values.get(name)
    if value is None or not value.isdigit():
        return None
    return value != "0"


def _key_values(text: str) -> t.Dict[str, str]:
    """Lines "name=value" (sysctl, timedatectl show, systemctl show), spaces around "=" ignored."""
    values: t.Dict[str, str] = {}
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep:
            values[name.strip()] = value.strip()
    return values


def parse_timedatectl(text: str) -> t.Optional[bool]:
    """`timedatectl show`: NTPSynchronized as a bool, None when it is not printed."""
    value = _key_values(text).get("NTPSynchronized")
    if value is None:
        return None
    return value == "yes"


def parse_systemctl_show(text: str, name: str) -> t.Optional[t.Dict[str, t.Any]]:
    """`systemctl show UNIT -p ActiveState -p UnitFileState`: the unit object of facts.md."""
    values = _key_values(text)
    if "ActiveState" not in values:
        return None
    state = values.get("UnitFileState", "")
    return {
        "name": name,
        "enabled": state in ("enabled", "enabled-runtime", "linked", "linked-runtime", "alias"),
        "active": values["ActiveState"] or None,
    }


# ---------------------------------------------------------------- tools and implementation

def parse_wg_version(text: str) -> t.Optional[str]:
    """`wg --version`: "wireguard-tools v1.0.20210914 - https://..." -> "v1.0.20210914"."""
    match = re.search(r"wireguard-tools (v\S+)", text)
    return match.group(1) if match else None


def parse_wireguard_go_version(text: str) -> t.Optional[str]:
    """`wireguard-go --version`: "wireguard-go v0.0.20220316" -> "0.0.20220316"."""
    match = re.search(r"wireguard-go v?(\S+)", text)
    return match.group(1) if match else None


def userspace_interfaces(sockets: t.List[str], processes: t.List[t.List[str]]) -> t.Dict[str, str]:
    """ifname -> wireguard-go | boringtun, for every control socket in /run/wireguard.

    sockets: socket file names ("wg0.sock"); processes: argv lists of running processes.
    A socket whose process is gone still says userspace ("unknown" implementation).
    """
    owners: t.Dict[str, str] = {}
    for argv in processes:
        if not argv:
            continue
        program = argv[0].rsplit("/", 1)[-1]
        implementation = _USERSPACE_IMPLEMENTATIONS.get(program)
        if implementation is None:
            continue
        for arg in argv[1:]:
            if not arg.startswith("-"):
                owners[arg] = implementation
    found: t.Dict[str, str] = {}
    for sock in sockets:
        if sock.endswith(".sock"):
            name = sock[:-len(".sock")]
            found[name] = owners.get(name, "unknown")
    return found


def detect_implementation(running: t.List[str], userspace: t.Dict[str, str], kernel_module: bool, binaries: t.Dict[str, bool]) -> str:
    """kernel | wireguard-go | boringtun | none.

    running: names of running WireGuard interfaces; userspace: userspace_interfaces();
    kernel_module: the module is loaded or installed; binaries: {"wireguard-go": bool, "boringtun": bool}.
    What runs wins over what is installed.
    """
    for name in running:
        if userspace.get(name) in ("wireguard-go", "boringtun"):
            return userspace[name]
    if any(name not in userspace for name in running):
        return "kernel"
    if running and not binaries.get("wireguard-go") and binaries.get("boringtun"):
        return "boringtun"
    if running:
        # A control socket whose daemon we could not name: wireguard-go is what wg-quick starts by default.
        return "wireguard-go"
    if kernel_module:
        return "kernel"
    if binaries.get("wireguard-go"):
        return "wireguard-go"
    if binaries.get("boringtun"):
        return "boringtun"
    return "none"


# ---------------------------------------------------------------- what `wg-quick up` trips over

# Base64 of 32 bytes, and anything as long: a journal or a hook's output may quote a key.
_KEY_SHAPED = re.compile(r"[A-Za-z0-9+/]{42,}={0,2}")
# wg-quick's own test for a DNS entry that is a nameserver (the others are search domains).
_NAMESERVER = re.compile(r"(^[0-9.]+$)|(^.*:.*$)")
# wireguard-go logs through wg-quick's unit at LOG_LEVEL=debug: hundreds of lines that would bury why up failed.
_DAEMON_LOG = re.compile(r"\b(DEBUG|INFO): \(")
_BANNER = re.compile(u"[\u2500-\u257f]")
MAX_LOG_LINE = 300


def redact_keys(text: str) -> str:
    """`text` with everything key-shaped replaced: evidence may quote a log, never a key."""
    return _KEY_SHAPED.sub("(key redacted)", text)


def dns_lines(text: str) -> t.List[t.Dict[str, t.Any]]:
    """The [Interface] `DNS =` lines that make `wg-quick up` run `resolvconf`, read the way wg-quick reads them
    (case-insensitive keys, `#` comments, only entries that are nameservers: search domains alone run nothing)."""
    found = []
    in_interface = False
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.split("#", 1)[0]
        key, _sep, value = stripped.partition("=")
        key = key.strip()
        if key.startswith("["):
            in_interface = key.lower() == "[interface]"
            continue
        if not in_interface or key.lower() != "dns":
            continue
        if any(_NAMESERVER.search(entry) for entry in value.replace(",", " ").split()):
            found.append({"line": number, "text": redact_keys(stripped.strip())[:MAX_LOG_LINE]})
    return found


def daemon_interface(argv: t.List[str]) -> t.Optional[str]:
    """The interface a userspace WireGuard daemon serves ("wireguard-go wg0" -> "wg0"), None for any other process."""
    if not argv or argv[0].rsplit("/", 1)[-1] not in _USERSPACE_IMPLEMENTATIONS:
        return None
    return next((arg for arg in argv[1:] if not arg.startswith("-")), None)


def port_holders(sockets: t.List[t.Dict[str, t.Any]], port: t.Optional[int],
                 argv_of: t.Callable[[int], t.List[str]]) -> t.List[t.Dict[str, t.Any]]:
    """The UDP sockets on `port` (parse_ss_udp): who would make WireGuard's bind fail with "Address already in use".
    argv_of(pid) is the process's command line; `wireguard_interface` names the interface a WireGuard daemon serves."""
    holders = []
    for sock in sockets:
        if port is None or sock["port"] != port:
            continue
        pid = sock.get("pid")
        holders.append({"address": sock["local_address"], "process": sock.get("process"), "pid": pid,
                        "wireguard_interface": daemon_interface(argv_of(pid)) if pid is not None else None})
    return holders


def _unit_event(event: str, interface: str) -> t.Pattern[str]:
    """systemd's "EVENT wg-quick@IF.service ..." line; systemd before 250 names only the description."""
    name = re.escape(interface)
    return re.compile(r"\b%s (?:wg-quick@%s\.service|WireGuard via wg-quick\(8\) for %s(?=\.*\s*$))" % (event, name, name))


def _last_start(lines: t.List[str], interface: str) -> int:
    """Index of the line where systemd last started wg-quick@IF, or -1."""
    start = _unit_event("Starting", interface)
    for index in range(len(lines) - 1, -1, -1):
        if start.search(lines[index]):
            return index
    return -1


def _journal_lines(text: str) -> t.List[str]:
    return [line for line in text.splitlines() if line.strip() and not line.startswith("-- ")]


def parse_journal(text: str, interface: str, limit: int = 20) -> t.List[str]:
    """The last `limit` lines of wg-quick@IF's last start in `journalctl -u wg-quick@IF` output, without
    wireguard-go's debug log and banner, keys redacted. Empty when the journal has nothing ("-- No entries --")."""
    lines = _journal_lines(text)
    lines = lines[max(_last_start(lines, interface), 0):]
    kept = [line for line in lines if not _DAEMON_LOG.search(line) and not _BANNER.search(line)]
    return [redact_keys(line)[:MAX_LOG_LINE] for line in kept[-limit:]]


def journal_outcome(text: str, interface: str) -> t.Optional[str]:
    """How wg-quick@IF's last start ended: "failed", "started" (even when a stop followed: a unit stopped
    by hand can end up `failed` too, when wireguard-go outlives the stop timeout), "starting" (no end yet),
    None when the journal shows no start."""
    lines = _journal_lines(text)
    index = _last_start(lines, interface)
    if index < 0:
        return None
    after = lines[index + 1:]
    if any(_unit_event("Failed to start", interface).search(line) for line in after):
        return "failed"
    if any(_unit_event("(?:Finished|Started)", interface).search(line) for line in after):
        return "started"
    return "starting"


def dry_run_lines(text: str, limit: int = 20) -> t.List[str]:
    """What `wg-quick strip` printed on stderr (its stdout is the config itself, keys and all: never kept)."""
    lines = [line for line in text.splitlines() if line.strip()]
    return [redact_keys(line)[:MAX_LOG_LINE] for line in lines[-limit:]]
