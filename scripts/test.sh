#!/usr/bin/env bash
# Run every test of wgdoctor.wireguard, from nothing: bootstrap, lab image, unit
# tests, ansible-lint, ansible-test sanity, Molecule scenarios, lab suites.
# Prints each stage and its time; stops at the first failing stage and shows its
# output. Every lab container and network is removed on exit, failure included.
#
#   scripts/test.sh                 every stage
#   scripts/test.sh unit lint       only the named stages (bootstrap always runs)
set -uo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
logs="$repo/tests/output/stages"
mkdir -p "$logs"
export CONTAINERS_CONF="$repo/tests/lab/containers.conf"
export PATH="$repo/.venv/bin:$PATH"
export ANSIBLE_NOCOLOR=1 PY_COLORS=0 NO_COLOR=1 ANSIBLE_PIPELINING=1
export WGD_LAB_PREFIX="${WGD_LAB_PREFIX:-wgd}"

all_stages=(bootstrap image unit lint sanity molecule lab)
if (($#)); then stages=(bootstrap "$@"); else stages=("${all_stages[@]}"); fi

cleanup() {
  if [[ -x "$repo/.venv/bin/python" ]] && command -v podman >/dev/null; then
    "$repo/.venv/bin/python" "$repo/tests/lab/lab.py" down >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

stage_bootstrap() { "$repo/scripts/bootstrap.sh"; }
stage_image() { python tests/lab/lab.py image; }
stage_unit() { python -m pytest tests/unit -q -p no:cacheprovider; }
stage_lint() { ansible-lint --profile production --offline; }
stage_sanity() { "$repo/scripts/sanity.sh"; }
stage_molecule() { molecule test --all; }
stage_lab() {
  python -m pytest tests/integration -q -p no:cacheprovider -x
  local rc=$?
  # pytest exits 5 when it collected nothing: no lab suite yet is not a failure of this stage.
  [[ $rc -eq 5 ]] && { echo "no lab suites collected"; return 0; }
  return $rc
}

summary=()
total_start=$(date +%s)
for stage in "${stages[@]}"; do
  printf '==> %-10s ' "$stage"
  start=$(date +%s)
  "stage_$stage" >"$logs/$stage.log" 2>&1
  rc=$?
  took=$(( $(date +%s) - start ))
  summary+=("$(printf '%-10s %4ss  %s' "$stage" "$took" "$([[ $rc -eq 0 ]] && echo ok || echo FAILED)")")
  if [[ $rc -ne 0 ]]; then
    echo "FAILED after ${took}s (exit $rc); output:"
    tail -n 400 "$logs/$stage.log"
    printf '%s\n' "${summary[@]}"
    exit "$rc"
  fi
  echo "ok (${took}s)"
  # The closing lines of pytest stages, so a reader (and CI) sees the counts.
  [[ $stage == unit || $stage == lab ]] && grep -E '^[0-9]+ passed|passed|no tests ran|no lab suites' "$logs/$stage.log" | tail -n 1
done
echo "---- stage times"
printf '%s\n' "${summary[@]}"
echo "total $(( $(date +%s) - total_start ))s"
