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
