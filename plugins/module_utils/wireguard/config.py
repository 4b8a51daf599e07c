# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""wg-quick configuration files, read the way `wg-quick up` reads them (config_edit.py edits them in place).

wg-quick takes Address, DNS, MTU, Table, Pre/PostUp/Down and SaveConfig out of
[Interface] (case-insensitively, text after '#' ignored, value trimmed) and hands every
other line to `wg setconf`, whose config.c deletes ALL whitespace from the line and
matches "Key=" prefixes case-insensitively. Both readings are reproduced here, so a
line is an error here exactly when one of them would refuse it (plus the few things
wg accepts silently but that never work: a port above 65535, a duplicate peer).

No private or preshared key is kept: PrivateKey becomes has_private_key and the derived
public_key, PresharedKey becomes has_preshared_key and preshared_key_digest. Error
reasons never quote a value that could be a key.

The lexer (split_lines, lex, Line, Section) is shared with the editor, which imports
this module; this module never imports the editor.
"""
from __future__ import annotations

import ipaddress
import re
import socket
import typing as t

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard import keys as wg_keys

# A private key in, its public key out (derive.public_key_from_private); None: do not derive.
DerivePublicKey = t.Callable[[str], t.Optional[str]]

WG_QUICK_KEYS = {
    "address": "Address", "dns": "DNS", "mtu": "MTU", "table": "Table",
    "preup": "PreUp", "postup": "PostUp", "predown": "PreDown", "postdown": "PostDown",
    "saveconfig": "SaveConfig",
}
INTERFACE_KEYS = {"listenport": "ListenPort", "fwmark": "FwMark", "privatekey": "PrivateKey"}
PEER_KEYS = {
    "publickey": "PublicKey", "presharedkey": "PresharedKey", "allowedips": "AllowedIPs",
    "endpoint": "Endpoint", "persistentkeepalive": "PersistentKeepalive",
}
_SECTION_KEYS = frozenset([("interface", key) for key in INTERFACE_KEYS] + [("peer", key) for key in PEER_KEYS])

_WG_SPACE = " \t\n\r\v\f"
WG_SPACE_RE = re.compile("[ \t\n\r\v\f]")
KEY_NAME_RE = re.compile(r"^[A-Za-z]{1,32}$")
_HOSTNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,253}$")
_KEYLIKE_RE = re.compile(r"[A-Za-z0-9+/]{40,}")


class ConfigParseError(ValueError):
    """A config problem: str() is "FILE:LINE: REASON". The reason never holds a key."""

    def __init__(self, file: str, line: int, reason: str) -> None:
        super().__init__("%s:%s: %s" % (file, line, reason))
        self.file = file
        self.line = line
        self.reason = reason


# ---------------------------------------------------------------- lexing

class Line:
    """One physical line: its text, its line ending, and what wg-quick/wg make of it."""

    __slots__ = ("number", "text", "eol", "kind", "key", "name", "value", "section")

    def __init__(self, number: int, text: str, eol: str) -> None:
        self.number = number
        self.text = text
        self.eol = eol
        self.kind = "blank"         # blank | header | pair | bad
        # key and value of a pair, name of a header: "" on the other kinds of line.
        self.key = ""               # lower-case canonical key, e.g. "allowedips"
        self.name = ""              # the header word, e.g. "peer"
        self.value = ""
        self.section = -1           # index into the section list


class Section:
    __slots__ = ("kind", "header", "lines")

    def __init__(self, kind: str, header: int) -> None:
        self.kind = kind          # interface | peer | other | preamble
        self.header = header      # index of the header line, -1 for the preamble
        self.lines: list[int] = []      # indexes into the line list


def split_lines(text: str) -> list[Line]:
    """Lines as wg's fgets and bash's read see them: split at \\n only, a \\r before it kept as the ending."""
    lines: list[Line] = []
    pieces = text.split("\n")
    if pieces[-1] == "":
        pieces.pop()
    for number, piece in enumerate(pieces, start=1):
        eol = "\n" if number < len(pieces) or text.endswith("\n") else ""
        if eol and piece.endswith("\r"):
            piece, eol = piece[:-1], "\r\n"
        lines.append(Line(number, piece, eol))
    return lines


def lex(lines: list[Line]) -> list[Section]:
    """Classify every line and group them into sections; returns the sections."""
    sections = [Section("preamble", -1)]
    for index, line in enumerate(lines):
        _classify(line, sections[-1].kind)
        if line.kind == "header":
            kind = line.name if line.name in ("interface", "peer") else "other"
            sections.append(Section(kind, index))
        line.section = len(sections) - 1
        sections[-1].lines.append(index)
    return sections


def _classify(line: Line, section_kind: str) -> None:
    stripped = line.text.split("#", 1)[0]
    compact = WG_SPACE_RE.sub("", stripped)
    if not compact:
        return
    quick_key = stripped.split("=", 1)[0].strip(_WG_SPACE).lower()
    if compact.startswith("["):
        line.kind = "header"
        line.name = compact[1:-1].lower() if compact.endswith("]") else compact.lower()
        return
    if section_kind == "interface" and quick_key in WG_QUICK_KEYS and "=" in stripped:
        line.kind = "pair"
        line.key = quick_key
        line.value = stripped.split("=", 1)[1].strip(_WG_SPACE)
        return
    if "=" not in compact:
        line.kind = "bad"
        return
    name, value = compact.split("=", 1)
    line.key = name.lower()
    line.value = value
    line.kind = "pair"


# ---------------------------------------------------------------- values

def quote(value: str) -> str:
    """A value for an error message, unless it could be a key: those are described, never shown."""
    if _KEYLIKE_RE.search(value):
        return "(a value that looks like a key, not shown)"
    return repr(value)


def parse_port(value: str, minimum: int = 0) -> int:
    """A UDP port as wg's getaddrinfo(NULL, value) would give it, or ValueError."""
    if not value:
        raise ValueError("empty port")
    if value.isdigit():
        port = int(value)
        if port > 65535:
            raise ValueError("port %d is out of range 0-65535 (wg silently takes it modulo 65536, as %d)" % (port, port % 65536))
    else:
        try:
            port = socket.getservbyname(value, "udp")
        except (OSError, UnicodeError):
            raise ValueError("port %s is neither a number nor a UDP service name" % quote(value)) from None
    if port < minimum:
        raise ValueError("port %d cannot be used here" % port)
    return port


def _parse_c_ulong(value: str) -> int:
    """strtoul(value, NULL, 0): 0x hex, leading-0 octal, else decimal."""
    lowered = value.lower()
    if lowered.startswith("0x"):
        return int(lowered[2:], 16)
    if len(value) > 1 and value.startswith("0"):
        return int(value[1:], 8)
    if not value.isdigit():
        raise ValueError(value)
    return int(value)


def parse_fwmark(value: str) -> int | None:
    if value.lower() == "off":
        return None
    try:
        mark = _parse_c_ulong(value)
    except ValueError:
        raise ValueError("FwMark %s is neither off nor a number" % quote(value)) from None
    if mark > 0xFFFFFFFF:
        raise ValueError("FwMark %s does not fit in 32 bits" % quote(value))
    return mark or None


def parse_keepalive(value: str) -> int | None:
    if value.lower() == "off":
        return None
    if not value.isdigit() or int(value) > 65535:
        raise ValueError("PersistentKeepalive %s is neither off nor 0-65535 seconds" % quote(value))
    return int(value) or None


def parse_allowed_ips(value: str) -> list[str]:
    """wg's parse_allowedips: comma list of ADDR[/CIDR]; returned as networks like the runtime prints them."""
    if not value:
        return []
    networks = []
    for entry in value.split(","):
        address, slash, prefix = entry.partition("/")
        try:
            if "%" in address:
                # inet_pton knows no zone index.
                raise ValueError(address)
            ip = ipaddress.ip_address(address)
        except ValueError:
            raise ValueError("AllowedIP %s is not an IP address" % quote(entry)) from None
        if slash and (not prefix.isdigit() or int(prefix) > ip.max_prefixlen):
            raise ValueError("AllowedIP %s has a bad prefix length" % quote(entry))
        length = int(prefix) if slash else ip.max_prefixlen
        networks.append(str(ipaddress.ip_network((ip, length), strict=False)))
    return networks


def split_endpoint(value: str) -> dict[str, t.Any]:
    """wg's parse_endpoint: [v6]:port or host:port split at the last colon. ValueError when wg refuses it."""
    if value.startswith("["):
        close = value.find("]")
        if close < 0:
            raise ValueError("Endpoint %s: no closing ']'" % quote(value))
        host, rest = value[1:close], value[close + 1:]
        if not rest.startswith(":") or len(rest) < 2:
            raise ValueError("Endpoint %s: no port" % quote(value))
        port_text = rest[1:]
    else:
        host, colon, port_text = value.rpartition(":")
        if not colon or not port_text:
            raise ValueError("Endpoint %s: no port (host:port or [IPv6]:port)" % quote(value))
    if not host:
        raise ValueError("Endpoint %s: no host" % quote(value))
    port = parse_port(port_text, minimum=1)
    is_hostname = not _is_ip_literal(host)
    if is_hostname and not _HOSTNAME_RE.match(host):
        raise ValueError("Endpoint %s: host is neither an IP address nor a hostname" % quote(value))
    return {"raw": value, "host": host, "port": port, "is_hostname": is_hostname}


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def _parse_address(value: str) -> str:
    try:
        ipaddress.ip_interface(value)
    except ValueError:
        raise ValueError("Address %s is not ADDRESS/PREFIX" % quote(value)) from None
    return value


def _parse_int(name: str, value: str) -> int:
    if not value.isdigit():
        raise ValueError("%s %s is not a number" % (name, quote(value)))
    return int(value)


def _parse_bool(name: str, value: str) -> bool:
    if value.lower() not in ("true", "false"):
        raise ValueError("%s %s is neither true nor false" % (name, quote(value)))
    return value.lower() == "true"


def _list_items(value: str) -> list[str]:
    """wg-quick's ${value//,/ } word splitting."""
    return [item for item in re.split(r"[,\s]+", value) if item]


# ---------------------------------------------------------------- parsing

def _empty_config(path: str) -> dict[str, t.Any]:
    return {
        "path": path, "exists": True, "parse_errors": [],
        "address": [], "listen_port": None, "fwmark": None, "mtu": None, "table": None,
        "dns": [], "save_config": False,
        "hooks": {"pre_up": False, "post_up": False, "pre_down": False, "post_down": False},
        "has_private_key": False, "public_key": None, "peers": [],
    }


def _empty_peer(line: int) -> dict[str, t.Any]:
    return {
        "public_key": None, "line": line, "endpoint": None, "allowed_ips": [],
        "persistent_keepalive": None, "has_preshared_key": False, "preshared_key_digest": None,
    }


def _unrecognized(line: Line, section_kind: str) -> str:
    if line.kind == "bad" or not KEY_NAME_RE.match(line.key):
        # The text may be a pasted key: describe it, never quote it.
        return "line unrecognized: not Key = Value, a [Section] or a comment"
    name = line.text.split("=", 1)[0].strip(_WG_SPACE)
    if section_kind == "preamble":
        return "%s appears before any [Interface] or [Peer] section" % name
    if line.key in WG_QUICK_KEYS or line.key in INTERFACE_KEYS:
        return "%s is not valid in [Peer] (it belongs in [Interface])" % name
    if line.key in PEER_KEYS:
        return "%s is not valid in [Interface] (it belongs in [Peer])" % name
    if section_kind == "other":
        return "%s is in an unknown section" % name
    return "unknown key %s" % name


def _derived_public_key(derive_public_key: DerivePublicKey, private_key: str) -> str | None:
    try:
        return derive_public_key(private_key)
    except Exception:  # pylint: disable=broad-except
        # A missing X25519 backend must not turn into a parse failure.
        return None


class _Parser:
    def __init__(self, text: str, path: str, derive_public_key: DerivePublicKey | None) -> None:
        self.path = path
        self.lines = split_lines(text)
        self.sections = lex(self.lines)
        self.config = _empty_config(path)
        self.private_key: str | None = None
        self.derive_public_key = derive_public_key

    def error(self, line: int, reason: str) -> None:
        self.config["parse_errors"].append({"file": self.path, "line": line, "reason": reason})

    def run(self) -> dict[str, t.Any]:
        for section in self.sections:
            self.section(section)
        if self.private_key is not None and self.derive_public_key is not None:
            self.config["public_key"] = _derived_public_key(self.derive_public_key, self.private_key)
        self.private_key = None
        self.check_peers()
        self.config["parse_errors"].sort(key=lambda error: error["line"])
        return self.config

    def section(self, section: Section) -> None:
        peer: dict[str, t.Any] | None = None     # set in [Peer] sections only
        if section.kind == "other":
            self.error(self.lines[section.header].number, "unknown section: only [Interface] and [Peer] exist")
        if section.kind == "peer":
            peer = _empty_peer(self.lines[section.header].number)
            self.config["peers"].append(peer)
        for index in section.lines:
            line = self.lines[index]
            if line.kind in ("blank", "header"):
                continue
            try:
                if section.kind == "interface" and line.key in WG_QUICK_KEYS:
                    self.quick_key(line)
                elif line.value == "" and (section.kind, line.key) in _SECTION_KEYS:
                    self.no_value(line, peer)
                elif section.kind == "interface" and line.key in INTERFACE_KEYS:
                    self.interface_key(line)
                elif peer is not None and line.key in PEER_KEYS:
                    self.peer_key(line, peer)
                else:
                    self.error(line.number, _unrecognized(line, section.kind))
            except ValueError as exc:
                self.error(line.number, str(exc))

    def no_value(self, line: Line, peer: dict[str, t.Any] | None) -> None:
        """wg's get_value() finds nothing after "Key=": wg calls the line unrecognized."""
        if peer is not None and line.key == "publickey":
            peer["public_key_invalid"] = True
        raise ValueError("%s has no value" % line.text.split("=", 1)[0].strip(_WG_SPACE))

    def quick_key(self, line: Line) -> None:
        config, key, value = self.config, line.key, line.value
        if key == "address":
            config["address"].extend(_parse_address(item) for item in _list_items(value))
        elif key == "dns":
            config["dns"].extend(_list_items(value))
        elif key == "mtu":
            # wg-quick treats an empty MTU as "work it out from the route".
            config["mtu"] = _parse_int("MTU", value) if value else None
        elif key == "table":
            config["table"] = value or None
        elif key == "saveconfig":
            config["save_config"] = _parse_bool("SaveConfig", value)
        else:
            config["hooks"][re.sub(r"^(pre|post)", r"\1_", key)] = True

    def interface_key(self, line: Line) -> None:
        key, value = line.key, line.value
        if key == "listenport":
            try:
                self.config["listen_port"] = parse_port(value)
            except ValueError as exc:
                raise ValueError("ListenPort: %s" % exc) from None
        elif key == "fwmark":
            self.config["fwmark"] = parse_fwmark(value)
        elif wg_keys.key_problem(value) is not None:
            self.config["has_private_key"] = False
            self.private_key = None
            raise ValueError("PrivateKey is not base64 of 32 bytes (wg genkey prints 44 characters ending in '=')")
        else:
            self.config["has_private_key"] = True
            self.private_key = value

    def peer_key(self, line: Line, peer: dict[str, t.Any]) -> None:
        key, value = line.key, line.value
        if key == "publickey":
            if wg_keys.key_problem(value) is not None:
                peer["public_key_invalid"] = True
                raise ValueError("PublicKey is not base64 of 32 bytes (wg pubkey prints 44 characters ending in '=')")
            peer["public_key"] = value
        elif key == "presharedkey":
            if wg_keys.key_problem(value) is not None:
                raise ValueError("PresharedKey is not base64 of 32 bytes (wg genpsk prints 44 characters ending in '=')")
            peer["has_preshared_key"] = True
            peer["preshared_key_digest"] = wg_keys.preshared_key_digest(value)
        elif key == "allowedips":
            peer["allowed_ips"].extend(parse_allowed_ips(value))
        elif key == "endpoint":
            endpoint = split_endpoint(value)
            endpoint.update(resolved=None, resolve_error=None)
            peer["endpoint"] = endpoint
        else:
            peer["persistent_keepalive"] = parse_keepalive(value)

    def check_peers(self) -> None:
        seen: dict[str, int] = {}
        for peer in self.config["peers"]:
            key = peer["public_key"]
            if peer.pop("public_key_invalid", False) and key is None:
                continue
            if key is None:
                self.error(peer["line"], "[Peer] has no PublicKey")
            elif key in seen:
                self.error(peer["line"], "duplicate peer: the [Peer] at line %d has the same PublicKey" % seen[key])
            else:
                seen[key] = peer["line"]


def parse_config(text: str | bytes, path: str = "<string>",
                 derive_public_key: DerivePublicKey | None = None) -> dict:
    """The `config` object of docs/facts.md; every problem is listed in parse_errors, nothing raises.

    public_key is derived from PrivateKey only by the derive_public_key given (the host's
    `wg pubkey` in wg_facts, derive.public_key_from_private on the controller): the reader itself
    carries no X25519, so a module that only reads configs does not ship the curve. None leaves
    public_key None; has_private_key still says whether there is one.
    """
    if not isinstance(text, str):
        text = text.decode("utf-8", errors="replace")
    return _Parser(text, path, derive_public_key).run()


def parse_config_strict(text: str | bytes, path: str = "<string>",
                        derive_public_key: DerivePublicKey | None = None) -> dict:
    """parse_config, but the first problem raises ConfigParseError."""
    config = parse_config(text, path, derive_public_key)
    if config["parse_errors"]:
        first = config["parse_errors"][0]
        raise ConfigParseError(first["file"], first["line"], first["reason"])
    return config
