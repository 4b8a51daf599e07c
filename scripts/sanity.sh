#!/usr/bin/env bash
# ansible-test needs the collection at a real .../ansible_collections/NS/NAME path
# (not a symlink): copy the files git knows into .cache/ and run sanity there.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
# A directory per run: two runs side by side must not delete each other's tree.
run_root="$repo/.cache/sanity/run-$$"
dest="$run_root/ansible_collections/wgdoctor/wireguard"
trap 'rm -rf "$run_root"' EXIT
rm -rf "$run_root" && mkdir -p "$dest"
(cd "$repo" && git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} cp --parents {} "$dest/")
cd "$dest"
git init -q && git add -A
python="$(command -v python)"
version="$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
# ansible-test skips a test whose program is missing (shellcheck) or that cannot run on this
# Python with only a warning, and still exits 0: such a skip fails this script, the sanity
# stage must not claim a test it did not run.
log="$run_root/sanity.log"
rc=0
ansible-test sanity --venv --python "$version" "$@" 2>&1 | tee "$log" || rc=$?
if grep -E '^WARNING: (Skipping sanity test|Required program ")' "$log" >"$run_root/skipped"; then
  echo "sanity: a test was skipped instead of run (install what it needs: scripts/bootstrap.sh):" >&2
  cat "$run_root/skipped" >&2
  exit 1
fi
exit "$rc"
