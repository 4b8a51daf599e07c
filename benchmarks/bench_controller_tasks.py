# Copyright (c) 2026, wgdoctor contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What one task costs the controller: section 6 of docs/benchmarks.md.

Nearly all the CPU of a diagnosis (and of the lab tests) is ansible-playbook on the controller, and most of that
is paid per task and host: a worker process forked for each, skipped tasks included. Each variant below is one
play of --tasks tasks on localhost (no lab, no target), run --repeat times, the variants alternating, and timed in
CPU seconds of ansible-playbook and its children (less sensitive to a shared machine than wall time):

    plain filter        set_fact templating a builtin filter (to_json): the baseline
    collection filter   the same templating a filter of this collection (wg_ping_batch_results)
    old filter          the same against the collection in --old-checkout (e.g. a worktree of an older commit)
    skipped             the same tasks, each skipped by a false `when`
    no host matched     the same tasks in a play whose hosts pattern matches no host

    python benchmarks/bench_controller_tasks.py --json out.json [--old-checkout DIR --old-label TEXT]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
COLLECTION_FILTER = "{{ {'rc': 0, 'stdout': ''} | wgdoctor.wireguard.wg_ping_batch_results([]) }}"
PLAIN_FILTER = "{{ {'rc': 0, 'stdout': ''} | to_json }}"


def play(tasks: int, template: str, when: str | None = None, hosts: str = "localhost") -> list:
    task = {"ansible.builtin.set_fact": {"bench_value": template}}
    if when is not None:
        task["when"] = when
    return [{"name": "bench", "hosts": hosts, "gather_facts": False, "connection": "local",
             "tasks": [dict(task, name="task %d" % number) for number in range(tasks)]}]


def collections_path(checkout: str, workdir: str) -> str:
    """An ansible_collections tree whose wgdoctor/wireguard is `checkout`."""
    root = os.path.join(workdir, "collections-%d" % abs(hash(checkout)))
    link = os.path.join(root, "ansible_collections", "wgdoctor", "wireguard")
    if not os.path.islink(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(os.path.abspath(checkout), link)
    return root


def run(playbook: str, collections: str) -> dict:
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_NOCOLOR="1",
               ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_INVENTORY_UNPARSED_WARNING="False",
               ANSIBLE_LOCALHOST_WARNING="False")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(["ansible-playbook", "-i", "localhost,", playbook], env=env, cwd=REPO,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit("%s failed:\n%s" % (playbook, proc.stdout[-3000:]))
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--old-checkout", help="also time the collection filter of the collection in this directory")
    parser.add_argument("--old-label", default=None, help="what the old checkout is, for the report")
    parser.add_argument("--json", required=True)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wgd-bench-controller-") as workdir:
        current = collections_path(REPO, workdir)
        variants = [("plain filter", play(args.tasks, PLAIN_FILTER), current),
                    ("collection filter", play(args.tasks, COLLECTION_FILTER), current),
                    ("skipped", play(args.tasks, COLLECTION_FILTER, when="false"), current),
                    ("no host matched", play(args.tasks, COLLECTION_FILTER, hosts="all:!all"), current)]
        if args.old_checkout:
            variants.insert(2, ("old filter", play(args.tasks, COLLECTION_FILTER), collections_path(args.old_checkout, workdir)))
        paths = {}
        for name, content, _collections in variants:
            paths[name] = os.path.join(workdir, name.replace(" ", "_") + ".yml")
            with open(paths[name], "w", encoding="utf-8") as handle:
                json.dump(content, handle)
        samples: dict[str, list] = {name: [] for name, _content, _collections in variants}
        for _round in range(args.repeat):
            for name, _content, collections in variants:
                samples[name].append(run(paths[name], collections))
                print("%-18s %s" % (name, samples[name][-1]), file=sys.stderr, flush=True)
    result = {"tasks": args.tasks, "repeat": args.repeat, "old_checkout": args.old_checkout,
              "old_label": args.old_label or args.old_checkout, "load_end": "%.2f %.2f %.2f" % os.getloadavg(),
              "variants": [name for name, _content, _collections in variants], "samples": samples}
    with open(args.json, "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=1)


if __name__ == "__main__":
    main()
