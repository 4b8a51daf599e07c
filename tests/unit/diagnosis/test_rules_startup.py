"""Why wg-quick does not start (issue #16): the cause is named, and interface_down follows from it."""
from __future__ import annotations

from diagnosis_facts import CLIENT_KEY, SERVER_KEY, codes, config_peer, never_handshaken, not_started, only, run, wg0

JOURNAL_PORT = [
    "Nov 29 07:58:56 server systemd[1]: Starting wg-quick@wg0.service - WireGuard via wg-quick(8) for wg0...",
    "Nov 29 07:58:56 server wg-quick[175]: [#] wg setconf wg0 /dev/fd/63",
    "Nov 29 07:58:56 server wg-quick[190]: Unable to modify interface: Address already in use",
    "Nov 29 07:58:56 server wg-quick[175]: [#] ip link delete dev wg0",
    "Nov 29 07:58:59 server systemd[1]: Failed to start wg-quick@wg0.service - WireGuard via wg-quick(8) for wg0.",
]
PYTHON_ON_THE_PORT = [{"address": "0.0.0.0", "process": "python3", "pid": 170, "wireguard_interface": None}]


def critical(report):
    return [f["code"] for f in report["findings"] if f["severity"] == "critical"]


def test_dns_line_without_resolvconf_is_the_root_cause_and_names_the_line(facts):
    not_started(facts, "server", dns_lines=[{"line": 4, "text": "DNS = 10.99.0.53"}], resolvconf=None,
                log_lines=["Nov 29 server wg-quick[142]: /usr/bin/wg-quick: line 32: resolvconf: command not found"])
    report = run(facts, probes=[])
    assert critical(report)[0] == "dns_without_resolvconf"
    finding = only(report, "dns_without_resolvconf")
    assert finding["host"] == "server" and finding["interface"] == "wg0" and finding["remedy"] is None
    assert finding["evidence"][0] == "/etc/wireguard/wg0.conf:4: DNS = 10.99.0.53"
    assert "no resolvconf on PATH" in finding["evidence"][1]
    assert finding["evidence"][2] == "server: resolvectl: not found either"
    assert finding["evidence"][-1].endswith("resolvconf: command not found")
    assert "openresolv" in finding["summary"] and "remove the DNS line" in finding["summary"]


def test_interface_down_follows_from_the_start_failure_and_has_no_remedy_that_would_fail_again(facts):
    not_started(facts, "server", dns_lines=[{"line": 4, "text": "DNS = 10.99.0.53"}], resolvconf=None)
    down = only(run(facts, probes=[]), "interface_down")
    assert down["follows_from"] == ["dns_without_resolvconf"]
    assert down["remedy"] is None
    assert "dns_without_resolvconf" in down["summary"]


def test_handshake_never_follows_from_the_start_failure(facts):
    never_handshaken(facts)
    not_started(facts, "server", port_holders=PYTHON_ON_THE_PORT)
    assert "listen_port_in_use" in only(run(facts, probes=[]), "handshake_never")["follows_from"]


def test_resolvectl_without_a_resolvconf_link_still_fails_and_says_so(facts):
    not_started(facts, "server", dns_lines=[{"line": 4, "text": "DNS = 10.99.0.53"}], resolvconf=None,
                resolvectl="/usr/bin/resolvectl")
    finding = only(run(facts, probes=[]), "dns_without_resolvconf")
    assert "/usr/bin/resolvectl (systemd-resolved acts as resolvconf" in finding["evidence"][2]


def test_dns_line_with_resolvconf_installed_is_no_finding(facts):
    not_started(facts, "server", dns_lines=[{"line": 4, "text": "DNS = 10.99.0.53"}], active="inactive")
    assert "dns_without_resolvconf" not in codes(run(facts, probes=[]))


def test_dns_line_on_a_running_interface_is_no_finding(facts):
    wg0(facts, "server")["start"] = {"dns_lines": [{"line": 4, "text": "DNS = 10.99.0.53"}], "resolvconf": None,
                                     "resolvectl": None, "port_holders": [], "log": None}
    assert "dns_without_resolvconf" not in codes(run(facts, probes=[]))


def test_a_process_on_the_listen_port_is_named_with_its_pid(facts):
    not_started(facts, "server", port_holders=PYTHON_ON_THE_PORT, log_lines=JOURNAL_PORT)
    report = run(facts, probes=[])
    assert critical(report)[0] == "listen_port_in_use"
    finding = only(report, "listen_port_in_use")
    assert finding["evidence"][0] == "server: ss -uanp: UDP 0.0.0.0:51820 held by python3 (pid 170)"
    assert finding["evidence"][-1].endswith("Unable to modify interface: Address already in use")
    assert "python3" in finding["summary"] and "another ListenPort" in finding["summary"]
    assert finding["remedy"] is None
    assert "interface_start_failed" not in codes(report)
    assert "port_not_listening" not in codes(report)


def test_another_wireguard_interface_on_the_port_is_named(facts):
    not_started(facts, "server", port_holders=[
        {"address": "::", "process": "wireguard-go", "pid": 17, "wireguard_interface": "wg3"}])
    finding = only(run(facts, probes=[]), "listen_port_in_use")
    assert "wireguard-go serving WireGuard interface wg3 (pid 17)" in finding["evidence"][0]
    assert "WireGuard interface wg3" in finding["summary"]


def test_its_own_daemon_still_stopping_does_not_hold_the_port(facts):
    not_started(facts, "server", active="inactive", port_holders=[
        {"address": "0.0.0.0", "process": "wireguard-go", "pid": 17, "wireguard_interface": "wg0"}])
    report = run(facts, probes=[])
    assert "listen_port_in_use" not in codes(report)
    assert only(report, "interface_down")["remedy"] is not None  # a plain stop: starting it is the fix


def test_a_stopped_unit_is_interface_down_alone_with_its_remedy(facts):
    not_started(facts, "server", active="inactive", log_lines=JOURNAL_PORT)
    report = run(facts, probes=[])
    assert not set(codes(report)) & {"dns_without_resolvconf", "listen_port_in_use", "start_endpoint_unresolvable",
                                     "interface_start_failed"}
    down = only(report, "interface_down")
    assert "follows_from" not in down
    assert down["remedy"]["role"] == "wgdoctor.wireguard.service"


def test_an_unresolvable_name_fails_wg_quick_up_as_a_whole(facts):
    never_handshaken(facts)
    not_started(facts, "client", log_lines=[
        "Nov 29 client wg-quick[238]: Name or service not known: `nosuchhost.example.test:51820'"])
    config_peer(facts, "client")["endpoint"] = {
        "raw": "nosuchhost.example.test:51820", "host": "nosuchhost.example.test", "port": 51820,
        "is_hostname": True, "resolved": [], "resolve_error": "Name or service not known"}
    report = run(facts, probes=[])
    finding = only(report, "start_endpoint_unresolvable")
    assert finding["host"] == "client" and finding["peer"] == SERVER_KEY
    assert "as a whole" in finding["summary"] and "fails" in finding["summary"]
    assert finding["evidence"][0] == ("client: [Peer] at /etc/wireguard/wg0.conf:6 (LmOC49ER…): "
                                      "Endpoint = nosuchhost.example.test:51820: Name or service not known")
    assert "Name or service not known: `nosuchhost" in finding["evidence"][1]
    assert only(report, "interface_down")["follows_from"] == ["start_endpoint_unresolvable"]
    assert "start_endpoint_unresolvable" in only(report, "handshake_never")["follows_from"]
    assert "interface_start_failed" not in codes(report)


def test_a_name_retried_for_ever_leaves_the_link_down_with_the_unit_activating(facts):
    not_started(facts, "client", active="activating")
    wg0(facts, "client")["runtime"] = {"up": False, "public_key": CLIENT_KEY, "has_private_key": True,
                                       "listen_port": 50566, "fwmark": None, "peers": []}
    config_peer(facts, "client")["endpoint"] = {
        "raw": "vpn.example.test:51820", "host": "vpn.example.test", "port": 51820,
        "is_hostname": True, "resolved": None, "resolve_error": "no answer within 3 s"}
    finding = only(run(facts, probes=[]), "start_endpoint_unresolvable")
    assert "hangs" in finding["summary"]
    assert "still activating" in finding["evidence"][-1]


def test_a_name_never_looked_up_is_not_claimed(facts):
    not_started(facts, "client", active="inactive")
    config_peer(facts, "client")["endpoint"] = {
        "raw": "vpn.example.test:51820", "host": "vpn.example.test", "port": 51820,
        "is_hostname": True, "resolved": None, "resolve_error": None}
    assert "start_endpoint_unresolvable" not in codes(run(facts, probes=[]))


def test_a_link_set_down_by_hand_is_no_failed_start(facts):
    wg0(facts, "server")["runtime"]["up"] = False
    wg0(facts, "server")["start"] = {"dns_lines": [{"line": 4, "text": "DNS = 10.0.0.1"}], "resolvconf": None,
                                     "resolvectl": None, "port_holders": PYTHON_ON_THE_PORT, "log": None}
    report = run(facts, probes=[])
    assert "interface_down" in codes(report)
    assert not set(codes(report)) & {"dns_without_resolvconf", "listen_port_in_use", "interface_start_failed"}


def test_any_other_failure_quotes_the_journal(facts):
    lines = ["Nov 29 server systemd[1]: Starting wg-quick@wg0.service - WireGuard via wg-quick(8) for wg0...",
             "Nov 29 server wg-quick[287]: [#] false",
             "Nov 29 server wg-quick[287]: [#] ip link delete dev wg0",
             "Nov 29 server systemd[1]: Failed to start wg-quick@wg0.service - WireGuard via wg-quick(8) for wg0."]
    not_started(facts, "server", log_lines=lines)
    report = run(facts, probes=[])
    assert critical(report)[0] == "interface_start_failed"
    finding = only(report, "interface_start_failed")
    assert finding["evidence"][:2] == ["unit wg-quick@wg0: failed",
                                       "server: journalctl -u wg-quick@wg0 -n 200 --no-pager (last 4 lines, keys redacted):"]
    assert finding["evidence"][2:] == lines
    assert only(report, "interface_down")["follows_from"] == ["interface_start_failed"]


def test_twenty_journal_lines_are_all_kept(facts):
    not_started(facts, "server", log_lines=["line %d" % n for n in range(20)])
    assert len(only(run(facts, probes=[]), "interface_start_failed")["evidence"]) == 22


def test_without_systemd_a_failed_dry_run_is_the_evidence(facts):
    not_started(facts, "server", log={"source": "wg-quick strip /etc/wireguard/wg0.conf", "rc": 1,
                                      "lines": ["wg-quick: `/etc/wireguard/wg0.conf' does not exist"]})
    wg0(facts, "server")["unit"] = None
    finding = only(run(facts, probes=[]), "interface_start_failed")
    assert "dry run" in finding["summary"]
    assert finding["evidence"] == ["server: wg-quick strip /etc/wireguard/wg0.conf (last 1 lines, keys redacted):",
                                   "wg-quick: `/etc/wireguard/wg0.conf' does not exist"]


def test_without_systemd_a_clean_dry_run_claims_nothing(facts):
    not_started(facts, "server", log={"source": "wg-quick strip /etc/wireguard/wg0.conf", "rc": 0, "lines": []})
    wg0(facts, "server")["unit"] = None
    report = run(facts, probes=[])
    assert "interface_start_failed" not in codes(report) and "interface_down" in codes(report)


def test_a_config_that_does_not_parse_explains_the_failed_start(facts):
    not_started(facts, "server", log_lines=["Nov 29 server wg-quick[1]: Line unrecognized: `ListenPrt=51820'"])
    wg0(facts, "server")["config"]["parse_errors"] = [
        {"file": "/etc/wireguard/wg0.conf", "line": 3, "reason": "unknown key ListenPrt"}]
    report = run(facts, probes=[])
    assert "interface_start_failed" not in codes(report)
    down = only(report, "interface_down")
    assert down["follows_from"] == ["config_invalid"]
    assert down["remedy"] is not None  # unchanged: wg may still accept what the parser flags


def test_a_unit_failed_by_its_stop_timeout_after_a_good_start_is_no_failed_start(facts):
    """wireguard-go outlives TimeoutStopSec: `systemctl stop` leaves the unit `failed` (seen in the lab)."""
    not_started(facts, "server", log={"source": "journalctl -u wg-quick@wg0 -n 200 --no-pager", "rc": 0,
                                      "outcome": "started", "lines": ["... Failed with result 'timeout'."]})
    report = run(facts, probes=[])
    assert "interface_start_failed" not in codes(report)
    assert only(report, "interface_down")["remedy"]["role"] == "wgdoctor.wireguard.service"


def test_a_start_still_running_with_the_link_down_quotes_the_journal(facts):
    not_started(facts, "server", active="activating", log_lines=["Nov 29 server wg-quick[1]: [#] sleep 600"])
    assert only(run(facts, probes=[]), "interface_start_failed")["evidence"][-1].endswith("[#] sleep 600")


def test_facts_of_an_older_wg_facts_without_start_claim_no_failed_start(facts):
    wg0(facts, "server")["runtime"] = None
    wg0(facts, "server")["unit"]["active"] = "failed"
    report = run(facts, probes=[])
    assert report["unchecked"] == []
    assert "interface_start_failed" not in codes(report) and "interface_down" in codes(report)
