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
