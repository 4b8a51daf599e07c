#!/usr/bin/env python
# Copyright (c) 2026, wgdoctor contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark (not a test): a diagnosis pass with many probes and pings, this checkout against an older one.

  python benchmarks/bench_probe_pass.py -i INVENTORY --old-checkout DIR [--repeat 2] [--forks 25] [--json OUT]

DIR is a checkout of the collection before the probes ran in parallel (e.g. `git worktree add DIR <commit>`):
its own playbooks AND its own plugins run (ANSIBLE_COLLECTIONS_PATH points at it), so the baseline is the
old pass as it was, on the same lab, in the same run. Each sample runs, back to back:
  floor     `ansible wireguard -i INV -m ansible.builtin.command -a "wg show all dump"`;
  old       `ansible-playbook playbooks/diagnose.yml` of DIR;
  new       `ansible-playbook playbooks/diagnose.yml` of this checkout;
both with the same `--forks`. Timed from the streamed output: to the facts (the controller's first task
after them), through the probes and pings (to the task that assembles their records), to the verdict (the end
of the `Diagnose` task) and to the end. The report of each run gives the number of probes and pings, and the
probes whose capture saw nothing of them (`arrived` 0) or could not tell (`arrived` null).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

from timing import adhoc_floor, spread, timed_playbook

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
FACTS_DONE = "TASK [Collect the facts of the ends that answered"
PROBES_DONE = "TASK [Assemble probe and ping records]"


def env(checkout: str, collections: str, forks: int) -> dict:
    return dict(os.environ, ANSIBLE_CONFIG=os.path.join(checkout, "ansible.cfg"), ANSIBLE_COLLECTIONS_PATH=collections,
                ANSIBLE_FORKS=str(forks), PYTHONUNBUFFERED="1", ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")


def collections_for(checkout: str, scratch: str) -> str:
    """A collections path whose wgdoctor.wireguard is `checkout` itself."""
    root = os.path.join(scratch, os.path.basename(os.path.abspath(checkout)) + "-collections")
    link = os.path.join(root, "ansible_collections", "wgdoctor", "wireguard")
    if not os.path.islink(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(os.path.abspath(checkout), link)
    return root


def playbook(checkout: str, inventory: str, run_env: dict, report_dir: str, extra: list) -> dict:
    argv = ["ansible-playbook", "-i", inventory, os.path.join(checkout, "playbooks", "diagnose.yml"),
            "-e", "wg_report_dir=%s" % report_dir] + [arg for value in extra for arg in ("-e", value)]
    run = timed_playbook(argv, run_env, checkout, {"facts": FACTS_DONE, "probes": PROBES_DONE})
    with open(report_dir.rstrip("/") + ".log", "w", encoding="utf-8") as handle:
        handle.write("".join(run.pop("lines")))
    tail = run.pop("tail")
    result: dict = run
    try:
        with open(os.path.join(report_dir, "report.json"), encoding="utf-8") as handle:
            report = json.load(handle)
        before = report.get("before", report)
        probes = before.get("probes", [])
        result.update(probe_count=len(probes), ping_count=len(before.get("pings", [])),
                      arrived_zero=sum(1 for p in probes if p.get("arrived") == 0),
                      arrived_unknown=sum(1 for p in probes if p.get("arrived") is None),
                      findings=sorted({f["code"] for f in before.get("findings", []) if f.get("severity") != "info"}))
    except (OSError, ValueError):
        result["error_tail"] = tail[-1500:]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-i", "--inventory", required=True)
    parser.add_argument("--old-checkout", required=True)
    parser.add_argument("--label", default="fleet")
    parser.add_argument("--lab", default="the lab", help="what the inventory is, in words, for the report")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--forks", type=int, default=25)
    parser.add_argument("--json", help="write the results here")
    # The path MTU search (issue 16) runs in both passes the same way and would dominate the phase timed here.
    parser.add_argument("-e", "--extra-vars", action="append", default=["wg_path_mtu=false"],
                        help="extra variables for both playbooks (default: wg_path_mtu=false)")
    args = parser.parse_args()
    inventory = os.path.abspath(args.inventory)
    scratch = tempfile.mkdtemp(prefix="bench-probe-pass-")
    checkouts = {"old": os.path.abspath(args.old_checkout), "new": REPO}
    envs = dict((name, env(path, collections_for(path, scratch), args.forks)) for name, path in checkouts.items())
    runs: dict[str, list] = {"floor": [], "old": [], "new": []}
    for sample in range(args.repeat):
        runs["floor"].append(adhoc_floor(inventory, envs["new"], REPO))
        for name, path in checkouts.items():
            runs[name].append(playbook(path, inventory, envs[name], os.path.join(scratch, "%s-%d" % (name, sample)),
                                       args.extra_vars))
            run = runs[name][-1]
            print("%s %s #%d: facts %s, probes+pings done %s, verdict %s, whole %.1f s (rc %d); %s probes, %s pings, "
                  "arrived 0: %s, unknown: %s; findings %s" % (
                      args.label, name, sample + 1, *("%.1f" % run[k] if run.get(k) else "-" for k in ("facts", "probes", "verdict")),
                      run["seconds"], run["rc"], run.get("probe_count"), run.get("ping_count"), run.get("arrived_zero"),
                      run.get("arrived_unknown"), run.get("findings")), flush=True)
            if run.get("error_tail"):
                print(run["error_tail"], flush=True)
        print("%s floor #%d: ad-hoc wg show all dump %.1f s (rc %d)" % (
            args.label, sample + 1, runs["floor"][-1]["seconds"], runs["floor"][-1]["rc"]), flush=True)
    old_commit = subprocess.run(["git", "-C", checkouts["old"], "rev-parse", "--short", "HEAD"], stdout=subprocess.PIPE,
                                text=True, check=False).stdout.strip() or "n/a"
    summary = {"label": args.label, "lab": args.lab, "forks": args.forks, "extra_vars": args.extra_vars, "old_commit": old_commit, "runs": runs,
               "floor": spread([r["seconds"] for r in runs["floor"]])}
    for name in checkouts:
        summary[name] = dict((key, spread([run.get(key) for run in runs[name]])) for key in ("facts", "probes", "verdict", "seconds"))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(summary, handle, indent=1)


if __name__ == "__main__":
    sys.exit(main())
