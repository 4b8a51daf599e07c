"""The ping records the diagnose playbook hands to the diagnosis carry what the diagnosis reads.

The playbook used to build {ok, output} while the diagnosis reads `loss`: every failed ping was
reported as "100% loss", also one that never sent a packet. These tests template the playbook's
own "Assemble probe and ping records" task with what the ping task registered.
"""
from __future__ import annotations

import pytest

import ping_outputs
from diagnosis_facts import codes, healthy_facts, run
from playbook_jinja import set_fact_value

PASS = "playbooks/phases/diagnose_pass.yml"
ASSEMBLE = "Assemble probe and ping records"


def playbook_pings(*outputs: dict) -> list:
    results = [ping_outputs.registered(output) for output in outputs]
    return set_fact_value(PASS, ASSEMBLE, "wg_pings", {"wg_ping_results": {"results": results}})


@pytest.mark.parametrize("output, transmitted, received, loss", [
    (ping_outputs.ANSWERED, 3, 3, 0.0),
    (ping_outputs.ONE_OF_THREE, 3, 1, 0.666667),
    (ping_outputs.NO_ANSWER, 3, 0, 1.0),
])
def test_playbook_ping_record_says_how_much_was_lost(output, transmitted, received, loss):
    record = playbook_pings(output)[0]
    assert (record["transmitted"], record["received"]) == (transmitted, received)
    assert record["loss"] == pytest.approx(loss)
    assert record["ok"] is (received > 0)


def test_a_ping_that_never_ran_is_not_reported_as_packet_loss():
    pings = playbook_pings(ping_outputs.NO_SUCH_DEVICE)
    report = run(healthy_facts(), pings=pings)
    assert codes(report) == ["tunnel_ping_fails"]
    evidence = report["findings"][0]["evidence"][0]
    assert "SO_BINDTODEVICE wg9: No such device" in evidence
    assert "loss" not in evidence


def test_the_loss_ping_measured_reaches_the_evidence():
    report = run(healthy_facts(), pings=playbook_pings(ping_outputs.ICMP_ERRORS))
    evidence = report["findings"][0]["evidence"][0]
    assert evidence == "ping client -> server (10.99.0.1) over the tunnel: 100% loss (0 of 3 answered, 3 ICMP error(s))"
