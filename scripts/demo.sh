#!/usr/bin/env bash
# The main job on an embedded default: a lab tunnel broken three ways at once
# (nftables drop on the server, a wrong server public key on the client, the
# NATed client without PersistentKeepalive), diagnosed, then fixed and verified.
#
#   scripts/demo.sh              diagnose, remediate, verify; remove the lab afterwards
#   WGD_KEEP_LAB=1 scripts/demo.sh   leave the lab running to look around
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
"$repo/scripts/bootstrap.sh"
export PATH="$repo/.venv/bin:$PATH" CONTAINERS_CONF="$repo/tests/lab/containers.conf"
export ANSIBLE_CONFIG="$repo/ansible.cfg" WGD_LAB_PREFIX="${WGD_LAB_PREFIX:-wgd-demo}" WGD_LAB_INDEX="${WGD_LAB_INDEX:-4}"
lab() { python "$repo/tests/lab/lab.py" "$@"; }
on() { podman exec "$WGD_LAB_PREFIX-$1" sh -ec "$2"; }
[[ -n "${WGD_KEEP_LAB:-}" ]] || trap 'lab down' EXIT

echo "== building the lab (reused when it is already built)"
lab up
inventory="$repo/.cache/demo-inventory.json"
lab inventory > "$inventory"
ansible-playbook -i "$inventory" extensions/molecule/resources/playbooks/deploy_tunnel.yml >/dev/null

echo "== breaking the tunnel three ways"
on server "nft add table inet filter && nft add chain inet filter input '{ type filter hook input priority 0; policy accept; }' && nft add rule inet filter input udp dport 51820 counter drop"
on client "sed -i 's|^PublicKey = .*|PublicKey = YJxs/Xv1rk/q7NfjD0vQzHPvYQzHLYgqFoW6E2X0sFQ=|; /^PersistentKeepalive/d' /etc/wireguard/wg0.conf"
on server "systemctl restart wg-quick@wg0"
on client "systemctl restart wg-quick@wg0"
on client "wg show wg0 latest-handshakes" | sed 's/^/client: latest handshake /'

echo "== diagnose, then fix and verify"
report_dir="$repo/wg-report"
ansible-playbook -i "$inventory" playbooks/diagnose.yml -e "wg_report_dir=$report_dir" -e "wg_remediate=${WGD_REMEDIATE:-true}" "$@"
echo "== report: $report_dir/report.md and $report_dir/report.json"
