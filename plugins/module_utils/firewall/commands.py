# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The commands that show a host's firewall, one per backend and variant.

Their own file: the modules that only run them (wg_facts) ship this list, not the readers that
interpret the output (firewall/reach.py, which runs on the controller for wg_facts).
"""
from __future__ import annotations

FIREWALL_COMMANDS = {
    "nft": ["nft", "-j", "list", "ruleset"],
    "iptables_legacy": ["iptables-legacy-save", "-c"],
    "iptables_nft": ["iptables-nft-save", "-c"],
    "ip6tables_legacy": ["ip6tables-legacy-save", "-c"],
    "ip6tables_nft": ["ip6tables-nft-save", "-c"],
    # Distributions without the -legacy/-nft names ship one iptables-save; its header says which.
    "iptables": ["iptables-save", "-c"],
    "ip6tables": ["ip6tables-save", "-c"],
    "ufw": ["ufw", "status", "verbose"],
    "firewalld_state": ["firewall-cmd", "--state"],
    # firewalld 1.3 marks no zone "(default)" in --list-all-zones; unbound interfaces fall into this one.
    "firewalld_default_zone": ["firewall-cmd", "--get-default-zone"],
    "firewalld_active_zones": ["firewall-cmd", "--get-active-zones"],
    "firewalld_zones": ["firewall-cmd", "--list-all-zones"],
    # firewalld 0.9+: what a policy forwards or masquerades between zones; 0.x refuses the option (rc != 0).
    "firewalld_policies": ["firewall-cmd", "--list-all-policies"],
}
