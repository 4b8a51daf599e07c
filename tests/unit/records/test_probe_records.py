"""Probe records: each probe joined with the capture of the same plan item on its responder."""
from __future__ import annotations

from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.records import probe_records

PLAN = {"initiator": "client", "initiator_interface": "wgc", "responder": "server", "interface": "wgs",
        "peer": "LmOC49ERWH20JwAk2V728zGNaWK3VFdEEGbro1QkTEA=", "listen_port": 41194,
        "target": {"host": "198.51.100.10", "port": 41194}}


def sent(outcome="ok", **extra):
    result = {"item": PLAN, "outcome": outcome, "rtt_ms": 0.8 if outcome == "ok" else None, "attempts": 1,
              "local_port": 50000, "changed": False}
    result.update(extra)
    return result


def heard(*initiations):
    return {"item": {"item": PLAN}, "finished": 1, "initiations": list(initiations)}


def test_a_probe_counts_the_initiations_from_its_own_source_port():
    records = probe_records([sent()], [heard({"source_port": 50000, "count": 2}, {"source_port": 40000, "count": 7})])
    assert records == [{
        "initiator": "client", "responder": "server", "interface": "wgs", "peer": PLAN["peer"],
        "target": PLAN["target"], "vantage": "client", "outcome": "ok", "rtt_ms": 0.8, "attempts": 1,
        "arrived": 2, "error": None}]


def test_without_its_port_in_the_capture_every_initiation_counts():
    records = probe_records([sent("timeout")], [heard({"source_port": 40000, "count": 3}, {"source_port": 40001, "count": 1})])
    assert records[0]["arrived"] == 4 and records[0]["outcome"] == "timeout"


def test_an_empty_capture_is_zero_arrived_and_no_capture_is_unknown():
    assert probe_records([sent("timeout")], [heard()])[0]["arrived"] == 0
    skipped_listener = {"item": {"item": PLAN}, "skipped": True}
    assert probe_records([sent("timeout")], [skipped_listener])[0]["arrived"] is None
    assert probe_records([sent("timeout")], [])[0]["arrived"] is None


def test_a_probe_that_did_not_run_is_an_error_with_the_reason():
    failed = {"item": PLAN, "failed": True, "msg": "Failed to connect to the host via ssh", "unreachable": True}
    record = probe_records([failed], [heard()])[0]
    assert (record["outcome"], record["error"], record["rtt_ms"], record["attempts"]) == (
        "error", "Failed to connect to the host via ssh", None, None)
    assert probe_records([{"item": PLAN}])[0]["error"] == "probe did not run"


def test_controller_probes_that_ran_follow_with_their_vantage():
    skipped = {"item": PLAN, "skipped": True}
    records = probe_records([sent()], [heard()], [sent("ok", local_port=60000), skipped])
    assert [(r["vantage"], r["arrived"]) for r in records] == [("client", 0), ("controller", None)]


# ---- one capture per responder port, serving every probe aimed at it (issue 10) ------------------

SECOND = dict(PLAN, initiator="client2", initiator_interface="wgc2")


def listener(*initiations, stopped="signal", port=41194):
    """What the per-responder listener of the parallel pass registered: one capture per (responder, port)."""
    return {"item": {"item": {"responder": "server", "port": port}}, "finished": 1, "stopped": stopped,
            "initiations": list(initiations)}


def test_one_capture_serves_every_probe_to_its_port_by_the_probe_sender_index():
    # Both initiators are NATed: their source ports are rewritten, only the sender index survives.
    capture = listener({"source_port": 61000, "count": 1, "sender_index": 11},
                       {"source_port": 61001, "count": 3, "sender_index": 22})
    records = probe_records([sent("ok", sender_index=11), dict(sent("timeout", sender_index=22), item=SECOND)], [capture])
    assert [(r["initiator"], r["outcome"], r["arrived"]) for r in records] == [("client", "ok", 1), ("client2", "timeout", 3)]


def test_a_probe_whose_initiations_are_not_in_the_capture_arrived_zero_only_when_the_capture_covered_it():
    other = {"source_port": 61001, "count": 3, "sender_index": 22}
    covered = probe_records([sent("timeout", sender_index=11)], [listener(other)])
    assert covered[0]["arrived"] == 0
    # The capture ran out before the probe was done: that is not evidence that nothing arrived.
    ended_early = probe_records([sent("timeout", sender_index=11)], [listener(other, stopped="deadline")])
    assert ended_early[0]["arrived"] is None
    seen_before_the_end = probe_records([sent("timeout", sender_index=22)], [listener(other, stopped="deadline")])
    assert seen_before_the_end[0]["arrived"] == 3


def test_a_capture_on_another_port_of_the_responder_is_not_this_probe_s():
    records = probe_records([sent("timeout", sender_index=11)],
                            [listener({"source_port": 61000, "count": 2, "sender_index": 11}, port=41195)])
    assert records[0]["arrived"] is None


def test_a_planned_probe_whose_initiator_was_lost_mid_run_is_an_error_record():
    lost = {"item": PLAN, "unreachable": True, "msg": "Failed to connect to the host via ssh"}
    records = probe_records([lost], [listener()], planned=[PLAN, SECOND])
    assert [(r["initiator"], r["outcome"], r["error"]) for r in records] == [
        ("client", "error", "Failed to connect to the host via ssh"),
        ("client2", "error", "probe did not run: client2 gave no result (unreachable mid-run?)")]
