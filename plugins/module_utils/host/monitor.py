# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The `monitor` fact (docs/facts.md): is wgdoctor.wireguard.monitor installed here, and what did its check last see?

Pure: host/facts.py finds the files and hands their text here. The paths are the ones roles/monitor
installs. The monitor's settings file (/etc/wgdoctor-monitor.json) is never opened: it may hold a chat
webhook URL, which is a token. Its state file holds public keys, counters and reasons only.
"""
from __future__ import annotations

import json
import typing as t

SCRIPT = "/usr/local/sbin/wgdoctor-monitor"
TIMER = "wgdoctor-monitor.timer"
TIMER_FILE = "/etc/systemd/system/wgdoctor-monitor.timer"
CRON_FILE = "/etc/cron.d/wgdoctor-monitor"
STATE_FILE = "/var/lib/wgdoctor-monitor/state.json"
# The state format of roles/monitor/files/wgdoctor-monitor (STATE_VERSION there).
STATE_VERSION = 1
MAX_REASONS = 3

Facts = t.Dict[str, t.Any]


def not_installed() -> Facts:
    return {"installed": False, "scheduler": None, "active": None, "state_file": STATE_FILE, "last_run": None,
            "peers": [], "error": None}


def _int(value: t.Any) -> t.Optional[int]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value)


def peer_state(entry: t.Mapping[str, t.Any]) -> str:
    """up: the last check passed; failing: it failed, not yet `failures` times in a row; down: the outage was alerted."""
    if entry.get("alerted") is True:
        return "down"
    return "failing" if (_int(entry.get("failures")) or 0) > 0 else "up"


def parse_state(text: str, path: str) -> t.Tuple[t.List[Facts], t.Optional[str]]:
    """The peers of the monitor's state file, and an error naming the file (and line) when it is not one.

    A peer entry the check did not write (not an object, no interface or key) is left out and counted."""
    try:
        state = json.loads(text)
    except ValueError as exc:
        line = getattr(exc, "lineno", None)
        reason = getattr(exc, "msg", None) or "not JSON"
        return [], "%s%s: not JSON (%s)" % (path, " line %d" % line if line else "", reason)
    if not isinstance(state, dict) or not isinstance(state.get("peers"), dict):
        return [], "%s: not a wgdoctor-monitor state file (no `peers` object)" % path
    if state.get("version") != STATE_VERSION:
        return [], "%s: state version %r, this wg_facts reads version %d" % (path, state.get("version"), STATE_VERSION)
    peers: t.List[Facts] = []
    skipped = 0
    for entry in state["peers"].values():
        if not (isinstance(entry, dict) and isinstance(entry.get("interface"), str) and isinstance(entry.get("public_key"), str)):
            skipped += 1
            continue
        reasons: t.List[t.Any] = entry["reasons"] if isinstance(entry.get("reasons"), list) else []
        peers.append({
            "interface": entry["interface"],
            "public_key": entry["public_key"],
            "state": peer_state(entry),
            "failures": _int(entry.get("failures")) or 0,
            "alerted": entry.get("alerted") is True,
            "last_check": _int(entry.get("last_check")),
            "failing_since": _int(entry.get("failing_since")),
            "reasons": [str(reason) for reason in reasons[:MAX_REASONS]],
        })
    peers.sort(key=lambda peer: (peer["interface"], peer["public_key"]))
    error = None
    if skipped:
        error = "%s: %d peer entr%s not written by wgdoctor-monitor, left out" % (path, skipped, "y" if skipped == 1 else "ies")
    return peers, error


def monitor_facts(script: bool, scheduler: t.Optional[str], active: t.Optional[bool], state_text: t.Optional[str],
                  state_error: t.Optional[str]) -> Facts:
    """The fact from what facts.py found: the script, what schedules it ("systemd timer", "cron" or None),
    whether the timer is active (None: cron or unknown), the state file's text (None: not there yet,
    no check ran) or why it could not be read."""
    if not script and scheduler is None:
        return not_installed()
    facts = dict(not_installed(), installed=True, scheduler=scheduler, active=active)
    if state_error is not None:
        facts["error"] = "%s: cannot read: %s" % (STATE_FILE, state_error)
    elif state_text is not None:
        facts["peers"], facts["error"] = parse_state(state_text, STATE_FILE)
        checks = [peer["last_check"] for peer in facts["peers"] if peer["last_check"] is not None]
        facts["last_run"] = max(checks) if checks else None
    return facts
