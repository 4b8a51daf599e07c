# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""wg-quick configuration files edited in place, the way a person would edit them.

Edits work on the physical lines: only the lines of the keys being changed are rewritten
(keeping indentation, the spacing around '=', trailing comments and the line ending);
everything else - comments, blank lines, order, other peers, lines we do not understand -
comes back byte for byte. Every value is validated by the reader (config.py) before it is
written, and the result is parsed again: an edit never adds a problem to the file.

Errors are config.ConfigParseError ("FILE:LINE: REASON"); no reason quotes a key.
"""
from __future__ import annotations

import re
import typing as t

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard import keys as wg_keys
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard.config import (
    INTERFACE_KEYS, KEY_NAME_RE, PEER_KEYS, WG_QUICK_KEYS, WG_SPACE_RE, ConfigParseError, Section, lex, parse_config, split_lines,
)

PEER_KEY_ORDER = ("PublicKey", "PresharedKey", "Endpoint", "AllowedIPs", "PersistentKeepalive")
_HOOK_KEYS = ("preup", "postup", "predown", "postdown")
_DUMMY_PUBLIC_KEY = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="


def _canonical(key: str, allowed: dict[str, str], path: str, line: int) -> str:
    canon = WG_SPACE_RE.sub("", str(key)).lower()
    if canon not in allowed:
        name = key if KEY_NAME_RE.match(str(key)) else "(not shown)"
        raise ConfigParseError(path, line, "cannot set %s here: expected one of %s" % (name, ", ".join(sorted(allowed.values()))))
    return canon


def _value_texts(canon: str, value: object) -> list[str]:
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
    display: dict[str, str] = {}
    display.update(WG_QUICK_KEYS, **INTERFACE_KEYS)
    display.update(PEER_KEYS)
    # wg-quick cuts every line at '#', PostUp commands included.
    if "\n" in text or "\r" in text or "#" in text:
        raise ConfigParseError(path, line, "%s: a value cannot hold a newline or a '#'" % display[canon])
    if canon in PEER_KEYS:
        head = "[Peer]\n" if canon == "publickey" else "[Peer]\nPublicKey = %s\n" % _DUMMY_PUBLIC_KEY
    else:
        head = "[Interface]\n"
    for error in parse_config("%s%s = %s\n" % (head, display[canon], text), derive_public_key=None)["parse_errors"]:
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


def decode_config(data: str | bytes, path: str = "<string>") -> str:
    """The file's bytes as text, or ConfigParseError naming the line and byte offset of the first byte that is not UTF-8.

    An edit must give back every byte it did not change: a byte replaced by U+FFFD on reading would be
    rewritten as three others, and one kept as a surrogate cannot be written at all. So such a file is
    refused before anything is planned, backed up or written.
    """
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigParseError(path, line, "byte 0x%02x at byte offset %d is not UTF-8; save the file as UTF-8 (or ASCII) and run again"
                               % (data[exc.start], exc.start)) from None


class _Document:
    def __init__(self, text: str | bytes, path: str) -> None:
        text = decode_config(text, path)
        self.original = text
        self.path = path
        self.lines = split_lines(text)
        self.sections = lex(self.lines)
        self.eol = next((line.eol for line in self.lines if line.eol), "\n")
        self.replaced: dict[int, list[str]] = {}    # line index -> list of texts (empty: deleted)
        self.inserted: dict[int, list[str]] = {}    # line index -> texts that follow that line
        self.appended: list[str] = []               # texts after the last line

    def render(self) -> str:
        out: list[list[str]] = []
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

    def header_number(self, section: Section) -> int:
        return self.lines[section.header].number if section.header >= 0 else 1

    def peer_section(self, public_key: str) -> Section | None:
        wanted = WG_SPACE_RE.sub("", public_key or "")
        for section in self.sections:
            if section.kind != "peer":
                continue
            keys = [self.lines[i].value for i in section.lines if self.lines[i].kind == "pair" and self.lines[i].key == "publickey"]
            if keys and keys[-1] == wanted:
                return section
        return None

    def set_key(self, sections: list[Section], canon: str, value: object, insert_after: int) -> None:
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

    def last_pair(self, section: Section) -> int:
        pairs = [i for i in section.lines if self.lines[i].kind == "pair"]
        return pairs[-1] if pairs else section.header

    def result(self) -> str:
        text = self.render()
        _check_no_new_problems(self.original, text, self.path)
        return text


def _problem_counts(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for error in parse_config(text, derive_public_key=None)["parse_errors"]:
        reason = re.sub(r"\d+", "N", error["reason"])
        counts[reason] = counts.get(reason, 0) + 1
    return counts


def _check_no_new_problems(before: str, after: str, path: str) -> None:
    """An edit may leave a broken file as broken as it was, never make it worse."""
    old = _problem_counts(before)
    seen: dict[str, int] = {}
    for error in parse_config(after, path, derive_public_key=None)["parse_errors"]:
        reason = re.sub(r"\d+", "N", error["reason"])
        seen[reason] = seen.get(reason, 0) + 1
        if seen[reason] > old.get(reason, 0):
            raise ConfigParseError(path, error["line"], error["reason"])


def _require_peer(document: _Document, public_key: str) -> Section:
    section = document.peer_section(public_key)
    if section is None:
        shown = public_key if wg_keys.key_problem(WG_SPACE_RE.sub("", public_key or "")) is None else "(malformed key, not shown)"
        raise ConfigParseError(document.path, 0, "no [Peer] with PublicKey %s" % shown)
    return section


def peer_values(text: str | bytes, public_key: str, path: str = "<string>") -> dict[str, str]:
    """What the [Peer] of public_key holds, as `wg set` needs it to re-create the peer: wg-quick key -> raw value.

    Values are read the way wg reads them (whitespace deleted); AllowedIPs lines add up, any other key repeated
    takes its last value. The PresharedKey is in the result: the caller hands it to wg and to nothing else.
    """
    document = _Document(text, path)
    section = _require_peer(document, public_key)
    values: dict[str, str] = {}
    for index in section.lines:
        line = document.lines[index]
        if line.kind != "pair" or line.key not in PEER_KEYS:
            continue
        name = PEER_KEYS[line.key]
        if name == "AllowedIPs" and values.get(name):
            values[name] = "%s, %s" % (values[name], line.value) if line.value else values[name]
        else:
            values[name] = line.value
    return values


def set_peer_values(text: str | bytes, public_key: str, values: dict[str, t.Any], path: str = "<string>") -> str:
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


def set_interface_values(text: str | bytes, values: dict[str, t.Any], path: str = "<string>") -> str:
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


def add_peer(text: str | bytes, values: dict[str, t.Any], path: str = "<string>") -> str:
    """Append a [Peer] section (after a blank line) with values; PublicKey is required and must be new."""
    document = _Document(text, path)
    number = len(document.lines) + 1
    canon_values: dict[str, t.Any] = {}
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
    lines: list[str] = [] if not document.lines or not document.lines[-1].text.strip() else [""]
    lines.append("[Peer]")
    order = [WG_SPACE_RE.sub("", key).lower() for key in PEER_KEY_ORDER]
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


def remove_peer(text: str | bytes, public_key: str, path: str = "<string>") -> str:
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


def replace_peer_public_key(text: str | bytes, old_public_key: str, new_public_key: str, path: str = "<string>") -> str:
    """Give the [Peer] holding old_public_key the new key, refusing to create a duplicate peer."""
    document = _Document(text, path)
    _require_peer(document, old_public_key)
    _validate_value("publickey", str(new_public_key), path, 0)
    other = document.peer_section(new_public_key)
    if other is not None and WG_SPACE_RE.sub("", new_public_key) != WG_SPACE_RE.sub("", old_public_key):
        raise ConfigParseError(path, document.header_number(other), "another [Peer] already has this PublicKey")
    return set_peer_values(text, old_public_key, {"PublicKey": new_public_key}, path)
