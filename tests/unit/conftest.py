"""Make the repo importable as ansible_collections.wgdoctor.wireguard.

The repo root is the collection root, so unit tests reach the code through a
symlinked collection tree under .cache/ instead of requiring a copy.
"""
from __future__ import annotations

import os
import re
import sys
import typing as t

import pytest

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
COLLECTIONS_ROOT = os.path.join(REPO_ROOT, ".cache", "collections")


def _link_collection() -> None:
    namespace_dir = os.path.join(COLLECTIONS_ROOT, "ansible_collections", "wgdoctor")
    link = os.path.join(namespace_dir, "wireguard")
    os.makedirs(namespace_dir, exist_ok=True)
    if not os.path.islink(link):
        try:
            os.symlink(REPO_ROOT, link)
        except FileExistsError:
            pass
    if COLLECTIONS_ROOT not in sys.path:
        sys.path.insert(0, COLLECTIONS_ROOT)


# ansible-test runs units from a real ansible_collections/ tree already.
if "ansible_collections.wgdoctor.wireguard" not in sys.modules and \
        os.sep + os.path.join("ansible_collections", "wgdoctor", "wireguard") not in REPO_ROOT:
    _link_collection()


# Skip policy: a test that skips itself hides a missing tool (wg, tcpdump, nft) or privilege, and the
# run still looks green. Every skip must carry a reason listed in expected-skips.txt (one regular
# expression per line, matched against the reason); any other skip fails the run.
EXPECTED_SKIPS_FILE = os.path.join(os.path.dirname(__file__), "expected-skips.txt")
_unexpected_skips: list[str] = []


def _expected_skip_reasons() -> list[re.Pattern[str]]:
    """The reasons of expected-skips.txt that hold on this Python ("python<3.12 REGEX" only below 3.12)."""
    with open(EXPECTED_SKIPS_FILE, encoding="utf-8") as handle:
        lines = [line.strip() for line in handle]
    patterns = []
    for line in lines:
        if not line or line.startswith("#"):
            continue
        condition = re.match(r"python<(\d+)\.(\d+)\s+", line)
        if condition:
            if sys.version_info[:2] >= (int(condition.group(1)), int(condition.group(2))):
                continue
            line = line[condition.end():]
        patterns.append(re.compile(line))
    return patterns


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if not report.skipped or hasattr(report, "wasxfail"):
        return
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    reason = reason[len("Skipped: "):] if reason.startswith("Skipped: ") else reason
    if not any(pattern.search(reason) for pattern in _expected_skip_reasons()):
        _unexpected_skips.append("%s: %s" % (report.nodeid, reason))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _unexpected_skips and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: t.Any) -> None:
    if _unexpected_skips:
        terminalreporter.section("skipped without an expected reason (tests/unit/expected-skips.txt)", red=True)
        for line in _unexpected_skips:
            terminalreporter.line(line)
        terminalreporter.line("install what the test needs (scripts/bootstrap.sh) or, when the skip is legitimate "
                              "on some machines, list its reason in tests/unit/expected-skips.txt")
