"""A probe peer left behind by an interrupted run is removed by the next one, and nothing else is.

diagnose.yml registers its ephemeral probe key as a peer without allowed IPs on every responder and
removes it in an `always:`. A run killed between the two (Ctrl-C, a dead controller, a dropped
connection) leaves the peer there. The responder marks the key under /run/wgdoctor/probe-peers before
it registers it; the next run removes every marked key that is still a peer without allowed IPs and in
no config file, once the marker is old enough that no live run can still be using it.

The fleet (tests/lab/fleet.py, hub `corpnet` on UDP 47111) carries peers that are not ours and must
survive: two strangers in the hub's file, one runtime-only peer, and here also a runtime peer without
allowed IPs and without a marker (shaped exactly like a leftover, but nobody marked it).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

from conftest import DIAGNOSE, REPO, lab_env
from test_fleet_lab import Fleet, assert_no_false_upstream, assert_spoke_healthy, running_fleet

sys.path.insert(0, os.path.join(REPO, "tests", "lab"))
import fleet  # noqa: E402  pylint: disable=wrong-import-position,wrong-import-order

# Five spokes: the fifth is dialed by the hub, so a run has two responders (the hub and spoke05).
SPOKES = 5
MARKERS = "/run/wgdoctor/probe-peers"
# Older than any live run can be (the playbook's wg_probe_leftover_age): the interrupted run was "long ago".
LONG_AGO = "3 hours ago"


@pytest.fixture
def fleet_lab(tmp_path_factory):
    """A freshly built fleet for this test, removed after it."""
    with running_fleet(tmp_path_factory, SPOKES, "leftover") as the_fleet:
        yield the_fleet


def peers(the_fleet: Fleet, host: str) -> dict[str, str]:
    """Public key -> allowed IPs ("(none)" for none) of the host's interface."""
    text = the_fleet.sh(host, f"wg show {the_fleet.interface(host)} allowed-ips").stdout
    return {line.split("\t")[0]: line.split("\t", 1)[1] for line in text.splitlines() if "\t" in line}


def strangers_without_allowed_ips(the_fleet: Fleet, host: str, known: set[str]) -> set[str]:
    return {key for key, allowed in peers(the_fleet, host).items() if key not in known and allowed == "(none)"}


def markers() -> list[str]:
    return fleet.container_exec(f"find {MARKERS} -type f 2>/dev/null || true").stdout.split()


def clean_on_hub(the_fleet: Fleet, *extra: str) -> dict:
    """wg_probe_peer state=cleaned on the hub alone, as the first pass of a run calls it; its result."""
    proc = subprocess.run(["ansible", fleet.HUB, "-i", the_fleet.inventory, "-m", "wgdoctor.wireguard.wg_probe_peer",
                           "-a", "state=cleaned", *extra], env=lab_env(), capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and "=>" in proc.stdout, proc.stdout + proc.stderr
    # ansible.cfg prints results as YAML (JSON is YAML too, should that change).
    return yaml.safe_load(proc.stdout.split("=>", 1)[1])


def signal_dir_paths() -> list[str]:
    """The capture signal directories in the fleet's shared /run (every end's)."""
    return fleet.container_exec("ls -d /run/wgdoctor-probe-* 2>/dev/null || true").stdout.split()


def leave_signal_dirs() -> dict[str, set[str]]:
    """The interrupted run's own signal directories (if it got as far as a capture) aged "long ago", beside
    made ones: an old one of the hub's, a young one of the hub's (a live run's) and an old one of an end
    whose name merely ends with the hub's. What the next run must remove and what it must keep."""
    real = set(signal_dir_paths())
    old = f"/run/wgdoctor-probe-{'0' * 12}-{fleet.HUB}"
    young = f"/run/wgdoctor-probe-{'1' * 12}-{fleet.HUB}"
    not_ours = f"/run/wgdoctor-probe-{'2' * 12}-branch-{fleet.HUB}"
    fleet.container_exec(f"mkdir -p {old} {young} {not_ours} && touch {old}/ready-47111 {young}/ready-47111 {not_ours}/stop")
    aged = sorted(real | {old, not_ours})
    fleet.container_exec(f"find {' '.join(aged)} -exec touch -d '{LONG_AGO}' {{}} +")
    return {"old": real | {old}, "young": {young}, "not_ours": {not_ours}}


def interrupt_while_probe_peer_registered(the_fleet: Fleet, tmp_path, known: set[str]) -> tuple[str, float]:
    """Start diagnose.yml, SIGKILL its whole process group as soon as the hub holds a peer without allowed
    IPs that is none of the known ones: the probe key. Returns that key and how long the run had lived."""
    report_dir = tmp_path / "interrupted"
    run = subprocess.Popen(["ansible-playbook", "-i", the_fleet.inventory, DIAGNOSE, "-e", f"wg_report_dir={report_dir}"],
                           env=lab_env(), cwd=str(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           start_new_session=True)
    started = time.monotonic()
    try:
        while time.monotonic() - started < 180 and run.poll() is None:
            found = strangers_without_allowed_ips(the_fleet, fleet.HUB, known)
            if found:
                os.killpg(run.pid, signal.SIGKILL)
                run.wait()
                return found.pop(), time.monotonic() - started
            time.sleep(0.1)
        raise AssertionError(f"the probe peer never appeared on the hub (run ended with {run.poll()})")
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()


def test_interrupted_run_leftover_probe_peer_is_removed_by_the_next_run(fleet_lab, tmp_path):
    hub = fleet.HUB
    # Shaped like a leftover (runtime only, no allowed IPs) but not ours: no marker, so never touched.
    unmarked = fleet_lab.sh(hub, "wg genkey | wg pubkey").stdout.strip()
    fleet_lab.sh(hub, f"wg set {fleet.HUB_INTERFACE} peer {unmarked}")
    known_before = peers(fleet_lab, hub)
    assert known_before[unmarked] == "(none)"
    assert len(known_before) == SPOKES + 3 + 1, known_before
    not_ours = {key for key, allowed in known_before.items()
                if allowed in fleet.STRANGER_ADDRESSES + (fleet.RUNTIME_ONLY_ADDRESS,) or key == unmarked}
    assert len(not_ours) == 4

    # The interrupt can land just after the `always:` removed the peer: then try again.
    for attempt in range(1, 4):
        leftover, lived = interrupt_while_probe_peer_registered(fleet_lab, tmp_path, set(known_before))
        time.sleep(2)  # whatever the killed run had in flight on the hub has finished by now
        print(f"\n[leftover] attempt {attempt}: run killed {lived:.1f} s after its start with the probe peer on the hub")
        if leftover in peers(fleet_lab, hub):
            break
    else:
        raise AssertionError("every interrupt came too late: the probe peer was already removed")
    assert peers(fleet_lab, hub)[leftover] == "(none)"
    # The hub dials spoke05: the probe key may be left there as well.
    dialed = fleet.DIALED_SPOKE
    left_on_dialed = leftover in peers(fleet_lab, dialed)

    # Just now, the marker could as well be a run going on at the same time: kept.
    cleaned = clean_on_hub(fleet_lab)
    assert [(e["public_key"], e["action"]) for e in cleaned["leftovers"]] == [(leftover, "keep")], cleaned
    assert leftover in peers(fleet_lab, hub) and markers(), "a young marker's peer was removed"

    # The interrupted run was long ago: no run that is still alive can own its marker.
    fleet.container_exec(f"[ ! -d {MARKERS} ] || find {MARKERS} -type f -exec touch -d '{LONG_AGO}' {{}} +")
    signal_dirs = leave_signal_dirs()
    # --check says what it would remove, and removes nothing.
    cleaned = clean_on_hub(fleet_lab, "--check")
    assert cleaned["changed"] and cleaned["removed"] == [{"interface": fleet.HUB_INTERFACE, "public_key": leftover}], cleaned
    assert leftover in peers(fleet_lab, hub) and markers(), "--check removed something"

    started = time.monotonic()
    report = fleet_lab.diagnose(tmp_path)
    print(f"\n[leftover] diagnose.yml after the interrupt: {time.monotonic() - started:.1f} s "
          f"(leftover on {dialed} too: {left_on_dialed})")
    after = peers(fleet_lab, hub)
    assert leftover not in after, "the leftover probe peer of the interrupted run is still on the hub"
    assert leftover not in peers(fleet_lab, dialed), f"the leftover probe peer is still on {dialed}"
    assert set(after) == set(known_before), "the second run removed or left a peer that is not the leftover"
    assert {key: after[key] for key in not_ours} == {key: known_before[key] for key in not_ours}
    assert markers() == [], "markers left behind"
    left = set(signal_dir_paths())
    assert not left & signal_dirs["old"], f"old signal directories of an interrupted run are still there: {left & signal_dirs['old']}"
    assert signal_dirs["young"] <= left, "a signal directory young enough to belong to a live run was removed"
    assert signal_dirs["not_ours"] <= left, "another end's signal directory was removed by an end whose name it ends with"
    run = fleet_lab.last_run
    assert "leftover probe peer" in run.stdout and leftover in run.stdout, "the removal is not said in the run's output"

    before = report["before"]
    for spoke in fleet_lab.spokes():
        assert_spoke_healthy(fleet_lab, before, spoke)
    assert_no_false_upstream(before)
