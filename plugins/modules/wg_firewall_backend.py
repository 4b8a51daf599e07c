#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r'''
---
module: wg_firewall_backend
short_description: Name the firewall backend a host filters with, read by the readers the diagnosis uses
version_added: 0.1.0
description:
  - Runs the firewall commands C(wgdoctor.wireguard.wg_facts) runs (C(nft -j list ruleset), C(iptables-legacy-save),
    C(iptables-nft-save) and their IPv6 and plain C(iptables-save) forms, C(ufw status verbose), C(firewall-cmd)),
    in the C locale, and reads them with the same readers (C(plugins/module_utils/firewall/reach.py)).
  - Returns the active backends in the order the diagnosis ranks them (RV(backends)) and the one the
    C(wgdoctor.wireguard.firewall) role changes with C(firewall_backend=auto) (RV(backend)), in the role's terms.
  - B(The pick.) The first backend, in the order C(ufw), C(firewalld), C(nftables), C(iptables-nft), C(iptables-legacy),
    that filters what the role opens - the input hook, and with O(forward) the forward hook too. ufw and firewalld
    filter both; nftables counts its own filter base chains (not the tables iptables-nft or firewalld keep in nftables);
    iptables counts the filter table's C(INPUT)/C(FORWARD) with a rule or a policy other than ACCEPT, in both the
    legacy and the nft variant whatever C(iptables) points to. A backend active only elsewhere (Docker's nat and
    FORWARD chains without O(forward), a table hooked on forward alone) is listed but not picked. None of them - C(none).
  - Only reads; changes nothing.
author:
  - wgdoctor contributors (@wgdoctor)
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: The module only reads; it runs the same in check mode.
  diff_mode:
    description: Will return details on what has changed when in diff mode.
    support: none
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
options:
  forward:
    description:
      - Count a backend that filters forwarded traffic (the forward hook) as well as one that filters the input hook,
        as the role does with C(firewall_forward=true).
    type: bool
    default: false
notes:
  - Commands that are not installed are skipped; a command that fails and rules that cannot be parsed are named in
    RV(errors), and a backend whose rules cannot be read counts as filtering everything (it may).
seealso:
  - module: wgdoctor.wireguard.wg_facts
  - module: wgdoctor.wireguard.wg_firewall
'''

EXAMPLES = r'''
- name: Which firewall would the firewall role change on this host?
  wgdoctor.wireguard.wg_firewall_backend:
  register: backend

- name: Say it with the evidence
  ansible.builtin.debug:
    msg: "{{ backend.backend }} (active: {{ backend.backends | join(', ') }}): {{ backend.evidence | join('; ') }}"

- name: The same for a tunnel that routes traffic through the host
  wgdoctor.wireguard.wg_firewall_backend:
    forward: true
  register: forward_backend
'''

RETURN = r'''
backend:
  description:
    - The backend the firewall role changes, in its C(firewall_backend) terms.
    - C(iptables) stands for both C(iptables-nft) and C(iptables-legacy); C(none) when no active backend filters the hooks asked.
  type: str
  returned: always
  sample: iptables
backends:
  description: Every active backend as the readers name it (the C(firewall.backends) fact of wg_facts), in the diagnosis' order.
  type: list
  elements: str
  returned: always
  sample: ["nftables", "iptables-nft"]
filtering:
  description: Of RV(backends), those that filter the input hook (and the forward hook with O(forward)); RV(backend) is the first.
  type: list
  elements: str
  returned: always
  sample: ["iptables-nft"]
evidence:
  description: Per active backend, what makes it filter (chain, rule count, policy) or why it is not picked.
  type: list
  elements: str
  returned: always
  sample: ["nftables: active, but nothing of it filters the input hook",
           "iptables_nft: filter INPUT, 1 rule(s), policy ACCEPT"]
errors:
  description: Commands that failed and rules that could not be parsed.
  type: list
  elements: str
  returned: always
  sample: []
'''

import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall import reach
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.host import runner as wg_host_runner


def main() -> t.NoReturn:
    module = AnsibleModule(
        argument_spec=dict(forward=dict(type="bool", default=False)),
        supports_check_mode=True,
    )
    host = wg_host_runner.Host(module)
    outputs = wg_host_runner.firewall_outputs(host)
    try:
        found = reach.active_backends(outputs, forward=module.params["forward"])
    except Exception as exc:  # pylint: disable=broad-except
        # A reader bug: say which, and pick nothing rather than a backend no reader vouched for.
        module.fail_json(msg="the firewall readers failed on this host's rules: %s: %s" % (type(exc).__name__, exc),
                         errors=host.errors)
    module.exit_json(changed=False, backend=found["backend"], backends=found["backends"], filtering=found["filtering"],
                     evidence=found["evidence"], errors=host.errors + found["errors"])


if __name__ == "__main__":
    main()
