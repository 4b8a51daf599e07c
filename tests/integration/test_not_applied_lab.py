"""A saved remedy this run does not confirm is named in report.json with why (issue #11), on the fleet.

The fleet (tests/lab/fleet.py): the hub `corpnet` on UDP 47111 answers six spokes (`wg-corp` / `branch`), two
peers of no inventory host and one runtime-only peer. Two faults: the hub's AllowedIPs for spoke01 miss its
address (remedy: the peer role on the hub) and spoke02 sits behind NAT without PersistentKeepalive (remedy: the
keepalive role on spoke02). diagnose.yml writes the report a person reviews; the review is then edited so the
keepalive remedy asks for another interval than the diagnosis names. remediate.yml with that report applies the
hub's remedy (confirmed) and not spoke02's, and its report.json says so: `remediation.not_applied` names
spoke02's finding (host, code, interface, peer, role) with the reason, report.md and report.html list it under
"Not applied", and the console keeps its line.
"""
from __future__ import annotations

import json
import os
import time

import jsonschema

from conftest import REPO
from test_fault_matrix import REMEDIATE
from test_fleet_lab import Fleet, fleet, fleet_lab  # noqa: F401  pylint: disable=unused-import

KEEPALIVE_SPOKE = fleet.NAT_SPOKE      # spoke02: behind NAT, PersistentKeepalive removed
NARROWED_SPOKE = "spoke01"             # the hub's AllowedIPs for it miss its address
WRONG_ALLOWED = f"{fleet.TUNNEL4}.99/32"
REVIEWED_INTERVAL = 17                 # what the edited review asks for; the diagnosis names another


def inject(the_fleet: Fleet) -> None:
    interface = the_fleet.interface(KEEPALIVE_SPOKE)
    the_fleet.sh(KEEPALIVE_SPOKE, f"sed -i '/^PersistentKeepalive/d' {the_fleet.config(KEEPALIVE_SPOKE)} && "
                                  f"wg set {interface} peer $(wg show {interface} peers) persistent-keepalive 0")
    narrowed_key = the_fleet.public_key(NARROWED_SPOKE)
    # A key's characters (A-Za-z0-9+/=) are all literal in a basic regular expression; % delimits it.
    the_fleet.sh(fleet.HUB, f"sed -i '\\%^PublicKey = {narrowed_key}$%{{n;s|^AllowedIPs = .*|AllowedIPs = {WRONG_ALLOWED}|}}' "
                            f"{the_fleet.config(fleet.HUB)} && grep -q '^AllowedIPs = {WRONG_ALLOWED}$' {the_fleet.config(fleet.HUB)} && "
                            f"wg set {fleet.HUB_INTERFACE} peer {narrowed_key} allowed-ips {WRONG_ALLOWED}")


def _one(findings: list[dict], code: str, host: str) -> dict:
    found = [f for f in findings if f["code"] == code and f["host"] == host]
    assert len(found) == 1, [(f["code"], f["host"]) for f in findings]
    return found[0]


def test_a_saved_remedy_this_run_does_not_confirm_is_named_in_the_report_with_why(fleet_lab, tmp_path):
    the_fleet = fleet_lab
    started = time.monotonic()
    inject(the_fleet)

    (tmp_path / "review").mkdir()
    # The review is only the input of remediate.yml, which diagnoses again (probes and all) before it applies
    # anything: both remedies come from the facts, so the review is made without the probes and pings.
    # Should the fresh run find a remedy the review lacks, it would be named as unreviewed, and the
    # not_applied list below would say so.
    reviewed = the_fleet.diagnose(tmp_path / "review", "--skip-tags", "probe")
    keepalive = _one(reviewed["before"]["findings"], "nat_without_keepalive", KEEPALIVE_SPOKE)
    narrowed = _one(reviewed["before"]["findings"], "allowed_ips_missing_peer_address", fleet.HUB)
    assert keepalive["remedy"]["role"] == "wgdoctor.wireguard.keepalive" and narrowed["remedy"]["role"] == "wgdoctor.wireguard.peer"
    assert keepalive["remedy"]["vars"]["keepalive_interval"] != REVIEWED_INTERVAL
    keepalive["remedy"]["vars"]["keepalive_interval"] = REVIEWED_INTERVAL
    (tmp_path / "reviewed.json").write_text(json.dumps(reviewed))
    print(f"\n[not-applied] reviewed report after {time.monotonic() - started:.0f} s")

    report_dir = tmp_path / "run" / "wg-report"
    (tmp_path / "run").mkdir()
    run = the_fleet.playbook(REMEDIATE, "-e", f"wg_apply_report={tmp_path}/reviewed.json", "-e", f"wg_report_dir={report_dir}",
                             cwd=str(tmp_path / "run"))
    print(f"[not-applied] remediate.yml done after {time.monotonic() - started:.0f} s")
    report = json.loads((report_dir / "report.json").read_text())
    with open(os.path.join(REPO, "plugins", "plugin_utils", "report_schema.json"), encoding="utf-8") as schema:
        jsonschema.validate(report, json.load(schema))

    # report.json: spoke02's remedy is named, with where it is and why, and it did not run; the hub's did.
    remediation = report["remediation"]
    named = [n for n in remediation["not_applied"] if n["why"] != "needs_a_person"]
    assert named == [{"host": KEEPALIVE_SPOKE, "code": "nat_without_keepalive", "interface": the_fleet.interface(KEEPALIVE_SPOKE),
                      "peer": the_fleet.public_key(fleet.HUB), "role": "wgdoctor.wireguard.keepalive", "why": "differs",
                      "reason": "this run would fix it otherwise (keepalive_interval differs)"}], remediation["not_applied"]
    assert not [r for r in remediation["remedies"] if r["host"] == KEEPALIVE_SPOKE], remediation["remedies"]
    assert [(r["host"], r["role"], r["failed"]) for r in remediation["remedies"] if r["role"] == "wgdoctor.wireguard.peer"] == \
        [(fleet.HUB, "wgdoctor.wireguard.peer", False)], remediation["remedies"]
    remaining = {(f["code"], f["host"]) for f in report["after"]["findings"]}
    assert ("allowed_ips_missing_peer_address", fleet.HUB) not in remaining, sorted(remaining)
    assert ("nat_without_keepalive", KEEPALIVE_SPOKE) in remaining, sorted(remaining)
    assert "PersistentKeepalive" not in the_fleet.sh(KEEPALIVE_SPOKE, f"cat {the_fleet.config(KEEPALIVE_SPOKE)}").stdout

    # report.md and report.html list it as not applied, with the reason; the console keeps its line.
    markdown = (report_dir / "report.md").read_text()
    listed = markdown.split("### Not applied", 1)[1].split("## 3.", 1)[0]
    assert f"`nat_without_keepalive` on {KEEPALIVE_SPOKE} ({the_fleet.interface(KEEPALIVE_SPOKE)})" in listed, listed
    assert "keepalive_interval differs" in listed, listed
    page = (report_dir / "report.html").read_text()
    listed = page.split('id="not-applied"', 1)[1].split("</ul>", 1)[0]
    assert "nat_without_keepalive" in listed and KEEPALIVE_SPOKE in listed and "keepalive_interval differs" in listed, listed
    console = " ".join(run.stdout.split())
    assert f"nat_without_keepalive on {KEEPALIVE_SPOKE}" in console and "not applied, this run would fix it otherwise" in console
    assert "Not applied: nat_without_keepalive on %s" % KEEPALIVE_SPOKE in console
    print(f"[not-applied] {time.monotonic() - started:.0f} s")
