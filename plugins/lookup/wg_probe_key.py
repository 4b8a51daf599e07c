# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: wg_probe_key
author: wgdoctor maintainers (@wgdoctor)
version_added: 0.1.0
short_description: Make an ephemeral WireGuard key pair for one diagnosis run
description:
  - Generates a fresh X25519 key pair on the controller (PyNaCl, else C(cryptography), else pure Python).
  - The diagnose playbook registers its public key as a temporary peer with no allowed IPs on the responder and probes
    with it, so that a probe never moves the real peer's endpoint nor its handshake timestamp.
  - The private key is a secret for the run's duration only; set it with C(no_log) all the same.
options: {}
notes:
  - The pure-Python fallback is not constant-time; it is only ever used for these throwaway keys.
"""

EXAMPLES = r"""
- name: Make the probe key pair
  ansible.builtin.set_fact:
    wg_probe_key: "{{ lookup('wgdoctor.wireguard.wg_probe_key') }}"
  no_log: true
"""

RETURN = r"""
_raw:
  description: One dict with C(private_key) and C(public_key), both base64.
  type: list
  elements: dict
"""

from ansible.plugins.lookup import LookupBase

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard.derive import generate_private_key, public_key_from_private


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        private_key = generate_private_key()
        return [{"private_key": private_key, "public_key": public_key_from_private(private_key)}]
