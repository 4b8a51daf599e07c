#!/usr/bin/env python
# Copyright (c) 2026, wgdoctor contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers of benchmarks/run_all.sh (not meant to be run by hand).

  python benchmarks/bench_report.py diagnosis-core OUT.json [--repeat 3] [--sizes ...]
      runs benchmarks/bench_diagnosis.py REPEAT times (fresh processes) and, as the baseline in the
      same run, times a json.dumps + json.loads round trip of the same facts (the least any consumer
      of those facts pays: Ansible serialises them once per host on the way to the controller).
  python benchmarks/bench_report.py write RESULTS_DIR docs/benchmarks.md
      reads what run_all.sh left in RESULTS_DIR and writes the Markdown report.
  python benchmarks/bench_report.py probe-pass-section PROBE_PASS.json [MACHINE.json]
      prints the sequential-against-parallel section alone (bench_probe_pass.py's results).
  python benchmarks/bench_report.py machine OUT.json
      the machine and versions, for a run of section 5 alone.
  python benchmarks/bench_report.py fleet-section RESULTS_DIR docs/benchmarks.md
      rewrites section 5 alone (bench_fleet_sizes.py's fleet_sizes.json in RESULTS_DIR), the others kept as they are.
  python benchmarks/bench_report.py controller-section RESULTS_DIR docs/benchmarks.md
      rewrites section 6 alone (bench_controller_tasks.py's controller_tasks.json in RESULTS_DIR).
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

from timing import spread

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
ROW = re.compile(r"^(\d+)\s+(hub, peers outside|hub \+ hosts, broken|hub \+ hosts)\s+([\d.]+)s\s+([\d.]+)s\s+([\d.]+)s\s+([\d.]+)s\s+(\d+)")
SHAPES = ("hub, peers outside", "hub + hosts", "hub + hosts, broken")


# ---------------------------------------------------------------- diagnosis core

def json_round_trip(facts: dict, repeat: int) -> list:
    samples = []
    for _sample in range(repeat):
        start = time.process_time()
        json.loads(json.dumps(facts))
        samples.append(time.process_time() - start)
    return samples


def diagnosis_core(out: str, repeat: int, sizes: list) -> None:
    rows: dict = {}
    for _run in range(repeat):
        proc = subprocess.run([sys.executable, os.path.join(HERE, "bench_diagnosis.py")] + [str(size) for size in sizes],
                              cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=True)
        for line in proc.stdout.splitlines():
            match = ROW.match(line)
            if match:
                key = "%s|%s" % (match.group(1), match.group(2))
                rows.setdefault(key, {"diagnose": [], "json": [], "markdown": [], "findings": int(match.group(7))})
                rows[key]["diagnose"].append(float(match.group(3)))
                rows[key]["json"].append(float(match.group(4)))
                rows[key]["markdown"].append(float(match.group(5)))
    sys.path.insert(0, HERE)
    import bench_diagnosis  # pylint: disable=import-outside-toplevel
    baseline = {}
    for size in sizes:
        facts = bench_diagnosis.hub_facts(size, True)
        baseline[str(size)] = json_round_trip(facts, repeat)
    with open(out, "w", encoding="utf-8") as handle:
        json.dump({"rows": rows, "baseline": baseline, "repeat": repeat}, handle, indent=1)


# ---------------------------------------------------------------- report

def load(results: str, name: str):
    path = os.path.join(results, name)
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as handle:
        return json.load(handle) if name.endswith(".json") else handle.read()


def fmt(value, unit="s", digits=3) -> str:
    if value is None:
        return "n/a"
    return "%.*f %s" % (digits, value, unit)


def med_spread(stat: dict, unit="s", digits=3, scale=1.0) -> str:
    if not stat or stat.get("median") is None:
        return "n/a"
    values = (digits, stat["median"] * scale, unit, digits, stat["min"] * scale, digits, stat["max"] * scale)
    return "%.*f %s (%.*f-%.*f)" % values


def verdict(ok) -> str:
    return "n/a" if ok is None else ("**met**" if ok else "**not met**")


def section_machine(info: dict) -> list:
    lines = ["## Machine and versions", "", "| | |", "|---|---|"]
    for key in ("date", "machine", "cpu", "nproc", "ram", "kernel", "load_at_start", "python", "ansible_core", "pynacl",
                "wireguard_go", "wg", "target_python", "lab"):
        lines.append("| %s | %s |" % (key.replace("_", " "), info.get(key, "n/a")))
    return lines + [""]


def section_wg_facts(facts) -> list:
    lines = ["## 1. wg_facts on a running interface with many peers (issue 3)", ""]
    if not facts:
        return lines + ["Not run (see the run log).", ""]
    lines += [
        "Timed: `gather(module)` of `plugins/modules/wg_facts.py`, called from the AnsiballZ payload Ansible really",
        "sends (kept with `ANSIBLE_KEEP_REMOTE_FILES=1`, exploded in the container), one fresh `python3` per sample,",
        "inside the lab server (wireguard-go) so no podman exec overhead counts. Also the whole module process",
        "(`python3 AnsiballZ_wg_facts.py`: interpreter start, unzip, imports, gather, JSON out). Peers are in the running",
        "interface (`wg addconf`) and in `/etc/wireguard/wg0.conf`, as on a real hub. Baseline, same run, same",
        "container: the bare `wg show all dump`. Median of %d, (min-max)." % len(facts["sizes"][0]["gather"]["samples"]),
        "",
        "| peers | gather() wall | gather() CPU | module process wall | module process CPU | baseline `wg show all dump` wall"
        " | baseline CPU | gather / dump (wall) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in facts["sizes"]:
        gather, dump = row["gather"]["median"], row["dump"]["median"]
        lines.append("| %d | %s | %s | %s | %s | %s | %s | %.0fx |" % (
            row["peers"], med_spread(row["gather"]), med_spread(row.get("gather_cpu")), med_spread(row["module"]),
            med_spread(row.get("module_cpu")), med_spread(row["dump"]), med_spread(row.get("dump_cpu")),
            gather / dump if dump else 0))
    by_size = {row["peers"]: row for row in facts["sizes"]}
    if {1000, 10000, 20000} <= set(by_size):
        marginal = {}
        for measure in ("gather", "gather_cpu", "module_cpu"):
            median = {size: by_size[size][measure]["median"] for size in (1000, 10000, 20000)}
            marginal[measure] = ((median[10000] - median[1000]) / 9000, (median[20000] - median[10000]) / 10000)
        first, second = marginal["gather_cpu"]
        linear = second <= 1.5 * first
        lines += ["", "Marginal cost per added peer, 1k->10k then 10k->20k: gather() CPU %.1f then %.1f µs, module process "
                      "CPU %.1f then %.1f µs, gather() wall %.1f then %.1f µs. Linear (gather() CPU per peer not growing by "
                      "more than half): %s." % (
                          first * 1e6, second * 1e6, marginal["module_cpu"][0] * 1e6, marginal["module_cpu"][1] * 1e6,
                          marginal["gather"][0] * 1e6, marginal["gather"][1] * 1e6, verdict(linear))]
    if 10000 in by_size:
        row = by_size[10000]
        lines += ["", "Goal: the module's own run time under 1.5 s at 10k peers on this 2-core machine: gather() %s (wall "
                      "%s, CPU %s); the whole module process as Ansible runs it %s (wall %s, CPU %s)." % (
                          verdict(row["gather"]["median"] < 1.5), fmt(row["gather"]["median"]),
                          fmt(row["gather_cpu"]["median"]), verdict(row["module"]["median"] < 1.5),
                          fmt(row["module"]["median"]), fmt(row["module_cpu"]["median"]))]
    lines += ["", "Where wall is well above CPU, the module was waiting: on wireguard-go serving the dump through its UAPI "
                  "socket (its CPU is not counted here) and on the other work of this shared machine."]
    lines += ["", "For scale: the ad-hoc `ansible server -m wgdoctor.wireguard.wg_facts` (1 peer, controller to result) "
                  "took %s." % fmt(facts.get("adhoc_seconds"), digits=1), ""]
    return lines


PROBE_OK = re.compile(r"outcomes (\{.*\})")
PROBE_MEDIAN = re.compile(r"median whole probe ([\d.]+) ms \(p90 ([\d.]+) ms\), median rtt ([\d.na]+) ms")
PROBE_TIMEOUT = re.compile(r"timeout verdict: ([\d.]+) ms for timeout=([\d.]+) s x (\d+) attempts")
UDP = re.compile(r"median ([\d.]+) ms \(min ([\d.]+), p90 ([\d.]+) ms\)")
BACKEND = re.compile(r"backend: (\S+)")


def parse_runs(text: str, pattern) -> list:
    return [match.groups() for match in pattern.finditer(text or "")]


def section_probe(results: str) -> list:
    lines = ["## 2. udp_probe against the lab server", ""]
    ok_text, udp_text, dropped_text = (load(results, name) for name in ("probe_ok.txt", "udp_baseline.txt", "probe_dropped.txt"))
    if not ok_text:
        return lines + ["Not run (see the run log).", ""]
    wall = [float(m[0]) for m in parse_runs(ok_text, PROBE_MEDIAN)]
    p90 = [float(m[1]) for m in parse_runs(ok_text, PROBE_MEDIAN)]
    rtt = [float(m[2]) for m in parse_runs(ok_text, PROBE_MEDIAN) if m[2] != "nan"]
    outcomes = [m[0] for m in parse_runs(ok_text, PROBE_OK)]
    backends = sorted({m[0] for m in parse_runs(ok_text, BACKEND)})
    udp = [float(m[0]) for m in parse_runs(udp_text, UDP)]
    timeouts = parse_runs(ok_text, PROBE_TIMEOUT)
    lines += [
        "Timed: `wg_probe.probe_wireguard()` in-process (`benchmarks/bench_probe.py --target`), from the host to the lab",
        "server's wireguard-go on its public address, with a probe key the server knows as a peer; %d runs of 50"
        % len(wall),
        "probes, backend %s. Baseline, same run, same path: a plain 148-byte UDP send/recv round trip to a Python echo"
        % ", ".join(backends),
        "in the server container (`benchmarks/bench_udp_baseline.py`). Medians over runs, (min-max of the run medians).",
        "",
        "| measure | value |", "|---|---:|",
        "| `ok` probe, whole call (key generation, Noise initiation, send, wait, decrypt the response) | %s |"
        % med_spread(spread(wall), "ms"),
        "| `ok` probe, p90 of the whole call | %s |" % med_spread(spread(p90), "ms"),
        "| `ok` probe, round trip measured by the probe | %s |" % med_spread(spread(rtt), "ms"),
        "| baseline: plain UDP round trip | %s |" % med_spread(spread(udp), "ms"),
        "| outcomes per run | %s |" % "; ".join(outcomes),
    ]
    for elapsed, timeout, attempts in timeouts[:1]:
        lines.append("| `timeout` verdict against a silent local socket, timeout %s s x %s attempts | %s ms |"
                     % (timeout, attempts, elapsed))
    dropped = parse_runs(dropped_text, PROBE_MEDIAN)
    if dropped:
        lines.append("| `timeout` verdict on the lab path with the server dropping UDP 51820, timeout 1.0 s x 1 attempt "
                     "(outcomes %s) | %s ms |" % (", ".join(m[0] for m in parse_runs(dropped_text, PROBE_OK)), dropped[0][0]))
    goal = spread(wall)["median"] < 5.0 if wall else None
    lines += ["", "Goal: median `ok` probe under 5 ms with PyNaCl: %s. The time to a `timeout` verdict is the configured "
                  "timeout x attempts plus about a millisecond (diagnose.yml uses 1.0 s x 3 attempts)." % verdict(goal), ""]
    return lines


def section_playbook(healthy, broken) -> list:
    lines = ["## 3. diagnose.yml on the 2-end lab", ""]
    if not healthy and not broken:
        return lines + ["Not run (see the run log).", ""]
    lines += [
        "Timed: `ansible-playbook -i INV playbooks/diagnose.yml` (no remediation) from this checkout, to the verdict (the",
        "end of its `Diagnose` task, read from the streamed output) and to the end (report written). Baseline, run just",
        "before each sample: `ansible wireguard -i INV -m ansible.builtin.command -a \"wg show all dump\"` on the same",
        "hosts. Broken lab: nftables drop of UDP 51820 on the server and a wrong server public key on the client",
        "(as scripts/demo.sh, applied live with `wg syncconf`). Median (min-max).",
        "",
        "| lab | runs | verdict | whole playbook | baseline ad-hoc `wg show all dump` | playbook / baseline | findings |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for name, data in (("healthy", healthy), ("broken", broken)):
        if not data:
            continue
        codes = sorted({code for run in data["runs"] for code in (run["findings"] or [])})
        rcs = sorted({run["rc"] for run in data["runs"]})
        ratio = (data["playbook"]["median"] / data["baseline"]["median"]) if data["playbook"]["median"] else None
        lines.append("| %s | %d (rc %s) | %s | %s | %s | %s | %s |" % (
            name, len(data["runs"]), ",".join(map(str, rcs)), med_spread(data["verdict"], digits=1),
            med_spread(data["playbook"], digits=1), med_spread(data["baseline"], digits=1),
            "%.0fx" % ratio if ratio else "n/a", ", ".join("`%s`" % code for code in codes) or "none"))
    if broken and broken["verdict"]["median"] is not None:
        lines += ["", "Goal: a verdict within 20 s on the broken lab: %s (median %s, worst %s)." % (
            verdict(broken["verdict"]["max"] < 20), fmt(broken["verdict"]["median"], digits=1),
            fmt(broken["verdict"]["max"], digits=1))]
    return lines + [""]


def section_core(core) -> list:
    lines = ["## 4. The diagnosis core on a hub with many peers", ""]
    if not core:
        return lines + ["Not run (see the run log).", ""]
    lines += [
        "Timed: `diagnose(facts, probes, pings, unreachable, now)` in CPU seconds (`benchmarks/bench_diagnosis.py`, %d fresh"
        % core["repeat"],
        "runs; rendering to JSON and Markdown alongside). Shapes: the hub alone with its peers outside the inventory; the",
        "hub plus every client as an inventory host (N tunnels to pair); the same with the hub's port dropped and no",
        "handshake ever (N+1 findings). Baseline, same run: a `json.dumps` + `json.loads` round trip of the same",
        "hub + hosts facts (what Ansible pays anyway to bring those facts to the controller). Median (min-max).",
        "",
        "| peers | shape | diagnose | render JSON | render Markdown | findings | baseline JSON round trip |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    sizes = sorted({int(key.split("|")[0]) for key in core["rows"]})
    for size in sizes:
        for shape in SHAPES:
            row = core["rows"].get("%d|%s" % (size, shape))
            if not row:
                continue
            lines.append("| %d | %s | %s | %s | %s | %d | %s |" % (
                size, shape, med_spread(spread(row["diagnose"])), med_spread(spread(row["json"])),
                med_spread(spread(row["markdown"])), row["findings"],
                med_spread(spread(core["baseline"].get(str(size), []))) if shape == "hub + hosts" else ""))
    at_10k = [spread(row["diagnose"])["median"] for key, row in core["rows"].items() if key.startswith("10000|")]
    if at_10k:
        lines += ["", "Goal: under 1 s at 10k peers, every shape: %s (worst shape median %s); per shape: %s." % (
            verdict(max(at_10k) < 1.0), fmt(max(at_10k)),
            ", ".join("%s %s" % (shape, verdict(spread(core["rows"]["10000|" + shape]["diagnose"])["median"] < 1.0))
                      for shape in SHAPES if "10000|" + shape in core["rows"]))]
    return lines + [""]


def _phase(run: dict, key: str) -> str:
    return "%.1f s" % run[key]["median"] if run.get(key, {}).get("median") is not None else "n/a"


def _phases(run: dict) -> dict:
    """Median wall time per phase of one playbook's samples: facts, probes + pings, diagnosis, report."""
    def median(key: str):
        return (run.get(key) or {}).get("median")
    facts, probes, verdict_at, whole = median("facts"), median("probes"), median("verdict"), median("seconds")
    return {"facts": facts, "probes": probes - facts if None not in (probes, facts) else None,
            "diagnosis": verdict_at - probes if None not in (verdict_at, probes) else None,
            "report": whole - verdict_at if None not in (whole, verdict_at) else None,
            "verdict": verdict_at, "whole": whole}


def section_probe_pass(bench, info: dict | None = None) -> list:
    lines = ["## 5. A diagnosis pass with many probes: every end at once against the sequential pass (issue 10)", ""]
    if not bench:
        return lines + ["Not run (`benchmarks/bench_probe_pass.py`).", ""]
    if info:
        lines += ["Run by itself on %s (%s, %s cores, load at start %s; %s; %s)." % (
            info.get("date"), info.get("cpu"), info.get("nproc"), info.get("load_at_start"), info.get("ansible_core"),
            info.get("lab")), ""]
    first_new: dict = next((run for run in bench["runs"]["new"] if run.get("probe_count") is not None), {})
    first_old: dict = next((run for run in bench["runs"]["old"] if run.get("probe_count") is not None), {})
    lines += [
        "Timed: `ansible-playbook playbooks/diagnose.yml` (no remediation) on %s, `--forks %s`, the pass of this "
        "checkout (`new`: a play over the ends, each doing its own share) and, as the baseline in the same run, the "
        "pass before it (`old`: one loop of `delegate_to` per step on the controller, a fixed 5 s capture per probe; "
        "its own playbooks and plugins, from a `git worktree` of %s). Samples alternate old and new. Floor, same run: "
        "`ansible wireguard -m ansible.builtin.command -a \"wg show all dump\"` on the same hosts. Phases from the "
        "streamed output: facts (to the controller's first task after them), probes + pings (to the task that "
        "assembles their records), diagnosis (to the end of `Diagnose`), report. Both passes with %s. Median of %d "
        "(min-max)." % (bench.get("lab", "the lab"), bench["forks"], bench.get("old_commit", "the commit before"),
                        ", ".join("`-e %s`" % extra for extra in bench.get("extra_vars") or []) or "no extra variables",
                        len(bench["runs"]["new"])),
        "",
        "| pass | probes / pings | facts | probes + pings | diagnosis | report | verdict | whole playbook | "
        "floor `wg show all dump` | verdict / floor | probes with `arrived` 0 / unknown | findings above info |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    floor = bench["floor"]["median"]
    for name, first in (("old (sequential)", first_old), ("new (every end at once)", first_new)):
        run = bench["old" if name.startswith("old") else "new"]
        phases = _phases(run)
        lines.append("| %s | %s / %s | %s | %s | %s | %s | %s | %s | %s | %s | %s / %s | %s |" % (
            name, first.get("probe_count"), first.get("ping_count"),
            *(fmt(phases[key], digits=1) for key in ("facts", "probes", "diagnosis", "report")),
            med_spread(run["verdict"], digits=1), med_spread(run["seconds"], digits=1), med_spread(bench["floor"], digits=1),
            "%.1fx" % (phases["verdict"] / floor) if phases["verdict"] and floor else "n/a",
            first.get("arrived_zero"), first.get("arrived_unknown"),
            ", ".join("`%s`" % code for code in first.get("findings") or []) or "none"))
    old, new = _phases(bench["old"]), _phases(bench["new"])
    if old["probes"] and new["probes"]:
        lines += ["", "Probes + pings phase: %.1f s old against %.1f s new (%.1fx faster); to the verdict %.1f s against %.1f s." % (
            old["probes"], new["probes"], old["probes"] / new["probes"], old["verdict"], new["verdict"])]
    lines += ["", "Goal of issue 10 (the verdict on a hub + 20 spokes within 2x the 2-end verdict of the same run): "
              "not judged here, the 2-end verdict is section 3's and was not measured in this run."]
    lines += ["", "How the phases scale: facts, probes and pings run on every end at once, in batches of `forks` "
              "(Ansible's default is 5: set `forks` to the number of ends, or what the controller's CPU and memory carry, "
              "e.g. `-f 50` for 50 ends; for 500 ends, `forks` 50-100 and the run in batches of that size); a responder "
              "has one capture per port whatever the number of probes aimed at it; an end's own probes and pings still run "
              "one after another on that end (a hub that pings its N spokes pings N times). The diagnosis runs once, on the "
              "controller (section 4).", ""]
    return lines


FLEET_GOALS = {20: 2.0, 50: 3.0}  # issue 10: hub + 20 within 2x the 2-end verdict, hub + 50 within 3x
FLEET_SECTION = "## 5. "


def _fleet_phases(run: dict) -> dict:
    """Wall time per phase of one playbook run, from its marks (None where a mark is missing)."""
    def between(start: str, end: str):
        if run.get(end) is None or (start and run.get(start) is None):
            return None
        return run[end] - (run[start] if start else 0.0)
    return {"start-up": between("", "first_play"), "facts": between("first_play", "facts"), "probes + pings": between("facts", "probes"),
            "of which pings": between("pings", "probes"), "diagnosis": between("probes", "verdict"),
            "report": (run["seconds"] - run["verdict"]) if run.get("verdict") is not None else None}


FLEET_PHASES = ("start-up", "facts", "probes + pings", "of which pings", "diagnosis", "report")


def _fleet_name(spokes: int) -> str:
    return "hub + %d spoke%s" % (spokes, "" if spokes == 1 else "s")


def _task_medians(runs: list) -> dict:
    """Median wall time of each task (summed over its occurrences in a run: the passes before and after)."""
    per_task: dict = {}
    for run in runs:
        totals: dict = {}
        for name, seconds in run.get("tasks", []):
            totals[name] = totals.get(name, 0.0) + seconds
        for name, seconds in totals.items():
            per_task.setdefault(name, []).append(seconds)
    return dict((name, spread(samples)["median"]) for name, samples in per_task.items())


def _where_the_time_goes(bench: dict, sizes: list, judged: str, phase_medians: dict) -> list:
    """Which phase grows with the fleet, the controller's CPU per end and the floor's own growth, from this run's medians."""
    runs = bench["runs"]
    small, large = sizes[0], sizes[-1]
    if large == small or (judged, small) not in phase_medians or (judged, large) not in phase_medians:
        return []
    growth = []
    for phase in FLEET_PHASES:
        if phase == "of which pings":
            continue
        low, high = phase_medians[(judged, small)][phase]["median"], phase_medians[(judged, large)][phase]["median"]
        if low is not None and high is not None:
            growth.append((high - low, phase))
    total = sum(grow for grow, _phase in growth) or 1.0
    cpu = dict((size, runs[str(size)]["summary"][judged]["cpu"]["median"]) for size in sizes if runs[str(size)].get(judged))
    verdicts = dict((size, runs[str(size)]["summary"][judged]["verdict"]["median"]) for size in sizes if runs[str(size)].get(judged))
    wholes = dict((size, runs[str(size)]["summary"][judged]["seconds"]["median"]) for size in sizes if runs[str(size)].get(judged))
    floors = dict((size, runs[str(size)]["summary"]["floor"]["median"]) for size in sizes)
    ends = dict((size, runs[str(size)]["ends"]) for size in sizes)
    largest = max(growth)
    return ["", "Where the time goes as the fleet grows (pass `%s`, %s -> %s, %d ends -> %d): the verdict grows by %.1f s; %s. "
                "%s is the largest part of the growth. Controller CPU per end: %s; the controller's processes used %s of "
                "the 2 cores over the whole run, the rest of the wall time is waiting: on what runs for every end beside it on the "
                "same 2 cores (podman exec's conmon and runc, the module's python inside the end's namespaces, the commands "
                "it runs) and on the other work of the machine. The floor itself, one command per end, grows %.1fx from "
                "%d to %d ends: every task of the playbook costs about one such round trip per end it runs on, so the "
                "verdict of a fleet grows like the floor times the tasks per end, not like the 2-end verdict. In this lab every "
                "end's own work runs on the controller's 2 cores too (on a real fleet it runs on each end's CPU); the "
                "controller's CPU alone, %.0f s for %d ends, needs %.0f s of its 2 cores at best, against %.0f s allowed by "
                "the goal (%.0fx the 2-end verdict)." % (
                    judged, _fleet_name(small), _fleet_name(large), ends[small], ends[large], verdicts[large] - verdicts[small],
                    ", ".join("%s %+.1f s (%.0f%%)" % (phase, grow, 100 * grow / total) for grow, phase in sorted(growth, reverse=True)),
                    largest[1][0].upper() + largest[1][1:],
                    ", ".join("%.2f s at %d ends" % (cpu[size] / ends[size], ends[size]) for size in sizes if cpu.get(size)),
                    ", ".join("%.0f%% at %d ends" % (100 * cpu[size] / (2 * wholes[size]), ends[size]) for size in sizes
                              if cpu.get(size) and wholes.get(size)),
                    floors[large] / floors[small] if floors[small] else 0.0, ends[small], ends[large],
                    cpu.get(large) or 0.0, ends[large], (cpu.get(large) or 0.0) / 2, FLEET_GOALS.get(large, 3.0) * verdicts[small],
                    FLEET_GOALS.get(large, 3.0)),
            "",
            "How the phases scale, and what to set: facts, probes and pings run on every end at once, in batches of "
            "`forks` (Ansible's default is 5: set `forks` to the number of ends or what the controller's CPU and memory "
            "carry, e.g. `-f 50` for 50 ends; for 500 ends, `forks` 50-100, and the controller needs the cores for it: each "
            "fork is a Python process and each task on each end a connection round trip). A responder has one capture per "
            "port whatever the number of probes aimed at it; an end runs all its pings at once, in one command (a hub with "
            "N spokes pings N tunnels in the time of one ping, one round trip). The diagnosis runs once, on the controller "
            "(section 4)."]


def section_fleet_sizes(bench, info: dict | None = None) -> list:
    lines = ["## 5. diagnose.yml on a hub with 1, 20 and 50 spokes: time to verdict against the 2-end verdict (issue 10)", ""]
    if not bench or not bench.get("runs"):
        return lines + ["Not run (`benchmarks/bench_fleet_sizes.py`).", ""]
    sizes = [size for size in bench["sizes"] if str(size) in bench["runs"]]
    runs = bench["runs"]
    labels = {"new": "commit %s" % bench.get("commit", "n/a"), "old": "commit %s" % bench.get("old_commit", "n/a")}
    labels.update(bench.get("labels") or {})
    passes = [name for name in ("old", "new") if any(runs[str(size)].get(name) for size in sizes)]
    if info:
        lines += ["Run on %s (%s, %s cores, load at start %s; %s; %s)%s." % (
            bench.get("date", info.get("date")), info.get("cpu"), info.get("nproc"), bench.get("load_start", info.get("load_at_start")),
            info.get("ansible_core"), info.get("lab"), "".join(
                ", then on %s (load at start %s)" % (part.get("date"), part.get("load_start")) for part in (bench.get("parts") or [])[1:])), ""]
    limit = bench.get("inotify_limit")
    lines += [
        "Timed: `ansible-playbook playbooks/diagnose.yml` (no remediation, %s) on the fleet lab (`tests/lab/fleet.py`: a hub, "
        "`corpnet` on UDP 47111 with two stranger peers and a runtime-only one, and N spokes, each a network namespace with its "
        "own wireguard-go in ONE container, reached through the podman connection), `--forks` = the number of ends, so every "
        "end of a fleet runs each task at once. %s Floor, same hosts, just before the playbook(s) of each sample: "
        "`ansible wireguard -m ansible.builtin.command -a \"wg show all dump\"` with the same forks." % (
            ", ".join("`-e %s`" % extra for extra in bench.get("extra_vars", [])) or "no extra variables",
            " ".join("%s: %s." % (("Pass `%s`" % name), labels[name]) for name in passes)),
        "",
        "The 2-end verdict is %s of the same fleet lab in the same run, not section 3's lab: the same kind of host "
        "(a namespace in the fleet container, not a systemd container), the same connection and interpreter, the same "
        "hub with its strangers and runtime-only peer. Only the number of spokes differs, so the ratio measures the "
        "fleet's size; section 3's lab would add the difference between two labs." % _fleet_name(sizes[0]),
        "",
        "Samples alternate the sizes forth and back (order run: %s)%s, the fleet rebuilt (`fleet.py up`, not timed) only "
        "when the size changes; the load average (1, 5, 15 min) is recorded at the start and end of every run. The machine "
        "is shared: other helpers' labs and tests ran beside this benchmark on its 2 cores, and each fleet's own forks load "
        "it too: read the ratios of one run, not absolute seconds. Controller CPU: user + system of ansible-playbook, its "
        "forks and the podman clients they start (what runs inside the fleet container, and podman's conmon/runc, are not "
        "counted). Median of %d sample(s) per pass and size (min-max)." % (
            ", ".join(map(str, bench.get("order", []))),
            "; within a sample the passes alternate too (old then new, then new then old)" if len(passes) > 1 else "",
            bench.get("repeat", 0)),
        ""]
    for note in bench.get("notes") or []:
        lines += [note, ""]
    if limit and limit != "n/a":
        lines += ["fs.inotify.max_user_instances was %s during the run. Every wireguard-go takes one of root's inotify instances, "
                  "machine-wide; hub + 50 needs 51 and the other labs on the machine held some of the default 128, so the "
                  "limit was raised by hand for this run and set back to 128 after (the benchmark never changes it: when too "
                  "few are left it stops and says what it needs)." % limit if int(limit) > 128 else
                  "fs.inotify.max_user_instances was %s (the default) during the run: enough for hub + %d beside the other labs." % (
                      limit, max(sizes)), ""]
    base = str(sizes[0])
    base_floor = runs[base]["summary"]["floor"]["median"]
    lines += [
        "| fleet | pass | ends (forks) | runs (rc) | probes / pings | verdict | whole playbook | floor `wg show all dump` | "
        "verdict / floor | verdict / 2-end verdict | floor / 2-end floor | controller CPU (per end) | probes `arrived` 0 | "
        "findings above info |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for size in sizes:
        entry = runs[str(size)]
        for name in passes:
            samples = entry.get(name) or []
            if not samples:
                continue
            summary = entry["summary"][name]
            base_verdict = (runs[base]["summary"].get(name) or {}).get("verdict", {}).get("median")
            first: dict = next((run for run in samples if run.get("probe_count") is not None), {})
            verdict_at, floor_at = summary["verdict"]["median"], entry["summary"]["floor"]["median"]
            cpu = summary["cpu"]["median"]
            lines.append("| %s | %s | %d (%d) | %d (rc %s) | %s / %s | %s | %s | %s | %s | %s | %s | %s (%s) | %s | %s |" % (
                _fleet_name(size), name, entry["ends"], entry["forks"], len(samples), ",".join(sorted({str(run["rc"]) for run in samples})),
                first.get("probe_count"), first.get("ping_count"), med_spread(summary["verdict"], digits=1),
                med_spread(summary["seconds"], digits=1), med_spread(entry["summary"]["floor"], digits=1),
                "%.1fx" % (verdict_at / floor_at) if verdict_at and floor_at else "n/a",
                "%.1fx" % (verdict_at / base_verdict) if verdict_at and base_verdict else "n/a",
                "%.1fx" % (floor_at / base_floor) if floor_at and base_floor else "n/a",
                fmt(cpu, digits=1), fmt(cpu / entry["ends"] if cpu else None, digits=2),
                max((run.get("arrived_zero") or 0) for run in samples),
                ", ".join("`%s`" % code for code in sorted({c for run in samples for c in run.get("findings") or []})) or "none"))
    judged = "new" if "new" in passes else passes[0]
    for name in passes:
        goals = []
        base_verdict = (runs[base]["summary"].get(name) or {}).get("verdict", {}).get("median")
        for size, goal in FLEET_GOALS.items():
            entry = runs.get(str(size))
            if not entry or not entry.get(name) or not base_verdict:
                goals.append("hub + %d within %.0fx: not measured" % (size, goal))
                continue
            summary = entry["summary"][name]["verdict"]
            ratio = summary["median"] / base_verdict
            # Sample k of a fleet against sample k of the 2-end fleet: the same part of the run, the nearest load.
            paired = ["%.1fx" % (run["verdict"] / two["verdict"]) for run, two in zip(entry[name], runs[base][name])
                      if run.get("verdict") and two.get("verdict")]
            goals.append("hub + %d within %.0fx: %s (median verdict %.1f s = %.1fx the 2-end verdict %.1f s; sample by sample "
                         "against the 2-end sample of the same part: %s)" % (
                             size, goal, verdict(ratio <= goal), summary["median"], ratio, base_verdict, ", ".join(paired) or "n/a"))
        lines += ["", "%s of issue 10, pass `%s`, its verdict against its own 2-end verdict of this run: %s." % (
            "Goals" if name == judged else "For comparison, the goals", name, "; ".join(goals))]
    lines += ["", "Wall time per phase (median of the runs' own phases): start-up (ansible-playbook to its first play), facts "
                  "(the leftover probe peer clean-up and wg_facts on every end, to the controller's first task), probes + pings "
                  "(pairing, probe key, the probe play: probe peer, captures, probes, stop, collect, clean-up, pings; of which "
                  "pings: the ping task to the records), diagnosis (to the end of `Diagnose`: the verdict), report (the "
                  "remediation plays and the after pass, skipped on every end, and the report files written).", "",
              "| fleet | pass | " + " | ".join(FLEET_PHASES) + " | verdict |", "|---|---|" + "---:|" * (len(FLEET_PHASES) + 1)]
    phase_medians: dict = {}
    for size in sizes:
        for name in passes:
            samples = runs[str(size)].get(name) or []
            if not samples:
                continue
            per_run = [_fleet_phases(run) for run in samples]
            phase_medians[(name, size)] = dict((phase, spread(p[phase] for p in per_run)) for phase in FLEET_PHASES)
            cells = [med_spread(phase_medians[(name, size)][phase], digits=1) for phase in FLEET_PHASES]
            cells.append(med_spread(runs[str(size)]["summary"][name]["verdict"], digits=1))
            lines.append("| %s | %s | %s |" % (_fleet_name(size), name, " | ".join(cells)))
    for name in passes:
        measured = [size for size in sizes if (name, size) in phase_medians]
        if len(measured) < 2:
            continue
        slopes = []
        for phase in FLEET_PHASES:
            steps = []
            for low_size, high_size in zip(measured, measured[1:]):
                low, high = phase_medians[(name, low_size)][phase]["median"], phase_medians[(name, high_size)][phase]["median"]
                if low is not None and high is not None:
                    steps.append("%+.2f s per end from %d to %d spokes" % ((high - low) / (high_size - low_size), low_size, high_size))
            if steps:
                slopes.append("%s %s" % (phase, ", ".join(steps)))
        lines += ["", "Growth per added end, pass `%s` (median phase times): %s." % (name, "; ".join(slopes))]
    if len(passes) > 1:
        compared = []
        for size in sizes:
            entry = runs[str(size)]
            if entry.get("old") and entry.get("new"):
                old, new = phase_medians[("old", size)], phase_medians[("new", size)]
                compared.append("%s: verdict %.1f -> %.1f s, probes + pings %s -> %s, of which pings %s -> %s" % (
                    _fleet_name(size), entry["summary"]["old"]["verdict"]["median"], entry["summary"]["new"]["verdict"]["median"],
                    fmt(old["probes + pings"]["median"], digits=1), fmt(new["probes + pings"]["median"], digits=1),
                    fmt(old["of which pings"]["median"], digits=1), fmt(new["of which pings"]["median"], digits=1)))
        lines += ["", "Pass `old` against pass `new`, same fleets, same run (medians): " + "; ".join(compared) + "."]
    lines += _where_the_time_goes(bench, sizes, judged, phase_medians)
    small, large = sizes[0], sizes[-1]
    if large != small and runs[str(small)].get(judged) and runs[str(large)].get(judged):
        tasks_small, tasks_large = _task_medians(runs[str(small)][judged]), _task_medians(runs[str(large)][judged])
        grown = sorted(((tasks_large[name] - tasks_small.get(name, 0.0), name) for name in tasks_large), reverse=True)[:8]
        added = large - small
        lines += ["", "The tasks of pass `%s` that grew most (median wall time of the task in a run, both passes summed, %s -> %s):" % (
            judged, _fleet_name(small), _fleet_name(large)), "",
            "| task | %s | %s | per added end |" % (_fleet_name(small), _fleet_name(large)), "|---|---:|---:|---:|"]
        for grow, name in grown:
            row = (name.replace("|", "\\|"), tasks_small.get(name, 0.0), tasks_large[name], grow / added)
            lines.append("| %s | %.1f s | %.1f s | %.2f s |" % row)
    lines += ["", "Every run, in the order run (verdict, whole, floor of its sample; load average at the start and the end of the "
                  "playbook):", "",
              "| # | fleet | pass | rc | verdict | whole | controller CPU | floor | load at start | load at end |",
              "|---:|---|---|---:|---:|---:|---:|---:|---|---|"]
    seen: dict = {}
    number = 0
    for size in bench.get("order", []):
        entry = runs[str(size)]
        index = seen.get(size, 0)
        seen[size] = index + 1
        floor_run = entry["floor"][index] if index < len(entry["floor"]) else {}
        for name in ("old", "new") if index % 2 == 0 else ("new", "old"):
            samples = entry.get(name) or []
            if index < len(samples):
                run = samples[index]
                number += 1
                lines.append("| %d | %s | %s | %s | %s | %.1f s | %.1f s | %s | %s | %s |" % (
                    number, _fleet_name(size), name, run["rc"], fmt(run.get("verdict"), digits=1), run["seconds"], run["cpu"],
                    fmt(floor_run.get("seconds"), digits=1), run["load_start"], run["load_end"]))
    return lines + [""]


def replace_section(doc: str, section: list, heading: str = FLEET_SECTION) -> None:
    """Put `section` in place of the section of `doc` whose heading starts with `heading` (up to the next `## `
    heading), or before `## Run` when there is none; the rest as it was."""
    with open(doc, encoding="utf-8") as handle:
        text = handle.read()
    start = text.find("\n" + heading)
    if start < 0:
        start = text.find("\n## Run")
        end = start
    else:
        end = text.find("\n## ", start + 1)
        end = len(text) if end < 0 else end
    if start < 0:
        raise SystemExit("%s: no section %r and no `## Run` heading to put it before" % (doc, heading))
    with open(doc, "w", encoding="utf-8") as handle:
        handle.write(text[:start + 1] + "\n".join(section) + text[end:])


CONTROLLER_SECTION = "## 6. "


def section_controller(bench) -> list:
    """Section 6: the controller's cost of one task (bench_controller_tasks.py)."""
    lines = [CONTROLLER_SECTION + "What one task costs the controller (issue 10)", ""]
    if not bench:
        return lines + ["Not measured in this run.", ""]
    cpu = {name: spread(sample["cpu"] for sample in bench["samples"][name]) for name in bench["variants"]}
    wall = {name: spread(sample["wall"] for sample in bench["samples"][name]) for name in bench["variants"]}
    floor = cpu["no host matched"]["median"]
    tasks = bench["tasks"]
    meaning = {
        "plain filter": "set_fact templating a builtin filter (`to_json`): the baseline",
        "collection filter": "the same templating a filter of this collection (`wg_ping_batch_results`)",
        "old filter": "the same against %s" % bench.get("old_label"),
        "skipped": "the same tasks, each skipped by a false `when`",
        "no host matched": "the same tasks in a play whose hosts match no host: the cost of starting ansible-playbook",
    }
    lines += ["`benchmarks/bench_controller_tasks.py`: one play of %d tasks on localhost (no lab), %d runs of each variant,"
              % (tasks, bench["repeat"]),
              "the variants alternating; CPU seconds of ansible-playbook and its children (user + system), median [min-max].",
              "Per task: (variant - no host matched) / %d. Load at the end: %s." % (tasks, bench.get("load_end", "n/a")), "",
              "| variant | what | CPU | per task | wall |", "|---|---|---|---|---|"]
    for name in bench["variants"]:
        per_task = (cpu[name]["median"] - floor) / tasks * 1000 if floor is not None else None
        per_task_text = "%.0f ms" % per_task if per_task is not None else "n/a"
        row = (name, meaning.get(name, ""), med_spread(cpu[name]), per_task_text, med_spread(wall[name]))
        lines.append("| %s | %s | %s | %s | %s |" % row)
    lines += ["",
              "Ansible loads every filter file of a collection in each worker that templates any one of its filters, and",
              "compiles it from source there (no bytecode cache); the filter files therefore import the diagnosis only inside",
              "the filter that needs it. A skipped task still forks a worker; a play that matches no host queues nothing:",
              "diagnose.yml's second pass and remediation plays match no host when they have nothing to do (a healthy",
              "2-end diagnosis: 73 task runs instead of 136).", ""]
    return lines


def write(results: str, out: str) -> None:
    info = load(results, "machine.json") or {}
    lines = ["# Benchmarks", "",
             "Written by `benchmarks/run_all.sh` (`make bench`); do not edit by hand. Speed and scale are measured here,",
             "never by timed assertions in tests. Every number stands next to a baseline measured in the same run, on the",
             "same machine. The machine is shared (other labs run beside this one): compare a number with its baseline,",
             "not with another run's. How to run and read them: `benchmarks/README.md`.", ""]
    lines += section_machine(info)
    lines += section_wg_facts(load(results, "wg_facts.json"))
    lines += section_probe(results)
    lines += section_playbook(load(results, "diagnose_healthy.json"), load(results, "diagnose_broken.json"))
    lines += section_core(load(results, "diagnosis_core.json"))
    lines += section_fleet_sizes(load(results, "fleet_sizes.json"))
    lines += section_controller(load(results, "controller_tasks.json"))
    lines += ["## Run", "", "Whole `run_all.sh`: %s (lab up to lab down included)." % info.get("total", "n/a"), ""]
    with open(out, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines))


def machine(out: str) -> None:
    """The machine and versions, for a run of section 5 alone (the whole run writes more, with the classic lab's)."""
    def first(*argv: str) -> str:
        try:
            lines = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False).stdout.splitlines()
        except OSError as exc:
            return "n/a (%s)" % exc
        return lines[0].strip() if lines else "n/a"
    with open("/proc/cpuinfo", encoding="utf-8") as handle:
        cpu = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), "n/a")
    info = {"date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "cpu": cpu, "nproc": first("nproc"),
            "load_at_start": "%.2f %.2f %.2f" % os.getloadavg(), "ansible_core": first("ansible", "--version"),
            "lab": "podman %s" % first("podman", "--version").split()[-1]}
    with open(out, "w", encoding="utf-8") as handle:
        json.dump(info, handle, indent=1)


def main() -> None:
    if sys.argv[1] == "machine":
        machine(sys.argv[2])
    elif sys.argv[1] == "diagnosis-core":
        repeat = int(sys.argv[sys.argv.index("--repeat") + 1]) if "--repeat" in sys.argv else 3
        sizes = [int(a) for a in sys.argv[sys.argv.index("--sizes") + 1:]] if "--sizes" in sys.argv else [1000, 10000, 20000]
        diagnosis_core(sys.argv[2], repeat, sizes)
    elif sys.argv[1] == "write":
        write(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "controller-section":
        replace_section(sys.argv[3], section_controller(load(sys.argv[2], "controller_tasks.json")), CONTROLLER_SECTION)
    elif sys.argv[1] == "fleet-section":
        replace_section(sys.argv[3], section_fleet_sizes(load(sys.argv[2], "fleet_sizes.json"), load(sys.argv[2], "machine.json")))
    elif sys.argv[1] == "probe-pass-section":
        info = json.load(open(sys.argv[3], encoding="utf-8")) if len(sys.argv) > 3 else None
        print("\n".join(section_probe_pass(json.load(open(sys.argv[2], encoding="utf-8")), info)))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
