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
ansible-test sanity --venv --python "$version" "$@"
