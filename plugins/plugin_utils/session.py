# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""When a WireGuard session counts as up: the one home of the 180-second bound.

The diagnosis (handshake_stale, tunnel_ping_fails, stale_endpoint), the ping plan (ping
only through a live session) and the report's `after` summary all ask the same question.
"""
from __future__ import annotations

import typing as t

# REJECT_AFTER_TIME of the WireGuard whitepaper (section 6.1): a session older than this
# is not used any more, so a handshake this old or older proves no live tunnel.
REJECT_AFTER_TIME = 180


def is_fresh(age: t.Any) -> bool:
    """Did the latest handshake happen less than REJECT_AFTER_TIME seconds ago? None (never) is not fresh."""
    return isinstance(age, (int, float)) and not isinstance(age, bool) and age < REJECT_AFTER_TIME
