#!/usr/bin/env bash
# Every benchmark in one command; rewrites docs/benchmarks.md. Also `make bench`.
#
#   benchmarks/run_all.sh                      lab prefix wgd-bench, index 8 (override with WGD_LAB_PREFIX / WGD_LAB_INDEX)
#   BENCH_REPEAT=5 benchmarks/run_all.sh       more samples per measure (default 3)
#   BENCH_ONLY=fleet benchmarks/run_all.sh     section 5 alone (fleet sizes); rewrites only that section
#   BENCH_ONLY=controller benchmarks/run_all.sh  section 6 alone (one task's controller cost, no lab)
#   BENCH_CONTROLLER_OLD=faa4ef6                also time section 6's collection filter as of that commit
#   BENCH_FLEET_SIZES="1 20 50"                 spokes per fleet in section 5, the first is the baseline
#   BENCH_FLEET_OLD=8226ebe^                    also run that commit's diagnosis pass on hub + 20 (off by default)
#   BENCH_FLEET_OLD_AT="1 20 50"               the fleets the old pass runs on (default 20)
#   BENCH_FLEET_CHECKOUT=DIR                    time the collection in DIR (e.g. a worktree of a commit) in section 5
#   BENCH_FLEET_LABEL=..., BENCH_FLEET_OLD_LABEL=...  what each pass is, in words, for the report (default: its commit)
#
# Starts its own lab, measures, removes the lab (on failure too). Results stay in
# .cache/bench/<UTC time>/ (raw outputs, JSON) next to the Markdown report.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
export PATH="$repo/.venv/bin:$PATH" CONTAINERS_CONF="$repo/tests/lab/containers.conf" ANSIBLE_CONFIG="$repo/ansible.cfg"
export WGD_LAB_PREFIX="${WGD_LAB_PREFIX:-wgd-bench}" WGD_LAB_INDEX="${WGD_LAB_INDEX:-8}"
repeat="${BENCH_REPEAT:-3}"
# Section 5: the fleets' sizes (the first, a hub and one spoke, is the 2-end verdict the others are judged
# against) and, optionally, the commit whose sequential diagnosis pass also runs on hub + 20.
fleet_sizes="${BENCH_FLEET_SIZES:-1 20 50}"
fleet_old="${BENCH_FLEET_OLD:-}"
only="${BENCH_ONLY:-}"
started=$(date +%s)
results="$repo/.cache/bench/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$results"
inventory="$results/inventory.json"
lab() { python "$repo/tests/lab/lab.py" "$@"; }
fleet() { python "$repo/tests/lab/fleet.py" "$@"; }
on() { podman exec "$WGD_LAB_PREFIX-$1" sh -ec "$2"; }
step() { echo "== [$(( $(date +%s) - started )) s] $*"; }
# Before anything takes minutes: the largest fleet needs one inotify instance per wireguard-go (a machine-wide
# limit that this script never changes: it says what it needs and stops).
# shellcheck disable=SC2086
python benchmarks/bench_fleet_sizes.py --sizes $fleet_sizes --check-inotify

fleet_section() {
    step "5. diagnose.yml on fleets of $fleet_sizes spokes, each next to its floor, samples alternating"
    local old_args=(--checkout "${BENCH_FLEET_CHECKOUT:-$repo}")
    [ -z "${BENCH_FLEET_LABEL:-}" ] || old_args+=(--label "$BENCH_FLEET_LABEL")
    [ -z "${BENCH_FLEET_OLD_LABEL:-}" ] || old_args+=(--old-label "$BENCH_FLEET_OLD_LABEL")
    trap 'fleet down >/dev/null 2>&1 || true; git worktree remove --force "$results/old-pass" >/dev/null 2>&1 || true' EXIT
    if [ -n "$fleet_old" ]; then
        git worktree add --detach "$results/old-pass" "$fleet_old" >/dev/null
        # shellcheck disable=SC2206
        old_args+=(--old-checkout "$results/old-pass" --old-at ${BENCH_FLEET_OLD_AT:-20})
    fi
    # shellcheck disable=SC2086
    python benchmarks/bench_fleet_sizes.py --sizes $fleet_sizes --repeat "$repeat" "${old_args[@]}" \
        --logs "$results/fleet" --json "$results/fleet_sizes.json"
    [ -z "$fleet_old" ] || git worktree remove --force "$results/old-pass"
    trap - EXIT
}

controller_section() {
    step "6. what one task costs the controller (no lab)"
    local old_args=()
    trap 'git worktree remove --force "$results/old-filters" >/dev/null 2>&1 || true' EXIT
    if [ -n "${BENCH_CONTROLLER_OLD:-}" ]; then
        git worktree add --detach "$results/old-filters" "$BENCH_CONTROLLER_OLD" >/dev/null
        old_args=(--old-checkout "$results/old-filters" --old-label "commit $BENCH_CONTROLLER_OLD")
    fi
    python benchmarks/bench_controller_tasks.py --repeat "$repeat" "${old_args[@]}" --json "$results/controller_tasks.json"
    [ -z "${BENCH_CONTROLLER_OLD:-}" ] || git worktree remove --force "$results/old-filters"
    trap - EXIT
}

if [ "$only" = controller ]; then
    controller_section
    python benchmarks/bench_report.py controller-section "$results" docs/benchmarks.md
    step "done: section 6 of docs/benchmarks.md (raw results in $results)"
    exit 0
fi

if [ "$only" = fleet ]; then
    python benchmarks/bench_report.py machine "$results/machine.json"
    fleet_section
    python benchmarks/bench_report.py fleet-section "$results" docs/benchmarks.md
    step "done: section 5 of docs/benchmarks.md (raw results in $results)"
    exit 0
fi
trap 'step "removing the lab"; lab down >/dev/null 2>&1 || true; rm -f "$results/probe.key"' EXIT

step "4. the diagnosis core (no lab needed)"
python benchmarks/bench_report.py diagnosis-core "$results/diagnosis_core.json" --repeat "$repeat" --sizes 1000 10000 20000

step "the lab: $WGD_LAB_PREFIX, index $WGD_LAB_INDEX"
lab up
lab inventory > "$inventory"
ansible-playbook -i "$inventory" extensions/molecule/resources/playbooks/deploy_tunnel.yml >"$results/deploy.log"
server_address=$(python -c 'import json,sys; print(json.load(open(sys.argv[1]))["all"]["vars"]["lab_server_address"])' "$inventory")
server_key=$(on server "wg show wg0 public-key")

python - "$results/machine.json" "$WGD_LAB_PREFIX-server" "$WGD_LAB_PREFIX" "$WGD_LAB_INDEX" <<'EOF'
import json, os, platform, subprocess, sys, time
def out(*argv):
    try:
        return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True).stdout.strip()
    except OSError as exc:
        return "n/a (%s)" % exc
def cpu():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()
mem = [line for line in open("/proc/meminfo") if line.startswith("MemTotal")][0].split()[1]
try:
    import nacl
    pynacl = nacl.__version__
except ImportError:
    pynacl = "not installed"
server = sys.argv[2]
info = {
    "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
    "machine": platform.node(), "cpu": cpu(), "nproc": out("nproc"), "ram": "%.1f GiB" % (int(mem) / 1024 / 1024),
    "kernel": platform.release(), "load_at_start": "%.2f %.2f %.2f" % os.getloadavg(),
    "python": "controller %s" % platform.python_version(),
    "ansible_core": out("ansible", "--version").splitlines()[0],
    "pynacl": pynacl,
    "wireguard_go": "lab hosts: " + out("podman", "exec", server, "wireguard-go", "--version").splitlines()[0],
    "wg": "lab hosts: " + out("podman", "exec", server, "wg", "--version"),
    "target_python": "lab hosts: " + out("podman", "exec", server, "python3", "--version"),
    "lab": "podman %s, systemd containers (Debian 12), prefix %s, index %s" % (
        out("podman", "--version").split()[-1], sys.argv[3], sys.argv[4]),
}
json.dump(info, open(sys.argv[1], "w"), indent=1)
EOF

step "2. udp_probe: ok probes against the lab server, plain UDP baseline"
umask 077
wg genkey > "$results/probe.key"
on server "wg set wg0 peer $(wg pubkey < "$results/probe.key")"
: > "$results/probe_ok.txt"; : > "$results/udp_baseline.txt"
for _n in $(seq "$repeat"); do
    python benchmarks/bench_udp_baseline.py --container "$WGD_LAB_PREFIX-server" --address "$server_address" --count 100 \
        | tee -a "$results/udp_baseline.txt"
    python benchmarks/bench_probe.py --target "$server_address:51820" --responder-key "$server_key" \
        --private-key-file "$results/probe.key" --count 50 --timeout 1.0 --retries 2 | tee -a "$results/probe_ok.txt"
done
on server "wg set wg0 peer $(wg pubkey < "$results/probe.key") remove"

step "3. diagnose.yml on the healthy lab"
python benchmarks/bench_diagnose_playbook.py -i "$inventory" --label healthy --repeat "$repeat" \
    --report-dir "$results/reports" --json "$results/diagnose_healthy.json"

step "1. wg_facts with 1k, 10k, 20k peers"
python benchmarks/bench_wg_facts.py -i "$inventory" --sizes 1000 10000 20000 --repeat "$(( repeat + 2 ))" --json "$results/wg_facts.json"

step "3. diagnose.yml on the broken lab (nftables drop on the server, wrong server key on the client)"
python benchmarks/bench_diagnose_playbook.py -i "$inventory" --label broken --break-lab --repeat "$repeat" \
    --report-dir "$results/reports" --json "$results/diagnose_broken.json"

step "2. udp_probe: time to a timeout verdict on the lab path (the server drops UDP 51820)"
python benchmarks/bench_probe.py --target "$server_address:51820" --responder-key "$server_key" \
    --private-key-file "$results/probe.key" --count 3 | tee "$results/probe_dropped.txt"

step "removing the lab"
trap - EXIT
lab down

fleet_section
controller_section
rm -f "$results/probe.key"
total=$(( $(date +%s) - started ))
python - "$results/machine.json" "$total" <<'EOF'
import json, sys
info = json.load(open(sys.argv[1]))
info["total"] = "%d min %02d s" % divmod(int(sys.argv[2]), 60)
json.dump(info, open(sys.argv[1], "w"), indent=1)
EOF
python benchmarks/bench_report.py write "$results" docs/benchmarks.md
step "done: docs/benchmarks.md (raw results in $results)"
