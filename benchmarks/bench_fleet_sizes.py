#!/usr/bin/env python
# Copyright (c) 2026, wgdoctor contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark (not a test): diagnose.yml on fleets of several sizes in one run, each next to its floor.

  python benchmarks/bench_fleet_sizes.py --sizes 1 20 50 [--repeat 2] [--json OUT] [--logs DIR]
                                         [--old-checkout DIR --old-at 20]
  python benchmarks/bench_fleet_sizes.py --sizes 1 20 50 --check-inotify

Every size is the fleet lab (tests/lab/fleet.py, WGD_LAB_PREFIX/WGD_LAB_INDEX): a hub and N spokes, each a
network namespace in one container, reached the same way. The smallest size (a hub and one spoke) is the
2-end verdict the others are judged against: the same kind of host, connection and hub (its strangers and
runtime-only peer) as the big fleets, so the ratio measures the fleet's size and nothing else.

Samples alternate the sizes, forth then back (1 20 50, 50 20 1, ...), so a load that drifts over the run
weighs on every size alike; the fleet is rebuilt (`fleet.py up`) only when the size changes. Each sample of
a size runs, back to back, with `--forks` = the number of ends:
  floor     `ansible wireguard -m ansible.builtin.command -a "wg show all dump"` on the same hosts;
  new       `ansible-playbook playbooks/diagnose.yml` of this checkout, or --checkout (no remediation);
  old       (only with --old-checkout, only on the fleets of --old-at spokes) diagnose.yml of that checkout, its own plugins.
The load average at the start and end of each, and the controller's CPU (ansible-playbook, its workers and
the podman clients they start: the children's rusage; what runs inside the fleet container is not counted).
Phases from the streamed output: facts (the leftover-probe clean-up and wg_facts, to the controller's first
task after them), probes + pings (to the task that assembles their records), diagnosis (to the end of the
`Diagnose` task: the verdict), report (to the end); and the wall time of every task, for where the time goes.

--check-inotify only checks that the largest fleet can start: each wireguard-go takes one inotify instance
of root's machine-wide fs.inotify.max_user_instances. The benchmark never changes that limit; when too few
are left it stops and says what it needs (the count of open instances is an upper bound).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
import typing as t

from bench_probe_pass import collections_for, env
from timing import spread, timed_playbook

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
FLEET = os.path.join(REPO, "tests", "lab", "fleet.py")
MARKS = {
    "first_play": "PLAY [",
    "facts_play": "PLAY [Gather WireGuard facts on every end]",
    "facts": "TASK [Collect the facts of the ends that answered",
    "probe_play": "PLAY [Probe every path and ping through every tunnel",
    "pings": "TASK [Ping through every tunnel whose handshake is recent",  # the task and its all-at-once successor
    "probes": "TASK [Assemble probe and ping records]",
}
STAMPED = re.compile(r"^\s*([\d.]+) (TASK|PLAY|PLAY RECAP) ?\[?([^\]*]*)")


def load() -> str:
    return "%.2f %.2f %.2f" % os.getloadavg()


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def inotify_check(largest: int) -> None:
    """Stop before anything is built when the largest fleet cannot start its wireguard-go processes."""
    sys.path.insert(0, os.path.dirname(FLEET))
    import fleet  # pylint: disable=import-outside-toplevel

    needed = largest + 1
    try:
        with open(fleet.INOTIFY_LIMIT, encoding="utf-8") as handle:
            limit = int(handle.read())
    except (OSError, ValueError):
        return
    # This slot's own fleet is rebuilt by the first `fleet.py up`: what it holds now is not needed twice.
    running = fleet.running_spokes()
    own = running + 1 if running is not None else 0
    in_use = fleet.inotify_in_use()
    if limit - (in_use - own) < needed:
        raise SystemExit("bench_fleet_sizes: a hub with %d spokes needs %d inotify instances, %d are free at most "
                         "(this slot's own fleet counted as free). %s This benchmark does not change the limit: raise it "
                         "for the run (e.g. `echo 512 > %s`, machine-wide, as root) and set it back after, or run fewer "
                         "spokes (BENCH_FLEET_SIZES)." % (largest, needed, limit - (in_use - own),
                                                          fleet.inotify_advice(needed), fleet.INOTIFY_LIMIT))
    print("inotify: %d needed, limit %d, %d open now (upper bound, %d of them this slot's fleet)" % (needed, limit, in_use, own),
          flush=True)


def inotify_limit() -> str:
    try:
        with open("/proc/sys/fs/inotify/max_user_instances", encoding="utf-8") as handle:
            return handle.read().strip()
    except OSError:
        return "n/a"


def fleet_up(spokes: int, inventory: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, FLEET, "up", "--spokes", str(spokes)], cwd=REPO, check=True)
    seconds = time.perf_counter() - start
    with open(inventory, "w", encoding="utf-8") as handle:
        handle.write(subprocess.run([sys.executable, FLEET, "inventory"], cwd=REPO, stdout=subprocess.PIPE, text=True,
                                    check=True).stdout)
    return seconds


def task_times(lines: list) -> list:
    """(task or play name, seconds to the next task/play line), in order, from the time-stamped output."""
    stamps = []
    for line in lines:
        match = STAMPED.match(line)
        if match:
            stamps.append((float(match.group(1)), ("%s %s" % (match.group(2), match.group(3))).strip()))
    return [(name, round(stamps[index + 1][0] - at, 2)) for index, (at, name) in enumerate(stamps[:-1])]


def floor(inventory: str, run_env: dict) -> dict:
    cpu, start, load_start = children_cpu(), time.perf_counter(), load()
    proc = subprocess.run(["ansible", "wireguard", "-i", inventory, "-m", "ansible.builtin.command", "-a", "wg show all dump"],
                          env=run_env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    return {"seconds": time.perf_counter() - start, "rc": proc.returncode, "cpu": children_cpu() - cpu,
            "load_start": load_start, "load_end": load()}


def playbook(checkout: str, inventory: str, run_env: dict, report_dir: str, extra: list) -> dict:
    argv = ["ansible-playbook", "-i", inventory, os.path.join(checkout, "playbooks", "diagnose.yml"),
            "-e", "wg_report_dir=%s" % report_dir] + [arg for value in extra for arg in ("-e", value)]
    cpu, load_start = children_cpu(), load()
    run = timed_playbook(argv, run_env, checkout, MARKS)
    run.update(cpu=children_cpu() - cpu, load_start=load_start, load_end=load())
    lines = run.pop("lines")
    with open(report_dir.rstrip("/") + ".log", "w", encoding="utf-8") as handle:
        handle.write("".join(lines))
    run["tasks"] = task_times(lines)
    tail = run.pop("tail")
    try:
        with open(os.path.join(report_dir, "report.json"), encoding="utf-8") as handle:
            report = json.load(handle)
        before = report.get("before", report)
        probes = before.get("probes", [])
        run.update(probe_count=len(probes), ping_count=len(before.get("pings", [])),
                   arrived_zero=sum(1 for p in probes if p.get("arrived") == 0),
                   arrived_unknown=sum(1 for p in probes if p.get("arrived") is None),
                   findings=sorted({f["code"] for f in before.get("findings", []) if f.get("severity") != "info"}))
    except (OSError, ValueError):
        run["error_tail"] = tail[-1500:]
    return run


def commit_of(checkout: str) -> str:
    """The checkout's commit, with `+changes` when its tracked files differ from it."""
    def git(*argv: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", "-C", checkout, *argv], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, check=False)
    commit = git("rev-parse", "--short", "HEAD").stdout.strip() or "n/a"
    return commit + ("" if git("diff", "--quiet", "HEAD", "--", "plugins", "playbooks", "roles").returncode == 0 else "+changes")


def order(sizes: list, repeat: int, first: int = 0) -> list:
    """(sample, size) forth then back: 1 20 50, 50 20 1, 1 20 50, ... (from sample `first`: a later run goes on the alternation)."""
    return [(sample, size) for sample in range(first, first + repeat) for size in (sizes if sample % 2 == 0 else sizes[::-1])]


def merge(paths: list) -> dict:
    """Runs of this script, one after another on the same machine, as one: samples appended in the order run."""
    merged: dict = {}
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            part = json.load(handle)
        if not merged:
            merged = part
            merged["parts"] = [dict((key, part.get(key)) for key in ("date", "load_start", "load_end", "commit", "old_commit"))]
            continue
        merged["parts"].append(dict((key, part.get(key)) for key in ("date", "load_start", "load_end", "commit", "old_commit")))
        merged["order"] += part["order"]
        merged["repeat"] += part["repeat"]
        merged["load_end"] = part.get("load_end")
        merged.setdefault("labels", {}).update(part.get("labels") or {})
        for size, entry in part["runs"].items():
            into = merged["runs"].setdefault(size, dict(entry, fleet_up=[], floor=[], new=[], old=[]))
            for key in ("fleet_up", "floor", "new", "old"):
                into[key] = into.get(key, []) + entry.get(key, [])
    merged["sizes"] = sorted(int(size) for size in merged["runs"])
    summarise(merged)
    return merged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 20, 50], help="spokes per fleet; the first is the baseline")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--logs", help="keep inventories, playbook outputs and reports here (default: a temporary directory)")
    parser.add_argument("--checkout", default=REPO, help="the collection whose diagnose.yml and plugins are timed (default: this one)")
    parser.add_argument("--old-checkout", help="also run this checkout's diagnose.yml (its own plugins) at --old-at spokes")
    parser.add_argument("--old-at", type=int, nargs="+", default=[20], help="spokes of the fleets the old checkout runs on")
    parser.add_argument("--label", help="what the timed collection is, in words, for the report (default: its commit)")
    parser.add_argument("--old-label", help="what the old checkout is, in words, for the report (default: its commit)")
    parser.add_argument("--first-sample", type=int, default=0,
                        help="number the samples from here (1 goes on the alternation of a run of 1 sample: sizes back, passes swapped)")
    parser.add_argument("--merge", nargs="+", metavar="JSON", help="only merge these results (runs one after another) into --json")
    parser.add_argument("--check-inotify", action="store_true", help="only check that the largest fleet can start")
    parser.add_argument("--keep-fleet", action="store_true", help="leave the last fleet up")
    # The path MTU search (issue 16) is a phase of its own that would hide the probes + pings phase timed here.
    parser.add_argument("-e", "--extra-vars", action="append", default=["wg_path_mtu=false"],
                        help="extra variables for every playbook (default: wg_path_mtu=false)")
    args = parser.parse_args()
    if args.merge:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(merge(args.merge), handle, indent=1)
        return
    inotify_check(max(args.sizes))
    if args.check_inotify:
        return
    logs = os.path.abspath(args.logs or tempfile.mkdtemp(prefix="bench-fleet-sizes-"))
    os.makedirs(logs, exist_ok=True)
    checkouts = {"new": os.path.abspath(args.checkout)}
    if args.old_checkout:
        checkouts["old"] = os.path.abspath(args.old_checkout)
    collections = dict((name, collections_for(path, logs)) for name, path in checkouts.items())
    results: dict[str, t.Any] = {
        "sizes": args.sizes, "repeat": args.repeat, "inotify_limit": inotify_limit(), "extra_vars": args.extra_vars, "order": [], "load_start": load(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "runs": {},
        "old_at": args.old_at if args.old_checkout else None, "commit": commit_of(args.checkout),
        "old_commit": commit_of(args.old_checkout) if args.old_checkout else None,
        "labels": dict((name, label) for name, label in (("new", args.label), ("old", args.old_label)) if label)}
    current = None
    try:
        for sample, size in order(args.sizes, args.repeat, args.first_sample):
            ends = size + 1
            inventory = os.path.join(logs, "inventory-%d.json" % size)
            entry = results["runs"].setdefault(str(size), {"ends": ends, "forks": ends, "fleet_up": [], "floor": [], "new": [], "old": []})
            if current != size:
                entry["fleet_up"].append(fleet_up(size, inventory))
                current = size
            envs = dict((name, env(path, collections[name], ends)) for name, path in checkouts.items())
            entry["floor"].append(floor(inventory, envs["new"]))
            passes = ["old", "new"] if "old" in checkouts and size in args.old_at else ["new"]
            if sample % 2:
                passes.reverse()
            for name in passes:
                run = playbook(checkouts[name], inventory, envs[name], os.path.join(logs, "%s-%d-%d" % (name, size, sample)),
                               args.extra_vars)
                entry[name].append(run)
                print("hub + %d %s #%d: facts %s, probes+pings done %s, verdict %s, whole %.1f s (rc %d), controller CPU %.1f s, "
                      "load %s -> %s; %s probes, %s pings, arrived 0: %s; findings %s" % (
                          size, name, sample + 1, *("%.1f" % run[k] if run.get(k) else "-" for k in ("facts", "probes", "verdict")),
                          run["seconds"], run["rc"], run["cpu"], run["load_start"], run["load_end"], run.get("probe_count"),
                          run.get("ping_count"), run.get("arrived_zero"), run.get("findings")), flush=True)
                if run.get("error_tail"):
                    print(run["error_tail"], flush=True)
            last = entry["floor"][-1]
            print("hub + %d floor #%d: %.1f s (rc %d), CPU %.1f s, load %s -> %s" % (
                size, sample + 1, last["seconds"], last["rc"], last["cpu"], last["load_start"], last["load_end"]), flush=True)
            results["order"].append(size)
            if args.json:  # as it goes: a run stopped halfway keeps what it measured
                summarise(results)
                with open(args.json, "w", encoding="utf-8") as handle:
                    json.dump(results, handle, indent=1)
    finally:
        if not args.keep_fleet:
            subprocess.run([sys.executable, FLEET, "down"], cwd=REPO, check=False)
    results["load_end"] = load()
    summarise(results)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=1)


def summarise(results: dict) -> None:
    for entry in results["runs"].values():
        entry["summary"] = {"floor": spread(r["seconds"] for r in entry["floor"]),
                            "floor_cpu": spread(r["cpu"] for r in entry["floor"])}
        for name in ("new", "old"):
            if entry[name]:
                entry["summary"][name] = dict((key, spread(run.get(key) for run in entry[name]))
                                              for key in ("first_play", "facts_play", "facts", "probe_play", "pings", "probes", "verdict",
                                                          "seconds", "cpu"))


if __name__ == "__main__":
    main()
