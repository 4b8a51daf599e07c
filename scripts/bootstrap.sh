#!/usr/bin/env bash
# Install everything the tests and the lab need on a fresh Debian 12 machine:
# Debian packages for the lab, and the pinned Python environment in .venv/.
# Idempotent: a second run only checks.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
venv="$repo/.venv"

# podman, runc, debootstrap, uidmap: the lab. The unit tests compare with the real tools rather
# than skip (wg pubkey, tcpdump's capture, nft rules in a network namespace): wireguard-tools,
# tcpdump, nftables, iptables, iproute2. shellcheck: the sanity test of that name.
apt_packages=(podman runc debootstrap uidmap wireguard-tools tcpdump nftables iptables iproute2 shellcheck chromium)
missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "bootstrap: installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# ansible-core 2.20+ needs Python 3.12: take pyenv's when the image has one.
pick_python() {
  local root candidates
  root="$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")"
  for candidates in "$root"/versions/3.12.*/bin/python3 "$(command -v python3.12 || true)"; do
    [[ -x "$candidates" ]] && { echo "$candidates"; return; }
  done
  command -v python3
}
python="$(pick_python)"
py_version="$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
if [[ "$py_version" == "3.12" ]]; then
  constraints=("-c" "$repo/constraints-py312.txt")
else
  # Python 3.11 allows ansible-core 2.19 / ansible 12 at most; the README's matrix and
  # meta/runtime.yml name the same versions (tests/unit/test_versions.py).
  constraints=("ansible-core>=2.19,<2.20" "ansible>=12,<13")
fi

stamp="$venv/.wgdoctor-stamp"
want="$(cat "$repo/requirements-dev.txt" "$repo/constraints-py312.txt" | sha256sum | cut -c1-16) $python"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "bootstrap: .venv is up to date ($("$venv/bin/python" --version))"
else
  if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cut -d' ' -f2- "$stamp")" == "$python" ]]; then
    # Same interpreter, changed requirements: update in place, so that tests running from this
    # .venv beside the bootstrap keep their interpreter and packages.
    echo "bootstrap: updating .venv to the changed requirements"
  else
    echo "bootstrap: creating .venv with $python (Python $py_version)"
    rm -rf "$venv"
    "$python" -m venv "$venv"
  fi
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$repo/requirements-dev.txt" "${constraints[@]}"
  echo "$want" > "$stamp"
fi
"$repo/scripts/setup-ansible-test.sh" "$venv/bin/python" >/dev/null

# Playbooks run from the checkout find the collection through ansible.cfg's collections_path.
mkdir -p "$repo/.cache/collections/ansible_collections/wgdoctor"
ln -sfn "$repo" "$repo/.cache/collections/ansible_collections/wgdoctor/wireguard"
