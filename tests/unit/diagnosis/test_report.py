"""The report a person reads: console, Markdown, JSON; the CI threshold; no secret ever in it."""
from __future__ import annotations

import json

import pytest

from ansible_collections.wgdoctor.wireguard.plugins.filter.wg_diagnose import (
    FilterModule, wg_diagnose, wg_report_count,
)
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.report import (
    SecretLeakError, assemble, assert_no_secrets, count_at_or_above, render_console, render_json, render_markdown,
)
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.report_html import render_html, render_junit
from diagnosis_facts import (
    HEALTHY_PINGS, NOW, STRANGER_KEY, codes, config_peer, healthy_facts, never_handshaken, probe, run, runtime_peer, wg0,
)
from ansible.errors import AnsibleFilterError

# The private keys behind SERVER_KEY and CLIENT_KEY, and a preshared key: none may ever be printed.
SECRETS = ["uLDyUUcYYOLd6eoJ1vYxyuylLCBg0BYTyBB/b1lkpH0=", "0KOqRlFy8d51rBvJBaEBHzqArFEWcIvvT/O3ZxIFVlo=",
           "yC36gpw2nURqD6dKHNVw+CBsIDg8QQt4Y/XrGajYt3A="]


def three_faults(facts):
    """The README demo: drop rule on the server, wrong server key on the client, NATed client without keepalive."""
    wg0(facts, "server")["firewall"]["input"] = {
        "verdict": "drop", "backend": "iptables-nft", "table": "filter", "chain": "INPUT",
        "rule": "-A INPUT -p udp -m udp --dport 51820 -j DROP", "counter": 4}
    for peer in (config_peer(facts, "client"), runtime_peer(facts, "client")):
        peer["public_key"] = STRANGER_KEY
    never_handshaken(facts)
    facts["client"]["addresses"][0]["address"] = "192.168.1.20"
    facts["server"]["addresses"][0]["address"] = "93.184.216.34"
    for peer in (config_peer(facts, "client"), runtime_peer(facts, "client")):
        peer["endpoint"].update(raw="93.184.216.34:51820", host="93.184.216.34")
    config_peer(facts, "client")["endpoint"]["resolved"] = ["93.184.216.34"]
    return facts


def broken_report(facts):
    broken_probe = probe("timeout", arrived=4)
    broken_probe["target"]["host"] = "93.184.216.34"
    return run(three_faults(facts), probes=[broken_probe])


def test_three_faults_at_once_are_all_named_root_causes_first(facts):
    report = broken_report(facts)
    assert codes(report) == ["peer_public_key_mismatch", "udp_blocked_host_firewall", "handshake_never",
                             "nat_without_keepalive"]
    assert report["findings"][2]["follows_from"] == ["peer_public_key_mismatch", "udp_blocked_host_firewall"]


def test_console_says_plainly_not_healthy_and_lists_remedies(facts):
    text = render_console(broken_report(facts), width=100)
    lines = text.splitlines()
    assert lines[0].endswith("NOT HEALTHY: 3 critical, 1 warning")
    assert lines[3].startswith("CRITICAL peer_public_key_mismatch  client client/wg0 holds the wrong public key")
    # The remedy carries what the diagnosis proved (backend, uplink) beside the interface and port.
    assert "  server: wgdoctor.wireguard.firewall firewall_backend=iptables firewall_forward_uplinks=[eth0]" in lines
    assert "      firewall_interface=wg0 firewall_port=51820" in lines
    # Whole public keys, so that a person can copy them into a config.
    assert any(line.startswith("  client: wgdoctor.wireguard.peer peer_interface=wg0")
               for line in lines)
    assert "      peer_new_public_key=LmOC49ERWH20JwAk2V728zGNaWK3VFdEEGbro1QkTEA=" in text
    assert all(len(line) <= 100 for line in lines), [line for line in lines if len(line) > 100]


def test_console_of_a_healthy_tunnel_is_one_plain_verdict(facts):
    text = render_console(run(facts, pings=HEALTHY_PINGS))
    assert text.splitlines()[0].endswith("HEALTHY: no findings")
    assert "NOT HEALTHY" not in text


def test_console_wraps_to_a_narrow_terminal_without_splitting_a_key(facts):
    lines = render_console(broken_report(facts), width=60).splitlines()
    # A key is never split across lines: a line holding nothing but one name=key may be wider.
    too_wide = [line for line in lines[2:] if len(line) > 60 and len(line.split()) > 1]
    assert too_wide == []
    assert "      keepalive_peer=LmOC49ERWH20JwAk2V728zGNaWK3VFdEEGbro1QkTEA=" in lines


def test_markdown_carries_evidence_and_fix(facts):
    text = render_markdown(broken_report(facts))
    assert "### 1. `peer_public_key_mismatch` (critical) on client" in text
    assert "- `iptables-nft: filter/INPUT verdict drop by rule '-A INPUT -p udp -m udp --dport 51820 -j DROP' (counter 4 packets)`" in text
    assert "Follows from: `peer_public_key_mismatch`, `udp_blocked_host_firewall`" in text
    assert "| client/wg0 (NZbhLh18…) | server/wg0 (LmOC49ER…) | endpoint | client | server | never |" in text
    assert ("Fix: `client: wgdoctor.wireguard.peer peer_interface=wg0 peer_new_public_key=LmOC49ERWH20JwAk2V728zGNaWK3VFdEEGbro1QkTEA="
            " peer_public_key=fAWw3gvjP+gQVhxh6KLcEobb+oetIaCb1g+E9Bp2KlA=`") in text


def test_json_round_trips(facts):
    report = broken_report(facts)
    assert json.loads(render_json(report)) == report


def test_fail_on_counts_what_remains(facts):
    report = broken_report(facts)
    assert count_at_or_above(report, "critical") == 3
    assert count_at_or_above(report, "warning") == 4
    # A schema 1 report.json (an older run's) is still read: its `after` is what remains.
    report["after"] = {"healthy": True, "findings": [], "handshake": {}, "ping": {}}
    assert count_at_or_above(report, "info") == 0
    fixed = assemble(broken_report(facts), [], run(healthy_facts(), pings=HEALTHY_PINGS))
    assert count_at_or_above(fixed, "info") == 0 and fixed["healthy"] is True
    assert wg_report_count(fixed, "critical") == 0
    with pytest.raises(ValueError):
        count_at_or_above(report, "fatal")


def test_no_secret_in_any_rendering(facts):
    report = broken_report(facts)
    remediated = assemble(report, [{"host": "client", "role": "wgdoctor.wireguard.peer", "vars": {"peer_preshared_key": SECRETS[2]},
                                    "changed": None, "failed": True, "task": "Set", "error": "wg set said " + SECRETS[1]}],
                          run(healthy_facts()))
    for shown in (report, remediated):
        for text in (render_json(shown), render_markdown(shown), render_console(shown), render_html(shown), render_junit(shown)):
            assert_no_secrets(text, SECRETS)
    assert remediated["remediation"]["remedies"][0]["vars"] == {"peer_preshared_key": "(redacted)"}


def test_secret_guard_refuses_a_leak_without_repeating_it():
    leaked = "PrivateKey = %s\n" % SECRETS[1]
    with pytest.raises(SecretLeakError) as caught:
        assert_no_secrets(leaked, SECRETS)
    assert SECRETS[1] not in str(caught.value)
    assert str(caught.value) == "text contains secret #2 of 3"
    with pytest.raises(SecretLeakError):
        assert_no_secrets("short: %s" % SECRETS[0][:8] + "…", SECRETS)


def test_filter_reads_facts_from_hostvars_and_flags_hosts_without_them(facts):
    hostvars = {"server": {"ansible_facts": {"wireguard": facts["server"]}, "ansible_host": "198.51.100.10"},
                "client": {"ansible_facts": {}}}
    report = wg_diagnose(hostvars, [], [], None, NOW)
    finding = report["findings"][0]
    assert (finding["code"], finding["host"]) == ("host_unreachable", "client")
    assert "wg_facts did not run or failed" in finding["evidence"][0]
    assert wg_report_count(report, "critical") >= 1


def test_filter_rejects_garbage_with_a_clear_message():
    with pytest.raises(AnsibleFilterError, match="must map inventory hostnames"):
        wg_diagnose(["server"])
    with pytest.raises(AnsibleFilterError, match="input must be a report"):
        FilterModule().filters()["wg_report_console"]({"schema": 1})
    with pytest.raises(AnsibleFilterError, match="input must be a report"):
        FilterModule().filters()["wg_report_console"]({"schema": 2, "before": "garbage"})


def test_remedies_after_a_key_fix_name_the_entry_by_its_corrected_key(facts):
    from diagnosis_facts import SERVER_KEY
    report = broken_report(facts)
    keepalive = [f for f in report["findings"] if f["code"] == "nat_without_keepalive"][0]
    assert keepalive["remedy"]["vars"]["keepalive_peer"] == SERVER_KEY


def test_malformed_facts_cost_a_check_not_the_report(facts):
    facts["client"]["interfaces"]["wg0"]["config"]["peers"][0]["allowed_ips"] = 42
    facts["laptop"] = "garbage"
    report = run(facts)
    assert only_code(report, "host_unreachable")["host"] == "laptop"
    # AllowedIPs = 42 is no AllowedIPs at all: said as such, not a crash.
    assert only_code(report, "allowed_ips_missing_peer_address")["evidence"][0] == \
        "client: wg0 peer LmOC49ER… AllowedIPs = (none)"
    render_console(report)
    render_markdown(report)


def only_code(report, code):
    return [f for f in report["findings"] if f["code"] == code][0]
