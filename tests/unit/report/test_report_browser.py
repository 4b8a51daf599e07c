"""report.html in a real browser (headless Chromium): the DOM it renders shows the blocked hop and the finding,
and a screenshot of each case is kept under tests/output/report-html/ for a person to look at."""
from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.report_html import render_html
from scenarios import SCENARIOS, fleet

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
OUTPUT = os.path.join(REPO, "tests", "output", "report-html")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (scripts/bootstrap.sh installs Debian's chromium)")

# case -> (the hop where the handshake died, the finding shown beside it); None: nothing died.
CASES = {
    "healthy": None,
    "host-firewall": ("responder_firewall", "udp_blocked_host_firewall"),
    "upstream": ("network", "udp_blocked_upstream"),
    "wrong-key": ("wireguard", "peer_public_key_mismatch"),
}


def chromium(tmp_path, *arguments: str) -> subprocess.CompletedProcess:
    # --no-sandbox: CI and the lab run as root in containers, where Chromium's sandbox cannot start.
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
               "--user-data-dir=%s" % (tmp_path / "profile"), "--window-size=1400,1000", *arguments]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)


def write_page(name: str, report) -> str:
    os.makedirs(OUTPUT, exist_ok=True)
    path = os.path.join(OUTPUT, name + ".html")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(render_html(report))
    return path


def hops(dom: str) -> dict[str, str]:
    return dict(re.findall(r'<li class="hop \w+" data-hop="(\w+)" data-status="(\w+)"', dom))


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_browser_shows_where_the_handshake_died_and_why(case, tmp_path):
    page = write_page(case, SCENARIOS[case]())
    dom = chromium(tmp_path, "--dump-dom", "file://" + page).stdout
    assert "<ol class=\"path\">" in dom, dom[:2000]
    shown = hops(dom)
    assert len(shown) == 7
    expected = CASES[case]
    if expected is None:
        assert set(shown.values()) == {"passed"}
        assert "the probe died here" not in dom
        assert re.search(r'<tr class="detail" id="path-0" hidden="?"?>', dom), "a healthy tunnel starts collapsed"
    else:
        hop, code = expected
        assert shown[hop] == "blocked"
        died = re.search(r'<li class="hop blocked" data-hop="%s" data-status="blocked">.*?</li>' % hop, dom, re.S).group(0)
        assert "the probe died here" in died and code in died
        assert 'data-code="%s"' % code in dom, "the finding is beside the path"
        assert re.search(r'<tr class="detail" id="path-0">', dom), "a broken tunnel starts open"
    screenshot = os.path.join(OUTPUT, case + ".png")
    if os.path.exists(screenshot):
        os.unlink(screenshot)
    chromium(tmp_path, "--screenshot=%s" % screenshot, "file://" + page)
    with open(screenshot, "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
    assert os.path.getsize(screenshot) > 20000, "the screenshot is blank"


def test_the_fleet_table_filters_in_the_browser(tmp_path):
    page = write_page("fleet", fleet(50, broken_every=7))
    dom = chromium(tmp_path, "--dump-dom", "file://%s#q=spoke-07" % page).stdout
    rows = re.findall(r'<tr class="tunnel[^"]*" data-status="\w+" data-detail="path-\d+" data-search="([^"]*)"[^>]*?( hidden="?"?)?>', dom)
    assert len(rows) == 50
    visible = [search for search, hidden in rows if not hidden]
    assert len(visible) == 1 and visible[0].startswith("spoke-07/wg-hub")
    chromium(tmp_path, "--screenshot=%s" % os.path.join(OUTPUT, "fleet.png"), "file://" + page)


def test_a_fix_reads_as_a_story_and_both_tables_filter(tmp_path):
    page = write_page("host-firewall-remediated", SCENARIOS["host-firewall-remediated"]())
    dom = chromium(tmp_path, "--dump-dom", "file://" + page).stdout
    story = [dom.index('<section class="story" id="%s">' % part) for part in ("before", "remediation", "after")]
    assert story == sorted(story)
    after = dom[story[2]:]
    assert set(hops(after).values()) == {"passed"} and "wgdoctor.wireguard.firewall" in dom[story[1]:story[2]]
    assert hops(dom[story[0]:story[1]])["responder_firewall"] == "blocked"
    chromium(tmp_path, "--screenshot=%s" % os.path.join(OUTPUT, "host-firewall-remediated.png"), "file://" + page)
    filtered = chromium(tmp_path, "--dump-dom", "file://%s#q=no-such-host" % page).stdout
    assert len(re.findall(r'<tr class="tunnel[^>]*hidden', filtered)) == 2, "the filter hides the rows of both tables"
