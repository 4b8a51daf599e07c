#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: wg_facts
short_description: Gather everything a host knows about its WireGuard tunnels, without revealing a key
version_added: 0.1.0
description:
  - Reads the wg-quick configuration files and the running interfaces (C(wg show all dump)) of one host, and what
    decides whether a handshake can complete there, the UDP sockets, addresses, routes, forwarding sysctls, clock,
    systemd unit and firewall.
  - Returns them as C(ansible_facts.wireguard), the schema documented in C(docs/facts.md) of the collection.
  - Changes nothing on the host.
  - Private and preshared keys are never returned. A private key is reported as C(has_private_key) and the public key
    derived from it; a preshared key as C(has_preshared_key) and C(preshared_key_digest), which is equal on two ends
    exactly when their preshared keys are equal.
  - Every command or file that cannot be read becomes an entry in C(errors); the module fails only on bad options.
  - The firewall is read on the host (C(nft), C(iptables-save), C(ufw), C(firewall-cmd)) and its verdicts are computed
    on the controller by the action plugin of the same name, with the same readers as on the host; what the task
    returns does not depend on where they ran.
  - A host without WireGuard succeeds with C(implementation=none).
author:
  - wgdoctor contributors (@wgdoctor)
attributes:
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the controller.
    support: full
  async:
    description: Supports being used with the C(async) keyword.
    support: none
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed when in diff mode.
    support: none
  facts:
    description: Action returns an C(ansible_facts) dictionary that will update existing host facts.
    support: full
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
options:
  interfaces:
    description:
      - WireGuard interfaces to report on.
      - Default is every interface with a C(<name>.conf) in O(config_dir) and every running WireGuard interface.
    type: list
    elements: str
    version_added: 0.1.0
  config_dir:
    description:
      - Directory holding the wg-quick configuration files.
    type: path
    default: /etc/wireguard
    version_added: 0.1.0
  resolve_endpoints:
    description:
      - Resolve every hostname Endpoint now, from this host, and report the addresses in C(endpoint.resolved).
      - A name that does not resolve is reported in C(endpoint.resolve_error), it is not a failure.
    type: bool
    default: true
    version_added: 0.1.0
  resolve_timeout:
    description:
      - Seconds to wait for all endpoint names to resolve, together. The module does not wait longer, even for a
        resolver that never answers; such a name is reported in C(endpoint.resolve_error).
    type: float
    default: 3.0
    version_added: 0.1.0
notes:
  - Needs root to read private keys from the configuration files and C(wg show all dump).
  - Routes are looked up per routing table; policy rules other than wg-quick's own fwmark rule are not evaluated.
seealso:
  - name: Facts schema
    description: C(docs/facts.md) in the collection, the contract between this module and the diagnosis.
    link: https://www.wireguard.com/
'''

EXAMPLES = r'''
- name: Gather WireGuard facts
  wgdoctor.wireguard.wg_facts:

- name: Report on wg0 only, without DNS lookups
  wgdoctor.wireguard.wg_facts:
    interfaces: [wg0]
    resolve_endpoints: false

- name: Say when the last handshake with each peer of wg0 happened
  ansible.builtin.debug:
    msg: "{{ item.public_key }}: {{ item.latest_handshake_age | default('never', true) }}"
  loop: "{{ ansible_facts.wireguard.interfaces.wg0.runtime.peers | default([]) }}"
'''

RETURN = r'''
ansible_facts:
  description: Facts added to C(ansible_facts).
  returned: always
  type: dict
  contains:
    wireguard:
      description: The WireGuard facts of the host, schema 1 of C(docs/facts.md).
      returned: always
      type: dict
      contains:
        schema:
          description: Version of the facts schema.
          type: int
          returned: always
          sample: 1
        hostname:
          description: The host's name as it sees itself.
          type: str
          returned: always
        implementation:
          description: What runs WireGuard here.
          type: str
          returned: always
          sample: wireguard-go
        tools:
          description: Versions of C(wg) and C(wireguard-go), and whether C(wg-quick) is installed.
          type: dict
          returned: always
          sample: {"wg": "v1.0.20210914", "wg_quick": true, "wireguard_go": "0.0.20220316"}
        errors:
          description: What could not be read, one sentence each.
          type: list
          elements: str
          returned: always
        addresses:
          description: The host's own addresses.
          type: list
          elements: dict
          returned: always
          sample: [{"interface": "eth0", "address": "198.51.100.10", "prefixlen": 24, "family": 4}]
        uplinks:
          description:
            - The devices the main routing table's default routes leave by, one entry per family (IPv4 first) whose
              default route is not a WireGuard interface; empty without a default route.
          type: list
          elements: dict
          returned: always
          sample: [{"interface": "eth0", "family": 4, "via": "198.51.100.1"}]
        forwarding:
          description: IPv4 and IPv6 forwarding sysctls, null when unknown.
          type: dict
          returned: always
          sample: {"ipv4": false, "ipv6": false}
        clock:
          description:
            - The host's clock, C(epoch) in Unix seconds and whether NTP synchronised it (C(ntp_synchronized)).
            - C(controller_epoch) is the controller's clock when the facts arrived there (added by the action plugin).
          type: dict
          returned: always
        firewall:
          description: Active firewall backends, forward policy and masquerade rules; null when unreadable.
          type: dict
          returned: always
        monitor:
          description:
            - Whether the C(wgdoctor.wireguard.monitor) role's check is installed (C(installed)) and what runs it
              (C(scheduler), C(systemd timer) or C(cron); C(active) for the timer), and per peer what its last check saw
              (C(peers), each with C(interface), C(public_key), C(state) C(up)/C(failing)/C(down), C(failures) in a row,
              C(last_check)).
            - A state file that cannot be read is C(error), naming the file; the settings file is never read.
          type: dict
          returned: always
          sample: {"installed": true, "scheduler": "systemd timer", "active": true, "last_run": 1795622181, "error": null,
                   "state_file": "/var/lib/wgdoctor-monitor/state.json", "peers": []}
        keypair_checks:
          description:
            - The public-key files kept beside each config (C(IF.pub), C(IF.public), C(IF.publickey), C(IF.public.key),
              C(IF_public.key), C(IF-public.key); C(publickey) and C(public.key) where one interface has a config), each
              against the key the config's PrivateKey derives (the running interface's when the config has none).
            - C(problem) says when a file holds the private key (its C(public_key) is then null, the key is never
              returned) or no key at all. Private key files are never read.
          type: list
          elements: dict
          returned: always
          sample: [{"interface": "wg0", "source": "/etc/wireguard/wg0.pub", "public_key": "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=",
                    "derived_public_key": "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=", "match": false, "problem": null}]
        interfaces:
          description:
            - Interface name to C(name), C(config) (the file as wg-quick reads it), C(runtime) (C(wg show) of the running
              interface or null), C(drift), C(unit), C(listening), C(routes) and C(firewall). See C(docs/facts.md).
          type: dict
          returned: always
'''

import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.host import facts as wg_host_facts


def main() -> t.NoReturn:
    module = AnsibleModule(
        argument_spec=dict(
            interfaces=dict(type="list", elements="str"),
            config_dir=dict(type="path", default="/etc/wireguard"),
            resolve_endpoints=dict(type="bool", default=True),
            resolve_timeout=dict(type="float", default=3.0),
        ),
        supports_check_mode=True,
    )
    params = module.params
    bad = [name for name in params["interfaces"] or [] if not wg_host_facts.INTERFACE_NAME.match(name)]
    if bad:
        module.fail_json(msg="not a WireGuard interface name (1-15 of a-z A-Z 0-9 _ = + . -): %s" % ", ".join(bad))
    facts, firewall_input = wg_host_facts.gather(module, params["config_dir"], params["interfaces"], params["resolve_endpoints"],
                                                 params["resolve_timeout"])
    # The action plugin of the same name turns firewall_input into the firewall verdicts of the facts (on the
    # controller) and removes it: a task never sees it.
    module.exit_json(changed=False, ansible_facts={"wireguard": facts}, firewall_input=firewall_input)


if __name__ == "__main__":
    main()
