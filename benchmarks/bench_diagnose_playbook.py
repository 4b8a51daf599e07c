#!/usr/bin/env python
# Copyright (c) 2026, wgdoctor contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark (not a test): wall time of playbooks/diagnose.yml on the lab, next to a one-command baseline.

  python benchmarks/bench_diagnose_playbook.py -i INVENTORY --label healthy [--repeat 3] [--json OUT]
  python benchmarks/bench_diagnose_playbook.py -i INVENTORY --label broken --break-lab [--repeat 3] [--json OUT]

Each sample runs, back to back so both see the same load on the machine:
  baseline  `ansible wireguard -i INV -m ansible.builtin.command -a "wg show all dump"` (what an operator
            would do by hand: one command on every end, no analysis);
  playbook  `ansible-playbook -i INV playbooks/diagnose.yml` (diagnosis only, no remediation), timed to
            the verdict (the end of its `Diagnose` task, read from the streamed output) and to the end.
--break-lab first breaks the lab the way scripts/demo.sh does: an nftables drop of UDP 51820 on the
server and a wrong server public key on the client, applied live (see BREAK).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from lab_inventory import container_of
from timing import adhoc_floor, spread, timed_playbook

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
WRONG_SERVER_KEY = "YJxs/Xv1rk/q7NfjD0vQzHPvYQzHLYgqFoW6E2X0sFQ="
# Applied live with `wg syncconf` rather than `systemctl restart wg-quick@wg0`: in the lab, stopping a
# wireguard-go wg-quick unit often hangs for systemd's 90 s stop timeout (wireguard-go does not exit when
# wg-quick deletes its link), which would measure the lab, not the diagnosis. Removing the server's peer
# first clears its handshake state, as the restart in scripts/demo.sh does.
SYNC = "wg syncconf wg0 /dev/stdin <<EOF\n$(wg-quick strip wg0)\nEOF\n"
BREAK = {
    "server": "nft add table inet filter && "
              "nft add chain inet filter input '{ type filter hook input priority 0; policy accept; }' && "
              "nft add rule inet filter input udp dport 51820 counter drop && "
              "for peer in $(wg show wg0 peers); do wg set wg0 peer $peer remove; done\n" + SYNC,
    "client": "sed -i 's|^PublicKey = .*|PublicKey = %s|' /etc/wireguard/wg0.conf\n" % WRONG_SERVER_KEY + SYNC,
}


def env() -> dict:
    return dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), PYTHONUNBUFFERED="1",
                ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")


def break_lab(inventory: str) -> None:
    for host in ("server", "client"):
        proc = subprocess.run(["podman", "exec", container_of(inventory, host), "sh", "-ec", BREAK[host]], env=env(),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
        if proc.returncode != 0:
            raise SystemExit("breaking %s failed: %s" % (host, proc.stdout))


def playbook(inventory: str, report_dir: str) -> dict:
    """Wall time to the end of the `Diagnose` task (the verdict) and to the end of the playbook."""
    argv = ["ansible-playbook", "-i", inventory, "playbooks/diagnose.yml", "-e", "wg_report_dir=%s" % report_dir]
    run = timed_playbook(argv, env(), REPO)
    result = {"seconds": run["seconds"], "verdict_seconds": run.get("verdict"), "rc": run["rc"], "findings": None}
    try:
        with open(os.path.join(report_dir, "report.json"), encoding="utf-8") as handle:
            report = json.load(handle)
        # The verdict is the first pass's (report.json also has `after` when the run remediated).
        result["findings"] = sorted({finding["code"] for finding in report.get("before", report).get("findings", [])})
    except (OSError, ValueError):
        result["error_tail"] = "".join(line for line in run["tail"].splitlines(keepends=True) if line.strip())[-1500:]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-i", "--inventory", required=True)
    parser.add_argument("--label", required=True)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--break-lab", action="store_true")
    parser.add_argument("--report-dir", default=os.path.join(REPO, ".cache", "bench-report"))
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    inventory = os.path.abspath(args.inventory)
    if args.break_lab:
        break_lab(inventory)
    baselines, runs = [], []
    for sample in range(args.repeat):
        report_dir = os.path.join(args.report_dir, "%s-%d" % (args.label, sample))
        baselines.append(adhoc_floor(inventory, env(), REPO))
        runs.append(playbook(inventory, report_dir))
        print("%s #%d: diagnose.yml verdict %s s, whole %.1f s (rc %d, findings %s); ad-hoc wg show all dump %.1f s (rc %d)" % (
            args.label, sample + 1, "%.1f" % runs[-1]["verdict_seconds"] if runs[-1]["verdict_seconds"] else "-",
            runs[-1]["seconds"], runs[-1]["rc"], runs[-1]["findings"], baselines[-1]["seconds"], baselines[-1]["rc"]),
            flush=True)
        if runs[-1].get("error_tail") and sample == 0:
            print(runs[-1]["error_tail"], flush=True)
    results = {"label": args.label, "broken": args.break_lab, "runs": runs, "baselines": baselines,
               "verdict": spread([run["verdict_seconds"] for run in runs]), "playbook": spread([run["seconds"] for run in runs]),
               "baseline": spread([run["seconds"] for run in baselines])}
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=1)


if __name__ == "__main__":
    sys.exit(main())
