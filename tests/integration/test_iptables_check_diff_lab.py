"""The firewall role on iptables: `--check --diff` shows every line a real run then adds to the boot rules file.

Issue #11: the rules file was planned from the live `iptables-save` only, which a check run never changes, so the
check run showed the live inserts but not the rules.v4 lines (found on the fleet by test_fleet_remediation_lab).
Here on the lab server, with the port opening and the MSS clamp (the clamp's lines are added by a task of its own),
an interface and a port that are not wg0/51820, and a rules file that a boot loader restores, as on a Debian host
without netfilter-persistent.
"""
from __future__ import annotations

import re

from test_fault_matrix import _recap_changed

IFACE = "wgchk7"
PORT = 43917
RULES = "/etc/iptables/rules.v4"
LOADER = "/etc/network/if-pre-up.d/wgd-iptables"
# The host's own rules file: a DROP of the port the role must open above, and a chain of another tool it must keep.
HOST_RULES = ("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:OTHER-TOOL - [0:0]\n"
              f"-A INPUT -p udp -m udp --dport {PORT} -j DROP\n-A OTHER-TOOL -s 192.0.2.66/32 -j RETURN\nCOMMIT\n"
              "*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
              ":POSTROUTING ACCEPT [0:0]\nCOMMIT\n")
PLAY = f"""\
- hosts: server
  gather_facts: false
  tasks:
    - name: The firewall role on iptables with the MSS clamp
      ansible.builtin.include_role:
        name: wgdoctor.wireguard.firewall
      vars:
        firewall_interface: {IFACE}
        firewall_port: {PORT}
        firewall_backend: iptables
        firewall_mss_clamp: true
"""


def test_check_diff_shows_every_rules_file_line_the_real_run_adds(lab, tmp_path):
    playbook = tmp_path / "firewall.yml"
    playbook.write_text(PLAY)
    lab.sh("server", f"mkdir -p /etc/iptables /etc/network/if-pre-up.d && cp -a /etc/iptables /root/iptables.chk && "
                     f"printf '%s' '{HOST_RULES}' > {RULES} && "
                     f"printf '#!/bin/sh\\niptables-restore < {RULES}\\n' > {LOADER} && chmod 755 {LOADER} && {LOADER}")
    try:
        live_before = lab.sh("server", "iptables-save | grep -v '^#' | sed 's/\\[[0-9]*:[0-9]*\\]//'").stdout
        check = lab.playbook(playbook, "--check", "--diff")
        assert _recap_changed(check.stdout, "server") > 0, check.stdout[-3000:]
        assert lab.sh("server", f"cat {RULES}").stdout == HOST_RULES, "the check run wrote the rules file"
        assert lab.sh("server", "iptables-save | grep -v '^#' | sed 's/\\[[0-9]*:[0-9]*\\]//'").stdout == live_before

        real = lab.playbook(playbook, "--diff")
        after = lab.sh("server", f"cat {RULES}").stdout.splitlines()
        added = [line for line in after if line not in HOST_RULES.splitlines()]
        # The port opening in filter INPUT and the clamp both ways in mangle FORWARD: the role's own lines only.
        assert len([line for line in added if re.search(rf"--dport {PORT} .*wgdoctor.* -j ACCEPT$", line)]) == 1, added
        assert len([line for line in added if "TCPMSS" in line and IFACE in line]) == 2, added
        assert all("wgdoctor" in line for line in added), added
        assert "-A OTHER-TOOL -s 192.0.2.66/32 -j RETURN" in after
        shown = {line[1:] for line in check.stdout.splitlines() if line.startswith("+-A ")}
        made = {line[1:] for line in real.stdout.splitlines() if line.startswith("+-A ")}
        assert set(added) <= made, f"the real run's diff does not show {sorted(set(added) - made)}"
        assert shown == made, f"--check --diff only: {sorted(shown - made)}\nthe real run only: {sorted(made - shown)}"
        # The lab's containers may not unshare a bare network namespace (no CAP_SYS_ADMIN): a user namespace can.
        booted = lab.sh("server", f"unshare -Urn sh -c '{LOADER} && iptables -S INPUT'").stdout
        assert re.search(rf"--dport {PORT} .*-j ACCEPT", booted), booted

        again = lab.playbook(playbook, "--check", "--diff")
        assert _recap_changed(again.stdout, "server") == 0, again.stdout[-3000:]
    finally:
        lab.sh("server", f"rm -f {LOADER}; rm -rf /etc/iptables && mv /root/iptables.chk /etc/iptables; "
                         "iptables-save | grep -v wgdoctor | grep -v -- '-A INPUT -p udp -m udp --dport' | "
                         "grep -v OTHER-TOOL | iptables-restore; ip6tables-save | grep -v wgdoctor | ip6tables-restore", check=False)
