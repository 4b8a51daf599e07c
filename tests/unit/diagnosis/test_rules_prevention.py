"""Prevention: the monitor's last word on each end of a tunnel, and monitor_missing where nothing watches one that carries traffic."""
from __future__ import annotations

import json

from diagnosis_facts import CLIENT_KEY, HEALTHY_PINGS, NOW, SERVER_KEY, codes, never_handshaken, only, run, runtime_peer

from ansible_collections.wgdoctor.wireguard.plugins.filter.wg_remedies import wg_remedies
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils import report as report_module

NOT_INSTALLED = {"installed": False, "scheduler": None, "active": None, "state_file": "/var/lib/wgdoctor-monitor/state.json",
                 "last_run": None, "peers": [], "error": None}


def installed(peers=(), scheduler="systemd timer", error=None):
    peers = list(peers)
    checks = [peer["last_check"] for peer in peers if peer.get("last_check") is not None]
    return dict(NOT_INSTALLED, installed=True, scheduler=scheduler, active=True if scheduler == "systemd timer" else None,
                peers=peers, error=error, last_run=max(checks) if checks else None)


def peer(public_key, state="down", failures=2, last_check=int(NOW) - 30, interface="wg0"):
    return {"interface": interface, "public_key": public_key, "state": state, "failures": failures, "alerted": state == "down",
            "last_check": last_check, "failing_since": last_check - 60 if failures else None, "reasons": ["ping: no reply"]}


def sides(report):
    (tunnel,) = report["tunnels"]
    return {tunnel["a"]["host"]: tunnel["a"], tunnel["b"]["host"]: tunnel["b"]}


def test_facts_of_an_older_wg_facts_say_nothing_of_a_monitor(facts):
    report = run(facts, pings=HEALTHY_PINGS)
    assert "monitor_missing" not in codes(report)
    assert [side["monitor"] for side in sides(report).values()] == [None, None]


def test_each_end_of_a_tunnel_that_carries_traffic_without_a_monitor_gets_the_suggestion(facts):
    for host in ("client", "server"):
        facts[host]["monitor"] = dict(NOT_INSTALLED)
    report = run(facts, pings=HEALTHY_PINGS)
    found = [f for f in report["findings"] if f["code"] == "monitor_missing"]
    assert sorted(f["host"] for f in found) == ["client", "server"]
    client = [f for f in found if f["host"] == "client"][0]
    assert client["severity"] == "info" and client["interface"] == "wg0" and client["peer"] == SERVER_KEY
    assert "wgdoctor.wireguard.monitor" in client["summary"] and "client/wg0" in client["summary"]
    assert any("latest handshake 12 s ago" in line for line in client["evidence"])
    assert any("no wgdoctor.wireguard.monitor check" in line for line in client["evidence"])
    # Advice only: the report stays healthy and nothing carries a remedy wg_remediate could apply.
    assert report["healthy"] is True
    assert client["remedy"] is None
    assert wg_remedies(report["findings"], "client") == [] and wg_remedies(report["findings"], "server") == []
    assert sides(report)["client"]["monitor"] == {"installed": False, "scheduler": None, "state": None, "failures": None,
                                                  "last_check_age": None, "error": None}


def test_the_monitors_last_state_and_failure_count_are_on_its_side_of_the_tunnel(facts):
    facts["client"]["monitor"] = installed([peer(SERVER_KEY, "down", 3, last_check=int(facts["client"]["clock"]["epoch"]) - 40),
                                            peer("fAWw3gvjP+gQVhxh6KLcEobb+oetIaCb1g+E9Bp2KlA=", "up", 0)])
    facts["server"]["monitor"] = dict(NOT_INSTALLED)
    report = run(facts, pings=HEALTHY_PINGS)
    by_host = sides(report)
    assert by_host["client"]["monitor"] == {"installed": True, "scheduler": "systemd timer", "state": "down", "failures": 3,
                                            "last_check_age": 40, "error": None}
    assert by_host["server"]["monitor"]["installed"] is False
    assert [f["host"] for f in report["findings"] if f["code"] == "monitor_missing"] == ["server"]
    assert only(report, "monitor_missing")["peer"] == CLIENT_KEY


def test_a_monitor_that_has_not_checked_this_peer_yet_has_no_state(facts):
    facts["client"]["monitor"] = installed([peer(SERVER_KEY, interface="wgother")])
    facts["server"]["monitor"] = installed([peer(CLIENT_KEY, "failing", 1)], scheduler="cron")
    report = run(facts, pings=HEALTHY_PINGS)
    assert sides(report)["client"]["monitor"]["state"] is None
    assert sides(report)["server"]["monitor"]["state"] == "failing" and sides(report)["server"]["monitor"]["failures"] == 1
    assert "monitor_missing" not in codes(report)


def test_a_garbage_state_file_shows_as_the_monitors_error(facts):
    error = "/var/lib/wgdoctor-monitor/state.json line 1: not JSON (Expecting value)"
    facts["client"]["monitor"] = installed(error=error)
    facts["server"]["monitor"] = installed([peer(CLIENT_KEY, "up", 0)])
    report = run(facts, pings=HEALTHY_PINGS)
    assert sides(report)["client"]["monitor"]["error"] == error and sides(report)["client"]["monitor"]["state"] is None
    assert "monitor_missing" not in codes(report) and report["healthy"] is True


def test_a_check_nothing_runs_is_no_monitor(facts):
    facts["client"]["monitor"] = installed(scheduler=None)
    facts["server"]["monitor"] = installed()
    finding = only(run(facts, pings=HEALTHY_PINGS), "monitor_missing")
    assert finding["host"] == "client"
    assert any("neither a systemd timer nor cron runs it" in line for line in finding["evidence"])


def test_a_tunnel_that_carries_nothing_gets_no_suggestion(facts):
    never_handshaken(facts)
    for host in ("client", "server"):
        facts[host]["monitor"] = dict(NOT_INSTALLED)
    assert "monitor_missing" not in codes(run(facts))


def test_an_old_handshake_with_bytes_both_ways_still_counts_as_traffic(facts):
    for host in ("client", "server"):
        facts[host]["monitor"] = dict(NOT_INSTALLED)
        runtime_peer(facts, host).update(latest_handshake=int(NOW) - 900, latest_handshake_age=900)
    report = run(facts, pings=HEALTHY_PINGS)
    found = [f for f in report["findings"] if f["code"] == "monitor_missing"]
    assert sorted(f["host"] for f in found) == ["client", "server"]
    assert any("bytes received" in line for line in found[0]["evidence"])


def test_a_malformed_monitor_fact_costs_nothing(facts):
    facts["client"]["monitor"] = "installed"
    facts["server"]["monitor"] = {"installed": "yes"}
    report = run(facts, pings=HEALTHY_PINGS)
    assert report["unchecked"] == [] and "monitor_missing" not in codes(report)
    assert [side["monitor"] for side in sides(report).values()] == [None, None]


def test_the_report_shows_the_monitor_per_end_short(facts):
    facts["client"]["monitor"] = installed([peer(SERVER_KEY, "down", 2, last_check=int(facts["client"]["clock"]["epoch"]) - 40)])
    facts["server"]["monitor"] = dict(NOT_INSTALLED)
    full = report_module.assemble(run(facts, pings=HEALTHY_PINGS))
    console = report_module.render_console(full)
    assert "Monitor on client/wg0: server DOWN, 2 failed checks in a row, last check 40 s before the facts" in console
    assert "Monitor on server/wg0: not installed" in console
    markdown = report_module.render_markdown(full)
    assert "| client/wg0 | server | down | 2 | 40 s ago |" in markdown
    assert "| server/wg0 | client | not installed | - | - |" in markdown
    assert json.loads(report_module.render_json(full))["before"]["tunnels"][0]["a"]["monitor"]["failures"] == 2
