"""Every ping of one end runs at once, in one command, and comes back as the results a loop over the pings registered.

The playbook used to run one task item per ping: a hub pinging its N spokes paid N module round trips and N pings
one after another (docs/benchmarks.md section 5). These tests run the playbook's own command (templated from
diagnose_pass.yml) with a stand-in `ping` on PATH and split its output with the playbook's own task (the
wg_ping_batch_results filter), then hand the results to the records the diagnosis reads.
"""
from __future__ import annotations

import os
import subprocess
import time

import ping_outputs
from playbook_jinja import render, set_fact_value, task

PASS = "playbooks/phases/diagnose_pass.yml"
PING = "Ping through every tunnel whose handshake is recent, all of this end's pings at once"
SPLIT = "One ping result per tunnel, as a loop over the pings would have registered it"
ASSEMBLE = "Assemble probe and ping records"

# What the stand-in ping prints, per address: the real outputs of ping_outputs, and how long it takes.
BY_ADDRESS = {"10.66.0.11": ping_outputs.ANSWERED, "10.66.0.12": ping_outputs.NO_ANSWER,
              "10.66.0.13": ping_outputs.NO_SUCH_DEVICE, "fd66::14": ping_outputs.ICMP_ERRORS}


def plan(address: str, interface: str = "corpnet") -> dict:
    return {"from": "hub", "to": "spoke-" + address, "address": address, "interface": interface, "handshake_recent": True}


def stand_in_ping(directory, seconds: float, together: int = 0) -> str:
    """A `ping` that checks its arguments, sleeps, and prints what the real one printed for that address. With
    `together`, each waits (up to 30 s) until that many of them have started, and fails saying so when they never
    do: pings run one after another never get there."""
    cases = "\n".join("    %s) printf '%%s' '%s'; printf '%%s' '%s' >&2; exit %d ;;" % (
        address, output["stdout"].replace("'", "'\\''"), output["stderr"].replace("'", "'\\''"), output["rc"])
        for address, output in BY_ADDRESS.items())
    script = directory / "ping"
    barrier = ('touch "%s/started.$$"; waited=0\n'
               'while [ "$(ls "%s" | grep -c "^started\\.")" -lt %d ]; do\n'
               '  sleep 0.1; waited=$((waited + 1)); [ $waited -lt 300 ] || { echo "not at once" >&2; exit 8; }\ndone\n'
               % (directory, directory, together)) if together else ""
    script.write_text('#!/bin/sh\n[ "$1 $2 $3 $4 $5 $6 $7" = "-c 3 -i 0.3 -W 1 -I" ] || { echo "bad arguments: $*" >&2; exit 9; }\n'
                      'case "$8" in *"\'"*) echo "unquoted: $8" >&2; exit 9 ;; esac\n' + barrier +
                      "sleep %s\ncase \"$9\" in\n%s\n    *) echo \"unknown address $9\" >&2; exit 9 ;;\nesac\n" % (seconds, cases))
    script.chmod(0o755)
    return str(directory)


def run_pings(tmp_path, pings: list, seconds: float = 0.0, together: int = 0) -> tuple:
    command = render(task(PASS, PING)["ansible.builtin.shell"]["cmd"], {"wg_work": {"pings": pings}})
    environ = dict(os.environ, PATH=stand_in_ping(tmp_path, seconds, together) + os.pathsep + os.environ["PATH"])
    start = time.monotonic()
    proc = subprocess.run(["/bin/sh", "-c", command], env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          check=False)
    registered = {"rc": proc.returncode, "stdout": proc.stdout.rstrip("\n"), "stderr": proc.stderr.rstrip("\n"), "changed": False}
    return registered, time.monotonic() - start


def split(pings: list, registered: dict) -> list:
    return set_fact_value(PASS, SPLIT, "wg_ping_results", {"wg_work": {"pings": pings}, "wg_pings_at_once": registered})["results"]


def test_each_ping_comes_back_as_its_loop_result(tmp_path):
    pings = [plan(address) for address in BY_ADDRESS]
    registered, _seconds = run_pings(tmp_path, pings)
    assert registered["rc"] == 0, registered
    results = split(pings, registered)
    assert [result["item"] for result in results] == pings
    for result, address in zip(results, BY_ADDRESS):
        expected = BY_ADDRESS[address]
        assert (result["rc"], result["stdout"], result["stderr"]) == (expected["rc"], expected["stdout"].strip(), expected["stderr"]), address


def test_the_records_are_those_of_one_ping_per_task_item(tmp_path):
    pings = [plan(address) for address in BY_ADDRESS]
    registered, _seconds = run_pings(tmp_path, pings)
    at_once = set_fact_value(PASS, ASSEMBLE, "wg_pings", {"wg_ping_results": {"results": split(pings, registered)}})
    one_by_one = set_fact_value(PASS, ASSEMBLE, "wg_pings", {"wg_ping_results": {"results": [
        ping_outputs.registered(BY_ADDRESS[p["address"]], p["from"], p["to"], p["address"], p["interface"]) for p in pings]}})
    assert at_once == one_by_one
    assert [record["ok"] for record in at_once] == [True, False, False, False]
    assert at_once[2]["error"] == "ping: SO_BINDTODEVICE wg9: No such device"


def test_the_pings_of_one_end_run_at_once(tmp_path):
    # Each stand-in waits until all ten have started: only pings running at the same time all answer.
    pings = [plan("10.66.0.11") for _n in range(10)]
    registered, _seconds = run_pings(tmp_path, pings, together=10)
    results = split(pings, registered)
    assert [(result["rc"], result["stderr"]) for result in results] == [(0, "")] * 10, results


def test_an_interface_name_reaches_ping_as_one_word(tmp_path):
    pings = [plan("10.66.0.11", interface="wg x'; touch pwned; '")]
    registered, _seconds = run_pings(tmp_path, pings)
    result = split(pings, registered)[0]
    assert result["rc"] == 9 and "unquoted: wg x'; touch pwned; '" in result["stderr"]
    assert not (tmp_path / "pwned").exists() and not os.path.exists("pwned")


def test_a_command_that_gave_nothing_still_gives_every_ping_a_result_that_says_why():
    pings = [plan("10.66.0.11"), plan("10.66.0.12")]
    results = split(pings, {"rc": 1, "stdout": "", "stderr": "mktemp: failed to create directory", "changed": False})
    assert [(r["item"], r["rc"]) for r in results] == [(pings[0], -1), (pings[1], -1)]
    records = set_fact_value(PASS, ASSEMBLE, "wg_pings", {"wg_ping_results": {"results": results}})
    assert [record["ok"] for record in records] == [False, False]
    assert records[0]["error"] == "the pings of this end gave no result: mktemp: failed to create directory"


def test_an_end_with_no_ping_has_no_result():
    assert split([], {"skipped": True, "changed": False}) == []


def test_an_exit_status_that_is_not_a_number_is_minus_one_and_the_output_is_kept():
    pings = [plan("10.66.0.11")]
    registered = {"rc": 0, "stdout": "\n@@wgdoctor-ping@@ garbage\nPING 10.66.0.11\n@@wgdoctor-ping-stderr@@\nsome error",
                  "stderr": "", "changed": False}
    [result] = split(pings, registered)
    assert (result["rc"], result["stdout"], result["stderr"]) == (-1, "PING 10.66.0.11", "some error")
