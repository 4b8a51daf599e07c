#!/usr/bin/env bash
# Run every test of wgdoctor.wireguard, from nothing: bootstrap, lab image, unit
# tests, ansible-lint, ansible-test sanity, Molecule scenarios, lab suites.
# Prints each stage and its time; stops at the first failing stage and shows its
# output. Every lab container and network is removed on exit, failure included.
#
#   scripts/test.sh                 every stage
#   scripts/test.sh unit lint       only the named stages (bootstrap always runs)
#
# The molecule and lab stages each run their own lab and run side by side: most of their
# time is spent waiting on handshakes, timeouts and systemd, not on the CPU. Four lanes:
#   molecule  (prefix wgd-mol, lab index 1)    the Molecule scenarios, then the check-mode, role lab
#                                              and not-applied suites
#   lab       (prefix wgd-suite, index 0)      half of the fault matrix (--shard 0/2) and the suites
#                                              not named below
#   lab2      (prefix wgd-suite2, index 2)     IPv6, path MTU, the fleet remediation proof
#   lab3      (prefix wgd-suite3, index 3)     the other half of the fault matrix, monitor, start
#                                              failures, keepalive safety, remedy order and changes,
#                                              the fleet fault matrix
# so that the lanes end at about the same time. The unit tests, lint and sanity run side by side
# too (lint and sanity start with the unit tests; each stage still has its own log and verdict).
set -uo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo" || exit
logs="$repo/tests/output/stages"
mkdir -p "$logs"
export CONTAINERS_CONF="$repo/tests/lab/containers.conf"
export PATH="$repo/.venv/bin:$PATH"
export ANSIBLE_NOCOLOR=1 PY_COLORS=0 NO_COLOR=1 ANSIBLE_PIPELINING=1

all_stages=(bootstrap image unit molecule lint sanity lab)
if (($#)); then stages=(bootstrap "$@"); else stages=("${all_stages[@]}"); fi
wants() { local s; for s in "${stages[@]}"; do [[ $s == "$1" ]] && return 0; done; return 1; }

lab_down() {
  if [[ -x "$repo/.venv/bin/python" ]] && command -v podman >/dev/null; then
    WGD_LAB_PREFIX="$1" "$repo/.venv/bin/python" "$repo/tests/lab/lab.py" down >/dev/null 2>&1 || true
    # The fleet lab (tests/lab/fleet.py) is a container of its own that lab.py does not know.
    WGD_LAB_PREFIX="$1" "$repo/.venv/bin/python" "$repo/tests/lab/fleet.py" down >/dev/null 2>&1 || true
  fi
}
background_pid=""
lab2_pid=""
lab3_pid=""
lint_pid=""
sanity_pid=""
cleanup() {
  # The background stage runs in a process group of its own (setsid): end all of it, Molecule's
  # ansible-playbook children included, before its lab is removed.
  local pid
  for pid in "$background_pid" "$lab2_pid" "$lab3_pid" "$lint_pid" "$sanity_pid"; do
    if [[ -n "$pid" ]]; then
      kill -TERM -- "-$pid" 2>/dev/null
      wait "$pid" 2>/dev/null
    fi
  done
  lab_down wgd-mol
  lab_down wgd-suite
  lab_down wgd-suite2
  lab_down wgd-suite3
}
trap cleanup EXIT

stage_bootstrap() { "$repo/scripts/bootstrap.sh"; }
stage_image() { python tests/lab/lab.py image; }
stage_unit() { python -m pytest tests/unit -q -p no:cacheprovider; }
# mypy.ini: module_utils and plugin_utils, read through the .cache/collections link bootstrap makes.
# docsite.sh: antsibull-docs lint-collection-docs and the docs site, built with Sphinx -W.
stage_lint() {
  ansible-lint --profile production && antsibull-changelog lint && mypy --config-file "$repo/mypy.ini" \
    && "$repo/scripts/docsite.sh"
}
stage_sanity() { "$repo/scripts/sanity.sh"; }
stage_molecule() { WGD_LAB_PREFIX=wgd-mol WGD_LAB_INDEX=1 setsid molecule test --all; }
stage_lab() {
  WGD_LAB_PREFIX=wgd-suite WGD_LAB_INDEX=0 python -m pytest tests/integration -v -p no:cacheprovider --durations=0 --shard 0/2 "$@"
}
# The suites the Molecule lane takes over when both lanes run (see the top).
lane_suites="tests/integration/test_check_mode.py tests/integration/test_roles_lab.py tests/integration/test_not_applied_lab.py"
# The suites of the second and third lab lanes, each on a lab of its own (see the top).
lab2_suites="tests/integration/test_ipv6_lab.py tests/integration/test_mtu_lab.py tests/integration/test_fleet_remediation_lab.py"
lab3_suites="tests/integration/test_monitor_lab.py tests/integration/test_startup_faults_lab.py
tests/integration/test_keepalive_safety_lab.py tests/integration/test_remediation_order_lab.py tests/integration/test_remedy_changed_lab.py
tests/integration/test_fleet_lab.py"
lab2_lane() {
  # shellcheck disable=SC2086  # lab2_suites is a list of paths without spaces
  WGD_LAB_PREFIX=wgd-suite2 WGD_LAB_INDEX=2 python -m pytest $lab2_suites -v -p no:cacheprovider --durations=0
}
lab3_lane() {
  # shellcheck disable=SC2086  # lab3_suites is a list of paths without spaces
  WGD_LAB_PREFIX=wgd-suite3 WGD_LAB_INDEX=3 python -m pytest tests/integration/test_fault_matrix.py $lab3_suites -v \
    -p no:cacheprovider --durations=0 --shard 1/2
}
molecule_lane() {
  # shellcheck disable=SC2086  # lane_suites is a list of paths without spaces
  WGD_LAB_PREFIX=wgd-mol WGD_LAB_INDEX=1 molecule test --all \
    && WGD_LAB_PREFIX=wgd-mol WGD_LAB_INDEX=1 python -m pytest $lane_suites -v -p no:cacheprovider --durations=0
}

summary=()
total_start=$(date +%s)
fail() {  # stage, seconds, rc
  echo "FAILED after ${2}s (exit $3); output:"
  tail -n 400 "$logs/$1.log"
  summary+=("$(printf '%-10s %4ss  FAILED' "$1" "$2")")
  printf '%s\n' "${summary[@]}"
  exit "$3"
}
ok() {  # stage, seconds
  echo "ok (${2}s)"
  summary+=("$(printf '%-10s %4ss  ok' "$1" "$2")")
  # The closing line of pytest stages, so a reader (and CI) sees the counts.
  if [[ $1 == unit || $1 == lab || $1 == lab2 || $1 == lab3 || $1 == molecule ]]; then grep -E '[0-9]+ (passed|failed)' "$logs/$1.log" | tail -n 1; fi
}

# A stage started early in the background (lint and sanity beside the unit tests): its log and verdict.
wait_stage() {  # stage, pid, start
  printf '==> %-10s ' "$1"
  wait "$2"; local rc=$?
  local took=$(( $(date +%s) - $3 ))
  (( rc == 0 )) || fail "$1" "$took" "$rc"
  ok "$1" "$took"
}

for stage in "${stages[@]}"; do
  if [[ $stage == molecule ]] && wants lab; then
    printf '==> %-10s started beside the lab stage (then %s)\n' molecule "$lane_suites"
    molecule_start=$(date +%s)
    export -f molecule_lane; export lane_suites
    setsid bash -c molecule_lane >"$logs/molecule.log" 2>&1 &
    background_pid=$!
    continue
  fi
  if [[ $stage == unit ]]; then
    # lint and sanity need only the bootstrap: they run beside the unit tests.
    for early in lint sanity; do
      if wants "$early"; then
        printf '==> %-10s started beside the unit tests\n' "$early"
        setsid bash -c "$(declare -f "stage_$early"); repo='$repo'; stage_$early" >"$logs/$early.log" 2>&1 &
        if [[ $early == lint ]]; then lint_pid=$!; lint_start=$(date +%s); else sanity_pid=$!; sanity_start=$(date +%s); fi
      fi
    done
  fi
  if [[ $stage == lint && -n "$lint_pid" ]]; then wait_stage lint "$lint_pid" "$lint_start"; lint_pid=""; continue; fi
  if [[ $stage == sanity && -n "$sanity_pid" ]]; then wait_stage sanity "$sanity_pid" "$sanity_start"; sanity_pid=""; continue; fi
  printf '==> %-10s ' "$stage"
  start=$(date +%s)
  stage_args=()
  if [[ $stage == lab && -n "$background_pid" ]]; then
    for suite in $lane_suites; do stage_args+=(--ignore="$suite"); done
  fi
  if [[ $stage == lab ]]; then
    for suite in $lab2_suites $lab3_suites; do stage_args+=(--ignore="$suite"); done
    export -f lab2_lane lab3_lane; export lab2_suites lab3_suites
    setsid bash -c lab2_lane >"$logs/lab2.log" 2>&1 &
    lab2_pid=$!
    setsid bash -c lab3_lane >"$logs/lab3.log" 2>&1 &
    lab3_pid=$!
  fi
  "stage_$stage" "${stage_args[@]}" >"$logs/$stage.log" 2>&1
  rc=$?
  took=$(( $(date +%s) - start ))
  (( rc == 0 )) || fail "$stage" "$took" "$rc"
  ok "$stage" "$took"
  if [[ $stage == lab ]]; then
    wait_stage lab2 "$lab2_pid" "$start"; lab2_pid=""
    wait_stage lab3 "$lab3_pid" "$start"; lab3_pid=""
  fi
  if [[ $stage == lab && -n "$background_pid" ]]; then
    wait_stage molecule "$background_pid" "$molecule_start"; background_pid=""
  fi
done
echo "---- stage times"
printf '%s\n' "${summary[@]}"
echo "total $(( $(date +%s) - total_start ))s"
