"""ping's own statistics, read from what it really printed (iputils and busybox)."""
from __future__ import annotations

import pytest

import ping_outputs
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.host.ping import parse_ping
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.records import ping_record, ping_records


def test_answered_ping_has_no_loss_and_its_round_trip_times():
    record = ping_record(ping_outputs.registered(ping_outputs.ANSWERED))
    assert record["ok"] is True and record["loss"] == 0.0 and record["error"] is None
    assert (record["transmitted"], record["received"], record["errors"]) == (3, 3, 0)
    assert record["rtt_ms"] == {"min": 0.042, "avg": 0.205, "max": 0.530}
    assert (record["from"], record["to"], record["address"], record["interface"]) == ("client", "server", "10.99.0.1", "wg0")


def test_one_reply_of_three_is_ok_for_ping_but_says_two_thirds_were_lost():
    record = ping_record(ping_outputs.registered(ping_outputs.ONE_OF_THREE))
    assert record["ok"] is True
    assert record["loss"] == pytest.approx(2 / 3, abs=1e-6)


def test_icmp_errors_are_counted_apart_from_the_loss():
    record = ping_record(ping_outputs.registered(ping_outputs.ICMP_ERRORS))
    assert (record["ok"], record["transmitted"], record["received"], record["errors"], record["loss"]) == (False, 3, 0, 3, 1.0)
    assert record["rtt_ms"] is None


def test_a_ping_that_could_not_run_has_no_loss_and_says_why():
    record = ping_record(ping_outputs.registered(ping_outputs.NO_SUCH_DEVICE))
    assert record["ok"] is False and record["loss"] is None and record["transmitted"] is None
    assert record["error"] == "ping: SO_BINDTODEVICE wg9: No such device"


def test_a_ping_without_output_or_stderr_names_its_exit_status():
    result = ping_outputs.registered({"rc": 2, "stdout": "", "stderr": ""})
    assert ping_record(result)["error"] == "ping printed no statistics (exit status 2)"


def test_busybox_ping_is_read_too():
    summary = parse_ping(ping_outputs.BUSYBOX_ANSWERED["stdout"])
    assert summary == {"transmitted": 3, "received": 3, "errors": 0, "loss": 0.0,
                       "rtt_ms": {"min": 0.094, "avg": 0.101, "max": 0.110}}


def test_a_summary_without_a_loss_figure_is_computed_from_the_counts():
    assert parse_ping("4 packets transmitted, 1 received")["loss"] == 0.75


def test_duplicates_and_errors_before_the_loss_are_read():
    summary = parse_ping("5 packets transmitted, 5 received, +1 duplicates, +2 errors, 0% packet loss, time 4005ms")
    assert (summary["received"], summary["errors"], summary["loss"]) == (5, 2, 0.0)


def test_no_statistics_no_summary():
    assert parse_ping("PING 10.99.0.1 (10.99.0.1) 56(84) bytes of data.") is None
    assert parse_ping("") is None


def test_results_without_a_return_code_give_no_record():
    unreachable = {"unreachable": True, "msg": "Failed to connect to the host via ssh", "item": {"from": "client"}}
    skipped = {"skipped": True, "item": {"from": "server"}}
    records = ping_records([unreachable, skipped, ping_outputs.registered(ping_outputs.NO_ANSWER)])
    assert [(r["from"], r["ok"], r["loss"]) for r in records] == [("client", False, 1.0)]
