#!/usr/bin/env python
# Copyright (c) 2026, wgdoctor contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark (not a test): wg_facts on a running wireguard-go interface with 1k, 10k, 20k peers.

  python benchmarks/bench_wg_facts.py -i INVENTORY [--host server] [--sizes 1000 10000 20000] [--repeat 3] [--json OUT]

What is timed, all of it inside the lab container so podman's exec overhead counts nowhere:
  gather   the module's own work: `gather(module)` of plugins/modules/wg_facts.py, called from the
           AnsiballZ payload Ansible really sends (kept with ANSIBLE_KEEP_REMOTE_FILES, exploded), in a
           fresh python3 process per sample, with a real AnsibleModule built from the real args.
  module   the whole module process as Ansible starts it on the target: `python3 AnsiballZ_wg_facts.py`
           (interpreter start, payload unzip, imports, gather, JSON out).
  controller_firewall  the controller's share: the firewall verdicts wg_facts' action plugin computes from
           what the module returned (plugin_utils/firewall_facts.py), on the controller.
  Each also in CPU seconds (the process and the commands it runs), which a busy machine inflates less.
  dump     the baseline: the bare `wg show all dump` command, the one command the module cannot avoid.
Peers go both into the running interface (`wg addconf`) and into /etc/wireguard/wg0.conf, as on a real
hub, so the module parses 10k [Peer] sections and pairs them with 10k runtime peers. The original config
and runtime are restored at the end.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
import time

from lab_inventory import container_of
from timing import spread

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
WORK = "/tmp/wgd-bench"

# Runs inside the container (Debian's python3), one fresh process per `gather` sample.
INNER = r'''
import contextlib, io, json, os, resource, subprocess, sys, time
work = sys.argv[2]

def gather_once():
    debug_dir = os.path.join(work, "debug_dir")
    sys.path.insert(0, debug_dir)
    from ansible.module_utils import basic
    with open(os.path.join(debug_dir, "args"), "rb") as handle:
        basic._ANSIBLE_ARGS = handle.read()
    basic._ANSIBLE_PROFILE = "legacy"
    from ansible_collections.wgdoctor.wireguard.plugins.modules import wg_facts
    real_gather, box = wg_facts.wg_host_facts.gather, {}

    def timed(*args):
        cpu, start = sum(os.times()[:4]), time.perf_counter()
        box["facts"], box["firewall_input"] = real_gather(*args)
        box["seconds"] = time.perf_counter() - start
        box["cpu"] = sum(os.times()[:4]) - cpu  # this process and the commands it ran (wg, ip, ss, nft ...)
        return box["facts"], box["firewall_input"]

    wg_facts.wg_host_facts.gather = timed
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            wg_facts.main()
        except SystemExit:
            pass
    # The firewall verdicts are computed on the controller (wg_facts' action plugin): it times them from this.
    with open(os.path.join(work, "facts_and_firewall_input.json"), "w") as handle:
        json.dump([box["facts"], box["firewall_input"]], handle)
    wg0 = box["facts"]["interfaces"].get("wg0") or {}
    print(json.dumps({"seconds": box["seconds"], "cpu": box["cpu"],
                      "runtime_peers": len((wg0.get("runtime") or {}).get("peers") or []),
                      "config_peers": len((wg0.get("config") or {}).get("peers") or []),
                      "errors": box["facts"]["errors"][:3]}))

def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime

def timed_run(argv, cpu=None):
    before, start = children_cpu(), time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seconds = time.perf_counter() - start
    if cpu is not None:
        cpu.append(children_cpu() - before)
    return seconds, proc

def measure(repeat):
    out = {"dump": [], "gather": [], "gather_cpu": [], "module": [], "module_cpu": [], "dump_cpu": [], "peers": None}
    for _sample in range(repeat):
        seconds, proc = timed_run(["wg", "show", "all", "dump"], out["dump_cpu"])
        out["dump"].append(seconds)
        out["dump_lines"] = proc.stdout.count(b"\n")
        _seconds, proc = timed_run([sys.executable, __file__, "gather", work])
        sample = json.loads(proc.stdout)
        out["gather"].append(sample["seconds"])
        out["gather_cpu"].append(sample["cpu"])
        out["peers"] = sample
        seconds, proc = timed_run([sys.executable, os.path.join(work, "AnsiballZ_wg_facts.py")], out["module_cpu"])
        if proc.returncode != 0 or b'"failed": true' in proc.stdout:
            raise SystemExit("module failed: %s" % proc.stdout[-500:])
        out["module"].append(seconds)
    print(json.dumps(out))

if sys.argv[1] == "gather":
    gather_once()
else:
    measure(int(sys.argv[3]))
'''


def podman(*args: str, input_text: str | None = None, check: bool = True) -> str:
    env = dict(os.environ, CONTAINERS_CONF=os.environ.get("CONTAINERS_CONF", os.path.join(REPO, "tests/lab/containers.conf")))
    proc = subprocess.run(["podman", *args], env=env, input=input_text, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          check=False)
    if check and proc.returncode != 0:
        raise SystemExit("podman %s: rc %d: %s" % (" ".join(args[:3]), proc.returncode, proc.stderr.strip()[-400:]))
    return proc.stdout


def public_keys(count: int) -> list:
    """Real Curve25519 public keys (PyNaCl), as a hub's clients would have."""
    try:
        from nacl.public import PrivateKey  # pylint: disable=import-outside-toplevel
        return [base64.b64encode(bytes(PrivateKey.generate().public_key)).decode() for _n in range(count)]
    except ImportError:
        return [base64.b64encode(os.urandom(32)).decode() for _n in range(count)]


def tunnel_ip(n: int) -> str:
    return "10.%d.%d.%d" % (100 + n // 62500, (n // 250) % 250, n % 250 + 2)


def peers_text(start: int, keys: list) -> str:
    return "".join("\n[Peer]\nPublicKey = %s\nAllowedIPs = %s/32\n" % (key, tunnel_ip(start + n)) for n, key in enumerate(keys))


def keep_payload(inventory: str, host: str, container: str) -> float:
    """Run the module once through Ansible, keep the AnsiballZ file it sent, explode it in WORK."""
    podman("exec", container, "sh", "-c", "rm -rf /root/.ansible/tmp/ansible-tmp-* %s; mkdir -p %s" % (WORK, WORK))
    env = dict(os.environ, ANSIBLE_KEEP_REMOTE_FILES="1", ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"))
    start = time.perf_counter()
    proc = subprocess.run(["ansible", host, "-i", inventory, "-m", "wgdoctor.wireguard.wg_facts"], env=env, cwd=REPO,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit("ansible -m wgdoctor.wireguard.wg_facts failed:\n%s" % proc.stdout[-2000:])
    podman("exec", container, "sh", "-ec", "cp /root/.ansible/tmp/ansible-tmp-*/AnsiballZ_wg_facts.py %s/ && cd %s && "
           "python3 AnsiballZ_wg_facts.py explode >/dev/null && rm -rf /root/.ansible/tmp/ansible-tmp-*" % (WORK, WORK))
    podman("exec", "-i", container, "sh", "-c", "cat > %s/inner.py" % WORK, input_text=INNER)
    return seconds


def controller_firewall(container: str, repeat: int) -> list:
    """Seconds of the controller's share of wg_facts (the action plugin's firewall verdicts), on the facts and
    firewall input the last `gather` sample returned; each sample on a fresh copy, as each run gets its own."""
    sys.path.insert(0, os.path.join(REPO, ".cache", "collections"))
    from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.firewall_facts import attach_firewall  # pylint: disable=import-outside-toplevel
    text = podman("exec", container, "cat", "%s/facts_and_firewall_input.json" % WORK)
    samples = []
    for _sample in range(repeat):
        facts, firewall_input = json.loads(text)
        start = time.perf_counter()
        attach_firewall(facts, firewall_input)
        samples.append(time.perf_counter() - start)
    return samples


def add_peers(container: str, start: int, keys: list) -> float:
    text = peers_text(start, keys)
    podman("exec", "-i", container, "sh", "-c", "cat > %s/peers.conf" % WORK, input_text=text)
    begin = time.perf_counter()
    podman("exec", container, "sh", "-ec", "wg addconf wg0 {0}/peers.conf && cat {0}/peers.conf >> /etc/wireguard/wg0.conf".format(WORK))
    return time.perf_counter() - begin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-i", "--inventory", required=True)
    parser.add_argument("--host", default="server")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 20000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    container = container_of(args.inventory, args.host)

    podman("exec", container, "sh", "-ec", "mkdir -p %s && cp /etc/wireguard/wg0.conf /root/wg0.conf.bench-orig" % WORK)
    results = {"timed": "gather(module) of wg_facts.py from the real AnsiballZ payload, in-container, fresh process per sample",
               "container": container, "sizes": []}
    try:
        results["adhoc_seconds"] = keep_payload(args.inventory, args.host, container)
        existing = int(podman("exec", container, "sh", "-c", "wg show wg0 peers | wc -l").strip())
        added = 0
        for size in sorted(args.sizes):
            need = size - existing - added
            keys = public_keys(max(need, 0))
            load_seconds = add_peers(container, added, keys) if keys else 0.0
            added += len(keys)
            out = json.loads(podman("exec", container, "python3", "%s/inner.py" % WORK, "measure", WORK, str(args.repeat)))
            row = {"peers": size, "runtime_peers": out["peers"]["runtime_peers"], "config_peers": out["peers"]["config_peers"],
                   "module_errors": out["peers"]["errors"], "addconf_seconds": load_seconds,
                   "gather": spread(out["gather"]), "module": spread(out["module"]), "dump": spread(out["dump"]),
                   "controller_firewall": spread(controller_firewall(container, args.repeat)),
                   "gather_cpu": spread(out["gather_cpu"]), "module_cpu": spread(out["module_cpu"]), "dump_cpu": spread(out["dump_cpu"])}
            results["sizes"].append(row)
            print("%6d peers (runtime %d, config %d): gather %.3f s [%.3f-%.3f] cpu %.3f s, module process %.3f s cpu %.3f s, "
                  "firewall verdicts on the controller %.3f s, wg show all dump %.3f s cpu %.3f s"
                  % (size, row["runtime_peers"], row["config_peers"], row["gather"]["median"], row["gather"]["min"],
                     row["gather"]["max"], row["gather_cpu"]["median"], row["module"]["median"], row["module_cpu"]["median"],
                     row["controller_firewall"]["median"], row["dump"]["median"], row["dump_cpu"]["median"]), flush=True)
    finally:
        # Back to the deployed tunnel, so whatever runs next sees the lab as it was.
        podman("exec", container, "sh", "-ec", "cp /root/wg0.conf.bench-orig /etc/wireguard/wg0.conf && "
               "wg syncconf wg0 /dev/stdin <<EOF\n$(wg-quick strip wg0)\nEOF\nrm -rf %s" % WORK, check=False)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=1)


if __name__ == "__main__":
    sys.exit(main())
