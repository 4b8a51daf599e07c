# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""wg-quick configuration files, read the way `wg-quick up` reads them, and edited in place.

wg-quick takes Address, DNS, MTU, Table, Pre/PostUp/Down and SaveConfig out of
[Interface] (case-insensitively, text after '#' ignored, value trimmed) and hands every
other line to `wg setconf`, whose config.c deletes ALL whitespace from the line and
matches "Key=" prefixes case-insensitively. Both readings are reproduced here, so a
line is an error here exactly when one of them would refuse it (plus the few things
wg accepts silently but that never work: a port above 65535, a duplicate peer).

No private or preshared key is kept: PrivateKey becomes has_private_key and the derived
public_key, PresharedKey becomes has_preshared_key and preshared_key_digest. Error
reasons never quote a value that could be a key.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import re
import socket

try:
    from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard import keys as wg_keys
except ImportError:  # pragma: no cover - the sibling ships with the collection
    wg_keys = None

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
# Keys whose repeated lines add up instead of the last one winning.
LIST_KEYS = ("address", "dns", "allowedips", "preup", "postup", "predown", "postdown")
SECRET_KEYS = ("privatekey", "presharedkey")
PEER_KEY_ORDER = ("PublicKey", "PresharedKey", "Endpoint", "AllowedIPs", "PersistentKeepalive")

_WG_SPACE = " \t\n\r\v\f"
_WG_SPACE_RE = re.compile("[ \t\n\r\v\f]")
_KEY_NAME_RE = re.compile(r"^[A-Za-z]{1,32}$")
_HOSTNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,253}$")
_PSK_DIGEST_KEY = b"wgdoctor-psk-digest-v1"
_KEYLIKE_RE = re.compile(r"[A-Za-z0-9+/]{40,}")


class ConfigParseError(ValueError):
    """A config problem: str() is "FILE:LINE: REASON". The reason never holds a key."""

    def __init__(self, file: str, line: int, reason: str) -> None:
        super().__init__("%s:%s: %s" % (file, line, reason))
        self.file = file
        self.line = line
        self.reason = reason


# ---------------------------------------------------------------- lexing

class _Line:
    """One physical line: its text, its line ending, and what wg-quick/wg make of it."""

    __slots__ = ("number", "text", "eol", "kind", "key", "name", "value", "section")

    def __init__(self, number: int, text: str, eol: str) -> None:
        self.number = number
        self.text = text
        self.eol = eol
        self.kind = "blank"      # blank | header | pair | bad
        self.key = None          # lower-case canonical key, e.g. "allowedips"
        self.name = None         # the header word, e.g. "peer"
        self.value = None
        self.section = None      # index into the section list


class _Section:
    __slots__ = ("kind", "header", "lines")

    def __init__(self, kind: str, header: int) -> None:
        self.kind = kind          # interface | peer | other | preamble
        self.header = header      # index of the header line, -1 for the preamble
        self.lines = []


def _split_lines(text: str) -> list:
    """Lines as wg's fgets and bash's read see them: split at \\n only, a \\r before it kept as the ending."""
    lines = []
    pieces = text.split("\n")
    if pieces[-1] == "":
        pieces.pop()
    for number, piece in enumerate(pieces, start=1):
        eol = "\n" if number < len(pieces) or text.endswith("\n") else ""
        if eol and piece.endswith("\r"):
            piece, eol = piece[:-1], "\r\n"
        lines.append(_Line(number, piece, eol))
    return lines


def _lex(lines: list) -> list:
    """Classify every line and group them into sections; returns the sections."""
    sections = [_Section("preamble", -1)]
    for index, line in enumerate(lines):
        _classify(line, sections[-1].kind)
        if line.kind == "header":
            kind = line.name if line.name in ("interface", "peer") else "other"
            sections.append(_Section(kind, index))
        line.section = len(sections) - 1
        sections[-1].lines.append(index)
    return sections


def _classify(line: _Line, section_kind: str) -> None:
    stripped = line.text.split("#", 1)[0]
    compact = _WG_SPACE_RE.sub("", stripped)
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


def _is_wg_key(value: str) -> bool:
    """wg's key_from_base64: 44 characters, '=' last, no stray bits in the last group."""
    if len(value) != 44 or value[43] != "=":
        return False
    if wg_keys is not None and not wg_keys.is_valid_key(value):
        return False
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return len(raw) == 32 and base64.b64encode(raw).decode("ascii") == value


def _public_key_from_private(private_b64: str):
    if wg_keys is None:
        return None
    try:
        return wg_keys.public_key_from_private(private_b64)
    except Exception:  # pylint: disable=broad-except
        # A missing X25519 backend must not turn into a parse failure.
        return None


def preshared_key_digest(psk_b64: str) -> str:
    """docs/facts.md's digest; the same as wg_keys.preshared_key_digest."""
    if wg_keys is not None:
        return wg_keys.preshared_key_digest(psk_b64)
    raw = base64.b64decode(psk_b64)
    return hmac.new(_PSK_DIGEST_KEY, raw, hashlib.sha256).hexdigest()[:16]


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


def parse_fwmark(value: str):
    if value.lower() == "off":
        return None
    try:
        mark = _parse_c_ulong(value)
    except ValueError:
        raise ValueError("FwMark %s is neither off nor a number" % quote(value)) from None
    if mark > 0xFFFFFFFF:
        raise ValueError("FwMark %s does not fit in 32 bits" % quote(value))
    return mark or None


def parse_keepalive(value: str):
    if value.lower() == "off":
        return None
    if not value.isdigit() or int(value) > 65535:
        raise ValueError("PersistentKeepalive %s is neither off nor 0-65535 seconds" % quote(value))
    return int(value) or None


def parse_allowed_ips(value: str) -> list:
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


def split_endpoint(value: str) -> dict:
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


def _list_items(value: str) -> list:
    """wg-quick's ${value//,/ } word splitting."""
    return [item for item in re.split(r"[,\s]+", value) if item]


# ---------------------------------------------------------------- parsing

def _empty_config(path: str) -> dict:
    return {
        "path": path, "exists": True, "parse_errors": [],
        "address": [], "listen_port": None, "fwmark": None, "mtu": None, "table": None,
        "dns": [], "save_config": False,
        "hooks": {"pre_up": False, "post_up": False, "pre_down": False, "post_down": False},
        "has_private_key": False, "public_key": None, "peers": [],
    }


def _empty_peer(line: int) -> dict:
    return {
        "public_key": None, "line": line, "endpoint": None, "allowed_ips": [],
        "persistent_keepalive": None, "has_preshared_key": False, "preshared_key_digest": None,
    }


def _unrecognized(line: _Line, section_kind: str) -> str:
    if line.kind == "bad" or line.key is None or not _KEY_NAME_RE.match(line.key):
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


class _Parser:
    def __init__(self, text: str, path: str) -> None:
        self.path = path
        self.lines = _split_lines(text)
        self.sections = _lex(self.lines)
        self.config = _empty_config(path)
        self.private_key = None

    def error(self, line: int, reason: str) -> None:
        self.config["parse_errors"].append({"file": self.path, "line": line, "reason": reason})

    def run(self) -> dict:
        for section in self.sections:
            self.section(section)
        if self.private_key is not None:
            self.config["public_key"] = _public_key_from_private(self.private_key)
        self.private_key = None
        self.check_peers()
        self.config["parse_errors"].sort(key=lambda error: error["line"])
        return self.config

    def section(self, section: _Section) -> None:
        peer = None
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
                elif section.kind == "peer" and line.key in PEER_KEYS:
                    self.peer_key(line, peer)
                else:
                    self.error(line.number, _unrecognized(line, section.kind))
            except ValueError as exc:
                self.error(line.number, str(exc))

    def no_value(self, line: _Line, peer) -> None:
        """wg's get_value() finds nothing after "Key=": wg calls the line unrecognized."""
        if peer is not None and line.key == "publickey":
            peer["public_key_invalid"] = True
        raise ValueError("%s has no value" % line.text.split("=", 1)[0].strip(_WG_SPACE))

    def quick_key(self, line: _Line) -> None:
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

    def interface_key(self, line: _Line) -> None:
        key, value = line.key, line.value
        if key == "listenport":
            try:
                self.config["listen_port"] = parse_port(value)
            except ValueError as exc:
                raise ValueError("ListenPort: %s" % exc) from None
        elif key == "fwmark":
            self.config["fwmark"] = parse_fwmark(value)
        elif not _is_wg_key(value):
            self.config["has_private_key"] = False
            self.private_key = None
            raise ValueError("PrivateKey is not base64 of 32 bytes (wg genkey prints 44 characters ending in '=')")
        else:
            self.config["has_private_key"] = True
            self.private_key = value

    def peer_key(self, line: _Line, peer: dict) -> None:
        key, value = line.key, line.value
        if key == "publickey":
            if not _is_wg_key(value):
                peer["public_key_invalid"] = True
                raise ValueError("PublicKey is not base64 of 32 bytes (wg pubkey prints 44 characters ending in '=')")
            peer["public_key"] = value
        elif key == "presharedkey":
            if not _is_wg_key(value):
                raise ValueError("PresharedKey is not base64 of 32 bytes (wg genpsk prints 44 characters ending in '=')")
            peer["has_preshared_key"] = True
            peer["preshared_key_digest"] = preshared_key_digest(value)
        elif key == "allowedips":
            peer["allowed_ips"].extend(parse_allowed_ips(value))
        elif key == "endpoint":
            endpoint = split_endpoint(value)
            endpoint.update(resolved=None, resolve_error=None)
            peer["endpoint"] = endpoint
        else:
            peer["persistent_keepalive"] = parse_keepalive(value)

    def check_peers(self) -> None:
        seen = {}
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


def parse_config(text: str, path: str = "<string>") -> dict:
    """The `config` object of docs/facts.md; every problem is listed in parse_errors, nothing raises."""
    if not isinstance(text, str):
        text = text.decode("utf-8", errors="replace")
    return _Parser(text, path).run()


def parse_config_strict(text: str, path: str = "<string>") -> dict:
    """parse_config, but the first problem raises ConfigParseError."""
    config = parse_config(text, path)
    if config["parse_errors"]:
        first = config["parse_errors"][0]
        raise ConfigParseError(first["file"], first["line"], first["reason"])
    return config


# ---------------------------------------------------------------- structure-preserving edits
#
# Edits work on the physical lines: only the lines of the keys being changed are rewritten
# (keeping indentation, the spacing around '=', trailing comments and the line ending);
# everything else - comments, blank lines, order, other peers, lines we do not understand -
# comes back byte for byte. The result is parsed again before it is returned.

_HOOK_KEYS = ("preup", "postup", "predown", "postdown")
_DUMMY_PUBLIC_KEY = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="


def _canonical(key: str, allowed: dict, path: str, line: int) -> str:
    canon = _WG_SPACE_RE.sub("", str(key)).lower()
    if canon not in allowed:
        name = key if _KEY_NAME_RE.match(str(key)) else "(not shown)"
        raise ConfigParseError(path, line, "cannot set %s here: expected one of %s" % (name, ", ".join(sorted(allowed.values()))))
    return canon


def _value_texts(canon: str, value) -> list:
    """The value(s) as they will be written: hooks get a line per command, lists become "a, b"."""
    if isinstance(value, bool):
        return ["true" if value else "false"]
    if isinstance(value, (list, tuple)):
        items = [str(item) for item in value]
        # An empty list is no line at all: "AllowedIPs =" is a line wg refuses.
        return items if canon in _HOOK_KEYS or not items else [", ".join(items)]
    return [str(value)]


def _validate_value(canon: str, text: str, path: str, line: int) -> None:
    """Parse the value alone, in the section it belongs to, and report its problem at `line`."""
    display = {}
    display.update(WG_QUICK_KEYS, **INTERFACE_KEYS)
    display.update(PEER_KEYS)
    # wg-quick cuts every line at '#', PostUp commands included.
    if "\n" in text or "\r" in text or "#" in text:
        raise ConfigParseError(path, line, "%s: a value cannot hold a newline or a '#'" % display[canon])
    if canon in PEER_KEYS:
        head = "[Peer]\n" if canon == "publickey" else "[Peer]\nPublicKey = %s\n" % _DUMMY_PUBLIC_KEY
    else:
        head = "[Interface]\n"
    for error in parse_config("%s%s = %s\n" % (head, display[canon], text))["parse_errors"]:
        raise ConfigParseError(path, line, error["reason"])


def _with_value(text: str, value: str) -> str:
    """The line with its value replaced and everything around the value kept."""
    eq = text.index("=")
    head, rest = text[:eq + 1], text[eq + 1:]
    body = rest.lstrip(" \t")
    lead = rest[:len(rest) - len(body)]
    if not lead and not body.strip() and head[:-1].endswith(" "):
        lead = " "
    comment_at = body.find("#")
    if comment_at < 0:
        return head + lead + value
    before = body[:comment_at]
    gap = before[len(before.rstrip()):] or " "
    return head + lead + value + gap + body[comment_at:]


class _Document:
    def __init__(self, text: str, path: str) -> None:
        if not isinstance(text, str):
            text = text.decode("utf-8", errors="replace")
        self.original = text
        self.path = path
        self.lines = _split_lines(text)
        self.sections = _lex(self.lines)
        self.eol = next((line.eol for line in self.lines if line.eol), "\n")
        self.replaced = {}      # line index -> list of texts (empty: deleted)
        self.inserted = {}      # line index -> texts that follow that line
        self.appended = []      # texts after the last line

    def render(self) -> str:
        out = []
        for index, line in enumerate(self.lines):
            if index not in self.replaced:
                out.append([line.text, line.eol])
            else:
                out.extend([text, line.eol if position == 0 else self.eol] for position, text in enumerate(self.replaced[index]))
            out.extend([text, self.eol] for text in self.inserted.get(index, []))
        out.extend([text, self.eol] for text in self.appended)
        for entry in out[:-1]:
            entry[1] = entry[1] or self.eol
        return "".join(text + eol for text, eol in out)

    def header_number(self, section: _Section) -> int:
        return self.lines[section.header].number if section.header >= 0 else 1

    def peer_section(self, public_key: str):
        wanted = _WG_SPACE_RE.sub("", public_key or "")
        for section in self.sections:
            if section.kind != "peer":
                continue
            keys = [self.lines[i].value for i in section.lines if self.lines[i].kind == "pair" and self.lines[i].key == "publickey"]
            if keys and keys[-1] == wanted:
                return section
        return None

    def set_key(self, sections: list, canon: str, value, insert_after: int) -> None:
        """Set canon in these sections: first occurrence rewritten, later ones dropped, else inserted."""
        found = [i for section in sections for i in section.lines
                 if self.lines[i].kind == "pair" and self.lines[i].key == canon]
        texts = [] if value is None else _value_texts(canon, value)
        for text in texts:
            _validate_value(canon, text, self.path, self.lines[found[0]].number if found else self.lines[insert_after].number)
        for index in found[1:]:
            self.replaced[index] = []
        if found:
            first = self.lines[found[0]]
            self.replaced[found[0]] = [_with_value(first.text, text) for text in texts]
            return
        if texts:
            name = dict(WG_QUICK_KEYS, **INTERFACE_KEYS)
            name.update(PEER_KEYS)
            self.inserted.setdefault(insert_after, []).extend("%s = %s" % (name[canon], text) for text in texts)

    def last_pair(self, section: _Section) -> int:
        pairs = [i for i in section.lines if self.lines[i].kind == "pair"]
        return pairs[-1] if pairs else section.header

    def result(self) -> str:
        text = self.render()
        _check_no_new_problems(self.original, text, self.path)
        return text


def _problem_counts(text: str) -> dict:
    counts = {}
    for error in parse_config(text)["parse_errors"]:
        reason = re.sub(r"\d+", "N", error["reason"])
        counts[reason] = counts.get(reason, 0) + 1
    return counts


def _check_no_new_problems(before: str, after: str, path: str) -> None:
    """An edit may leave a broken file as broken as it was, never make it worse."""
    old = _problem_counts(before)
    seen = {}
    for error in parse_config(after, path)["parse_errors"]:
        reason = re.sub(r"\d+", "N", error["reason"])
        seen[reason] = seen.get(reason, 0) + 1
        if seen[reason] > old.get(reason, 0):
            raise ConfigParseError(path, error["line"], error["reason"])


def _require_peer(document: _Document, public_key: str) -> _Section:
    section = document.peer_section(public_key)
    if section is None:
        shown = public_key if _is_wg_key(_WG_SPACE_RE.sub("", public_key or "")) else "(malformed key, not shown)"
        raise ConfigParseError(document.path, 0, "no [Peer] with PublicKey %s" % shown)
    return section


def set_peer_values(text: str, public_key: str, values: dict, path: str = "<string>") -> str:
    """Set or (value None) remove keys of the [Peer] whose PublicKey is public_key; the rest stays as it was."""
    document = _Document(text, path)
    section = _require_peer(document, public_key)
    number = document.header_number(section)
    for key, value in values.items():
        canon = _canonical(key, PEER_KEYS, path, number)
        if canon == "publickey" and value is None:
            raise ConfigParseError(path, number, "a [Peer] cannot lose its PublicKey: remove the peer instead")
        document.set_key([section], canon, value, document.last_pair(section))
    return document.result()


def set_interface_values(text: str, values: dict, path: str = "<string>") -> str:
    """Set or (value None) remove [Interface] keys; an [Interface] section is created at the top when there is none."""
    document = _Document(text, path)
    sections = [section for section in document.sections if section.kind == "interface"]
    allowed = dict(WG_QUICK_KEYS, **INTERFACE_KEYS)
    if not sections:
        if all(value is None for value in values.values()):
            for key in values:
                _canonical(key, allowed, path, 1)
            return document.original
        prefix = "[Interface]%s%s" % (document.eol, document.eol if document.lines else "")
        return set_interface_values(prefix + document.original, values, path)
    for key, value in values.items():
        canon = _canonical(key, allowed, path, document.header_number(sections[0]))
        document.set_key(sections, canon, value, document.last_pair(sections[0]))
    return document.result()


def add_peer(text: str, values: dict, path: str = "<string>") -> str:
    """Append a [Peer] section (after a blank line) with values; PublicKey is required and must be new."""
    document = _Document(text, path)
    number = len(document.lines) + 1
    canon_values = {}
    for key, value in values.items():
        if value is not None:
            canon_values[_canonical(key, PEER_KEYS, path, number)] = value
    public_key = canon_values.get("publickey")
    if public_key is None:
        raise ConfigParseError(path, number, "a new [Peer] needs a PublicKey")
    _validate_value("publickey", str(public_key), path, number)
    existing = document.peer_section(str(public_key))
    if existing is not None:
        raise ConfigParseError(path, document.header_number(existing), "this peer is already present")
    lines = [] if not document.lines or not document.lines[-1].text.strip() else [""]
    lines.append("[Peer]")
    order = [_WG_SPACE_RE.sub("", key).lower() for key in PEER_KEY_ORDER]
    for canon in sorted(canon_values, key=order.index):
        for value_text in _value_texts(canon, canon_values[canon]):
            _validate_value(canon, value_text, path, number)
            lines.append("%s = %s" % (PEER_KEYS[canon], value_text))
    document.appended = lines
    return document.result()


def _leading_comments(document: _Document, header: int) -> int:
    """Index where the comment block glued to a header (no blank line between) starts."""
    start = header
    while start > 0 and document.lines[start - 1].kind == "blank" and document.lines[start - 1].text.strip().startswith("#"):
        start -= 1
    return start


def remove_peer(text: str, public_key: str, path: str = "<string>") -> str:
    """Remove the [Peer] with its own lines and the comment block directly above its header."""
    document = _Document(text, path)
    section = _require_peer(document, public_key)
    start = _leading_comments(document, section.header)
    later = [s for s in document.sections if s.header > section.header]
    end = _leading_comments(document, later[0].header) if later else len(document.lines)
    if end == len(document.lines):
        # The last section goes: take the blank lines that separated it along.
        while start > 0 and not document.lines[start - 1].text.strip():
            start -= 1
    for index in range(start, end):
        document.replaced[index] = []
    return document.result()


def replace_peer_public_key(text: str, old_public_key: str, new_public_key: str, path: str = "<string>") -> str:
    """Give the [Peer] holding old_public_key the new key, refusing to create a duplicate peer."""
    document = _Document(text, path)
    _require_peer(document, old_public_key)
    _validate_value("publickey", str(new_public_key), path, 0)
    other = document.peer_section(new_public_key)
    if other is not None and _WG_SPACE_RE.sub("", new_public_key) != _WG_SPACE_RE.sub("", old_public_key):
        raise ConfigParseError(path, document.header_number(other), "another [Peer] already has this PublicKey")
    return set_peer_values(text, old_public_key, {"PublicKey": new_public_key}, path)
