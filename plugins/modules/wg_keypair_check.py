#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: wg_keypair_check
short_description: Check that a host's WireGuard keys belong together and that its peers hold the right ones
version_added: 0.1.0
description:
  - Answers the two questions to ask before deploying a tunnel, because a wrong key is invisible on the wire
    (the responder silently drops an initiation it cannot decrypt and neither end ever shows a latest handshake).
  - B(The host's own pair.) Derives the public key of a private key, given as O(private_key), read from
    O(private_key_path), or read from the running O(interface) with C(wg show IF private-key) (from the PrivateKey of
    the config file when the interface is not running), and says whether it belongs to O(public_key) or the key in
    O(public_key_path).
  - B(The host's peers.) Given the public keys the host's peers really have (O(expected_peers)), reports which
    C([Peer]) entries of the config file and of the running interface hold a key none of them has, which expected
    peers have no entry, which PublicKey lines are malformed and which keys are duplicated (two peers sharing a key,
    the same PublicKey in two C([Peer]) sections, or the host's own key listed as a peer).
  - A mismatch is data, not a failure (RV(match=false), entries in RV(peers) and RV(problems)), unless
    O(fail_on_mismatch=true). The module fails on input it cannot work with, such as a malformed key; the message
    names the option, never the key.
  - Private keys are never returned, logged or quoted in a message.
  - The public key is derived with PyNaCl or C(cryptography) when the target has one of them; else with C(wg pubkey)
    (the key on stdin, never on the command line) when C(wg) is installed; else with a pure-Python X25519.
author:
  - wgdoctor maintainers (@wgdoctor)
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
  private_key:
    description:
      - The host's private key, base64 as C(wg genkey) prints it.
      - Mutually exclusive with O(private_key_path).
    type: str
    version_added: 0.1.0
  private_key_path:
    description:
      - File on the target holding the host's private key, as C(wg genkey > FILE) writes it.
    type: path
    version_added: 0.1.0
  public_key:
    description:
      - The public key the private key should belong to, e.g. the one the peers were given.
      - Mutually exclusive with O(public_key_path).
    type: str
    version_added: 0.1.0
  public_key_path:
    description:
      - File on the target holding that public key, as C(wg pubkey > FILE) writes it.
      - The module fails, without returning the file's content, when it is the private key's file (the same file as
        O(private_key_path), or a file holding the private key that is checked).
    type: path
    version_added: 0.1.0
  interface:
    description:
      - The WireGuard interface, e.g. V(wg0).
      - Without O(private_key) and O(private_key_path), its private key is read from the running interface
        (or its config file when it is not running) for the pair check.
      - With O(expected_peers), the peers of the running interface are checked, and O(config_path) defaults to
        C(/etc/wireguard/<interface>.conf).
    type: str
    version_added: 0.1.0
  config_path:
    description:
      - The wg-quick config whose C([Peer]) entries are checked against O(expected_peers).
      - Default C(/etc/wireguard/<interface>.conf) when O(interface) is set. A file that does not exist is reported
        in RV(problems) and only the running interface is checked.
    type: path
    version_added: 0.1.0
  expected_peers:
    description:
      - Name of each peer (any label, e.g. its inventory hostname) to the public key that peer really has.
      - Needs O(interface) or O(config_path).
    type: dict
    version_added: 0.1.0
  fail_on_mismatch:
    description:
      - Fail when the pair does not match or any peer problem is found, with RV(problems) as the message.
      - By default a mismatch is reported in the result and the task succeeds.
    type: bool
    default: false
    version_added: 0.1.0
notes:
  - Needs root to read private keys and C(wg show).
  - Public keys are not secret and appear in the result; private keys never do.
seealso:
  - module: wgdoctor.wireguard.wg_facts
  - name: WireGuard key generation
    description: C(wg genkey), C(wg pubkey) and C(wg genpsk).
    link: https://www.wireguard.com/quickstart/#key-generation
'''

EXAMPLES = r'''
- name: Validate the key pair before deploying it
  wgdoctor.wireguard.wg_keypair_check:
    private_key_path: /etc/wireguard/wg0.key
    public_key: "{{ wireguard_public_key }}"
    fail_on_mismatch: true

- name: Does the running wg0 hold the private key of the public key its peers were given?
  wgdoctor.wireguard.wg_keypair_check:
    interface: wg0
    public_key_path: /etc/wireguard/wg0.pub
  register: own_pair

- name: Check that the client's [Peer] entries hold the server's real key
  wgdoctor.wireguard.wg_keypair_check:
    interface: wg0
    expected_peers:
      server: "{{ hostvars['server'].wireguard_public_key }}"
  register: keys

- name: Say what is wrong
  ansible.builtin.debug:
    msg: "{{ keys.problems }}"
  when: keys.problems | length > 0
'''

RETURN = r'''
match:
  description:
    - Whether the private key belongs to the given public key.
    - V(null) when no public key was given or no private key was found.
  returned: always
  type: bool
  sample: false
derived_public_key:
  description: The public key of the checked private key; V(null) when no private key was found.
  returned: always
  type: str
  sample: xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=
public_key:
  description: The public key the derived one was compared with (from O(public_key) or O(public_key_path)).
  returned: always
  type: str
  sample: TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=
private_key_source:
  description: Where the private key came from, V(private_key), V(private_key_path), V(interface), V(config) or V(null).
  returned: always
  type: str
  sample: interface
backend:
  description: What derived the public key, V(pynacl), V(cryptography), V(wg) or V(pure); V(null) when nothing was derived.
  returned: always
  type: str
  sample: pynacl
interface_running:
  description: Whether O(interface) is a running WireGuard interface; V(null) without O(interface).
  returned: always
  type: bool
  sample: true
config_path:
  description: The config file whose C([Peer]) entries were checked; V(null) when none was.
  returned: always
  type: str
  sample: /etc/wireguard/wg0.conf
peers:
  description: The peer check; V(null) without O(expected_peers).
  returned: always
  type: dict
  contains:
    sources:
      description: Where entries were read, V(config) and/or V(runtime).
      type: list
      elements: str
      returned: success
      sample: [config, runtime]
    ok:
      description: Expected peers whose key every source holds, with the config lines of their C([Peer]) headers.
      type: list
      elements: dict
      returned: success
      sample: [{"name": "server", "public_key": "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=", "lines": [6]}]
    unknown:
      description:
        - Entries holding a key none of the expected peers has, per source, with the line of the C([Peer]) header
          (V(null) for the runtime).
        - C(instead_of) names the expected peer this entry most likely stands for (the only one missing there).
      type: list
      elements: dict
      returned: success
      sample: [{"public_key": "YJxs/Xv1rk/q7NfjD0vQzHPvYQzHLYgqFoW6E2X0sFQ=", "source": "config", "line": 6, "instead_of": "server"}]
    missing:
      description: Expected peers without an entry, and where it is missing.
      type: list
      elements: dict
      returned: success
      sample: [{"name": "server", "public_key": "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=", "missing_from": ["config"]}]
    malformed:
      description: C([Peer]) sections of the config whose PublicKey C(wg) would refuse, with file, line and reason.
      type: list
      elements: dict
      returned: success
      sample: [{"source": "config", "file": "/etc/wireguard/wg0.conf", "line": 7, "reason": "PublicKey is not base64 of 32 bytes"}]
    duplicates:
      description:
        - Keys held twice, C(source) V(expected_peers) (two peers share a key), V(config) (two C([Peer]) sections)
          or V(own_key) (the host's own public key listed as a peer).
      type: list
      elements: dict
      returned: success
      sample: [{"public_key": "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=", "source": "expected_peers",
               "names": ["client1", "client2"], "lines": []}]
problems:
  description: One sentence per problem found, for a person to read.
  returned: always
  type: list
  elements: str
  sample: ["/etc/wireguard/wg0.conf line 6: peer YJxs/Xv1rk/q7NfjD0vQzHPvYQzHLYgqFoW6E2X0sFQ= is none of the expected peers"]
'''

import os
import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard import derive as wg_derive
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard import keypair as wg_keypair
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard.config import parse_config

INTERFACE_NAME = re.compile(r"^[a-zA-Z0-9_=+.-]{1,15}$")
NONE = "(none)"


class Target:
    """The reads the check needs on the host; every private key read is added to Ansible's no_log values."""

    def __init__(self, module: AnsibleModule) -> None:
        self.module = module
        self.wg = module.get_bin_path("wg")

    def hide(self, secret: str) -> None:
        if secret and secret.strip():
            self.module.no_log_values.add(secret.strip())

    def read_file(self, path: str, label: str, secret: bool = False) -> str:
        try:
            with open(path, "r", encoding="ascii", errors="replace") as handle:
                text = handle.read()
        except (IOError, OSError) as exc:
            self.module.fail_json(msg="cannot read %s %s: %s" % (label, path, exc.strerror or type(exc).__name__))
        if secret:
            self.hide(text)
        return text

    def wg_show(self, interface: str, what: str):
        """stdout of `wg show IF WHAT`, None when wg is absent or the interface is not running."""
        if self.wg is None:
            return None
        rc, out, _err = self.module.run_command([self.wg, "show", interface, what], environ_update={"LC_ALL": "C"})
        return out if rc == 0 else None

    def wg_pubkey(self, private_key: str):
        if self.wg is None:
            return None
        rc, out, _err = self.module.run_command([self.wg, "pubkey"], data=private_key, environ_update={"LC_ALL": "C"})
        return out if rc == 0 else None


def private_key_of(target: Target, params: dict, config):
    """(private key or None, source, public key derived by the config parser or None)."""
    if params["private_key"] is not None:
        return params["private_key"], "private_key", None
    if params["private_key_path"] is not None:
        return target.read_file(params["private_key_path"], "private_key_path", secret=True), "private_key_path", None
    if params["interface"] is None:
        return None, None, None
    text = target.wg_show(params["interface"], "private-key")
    if text is not None:
        target.hide(text)
        return (None if text.strip() == NONE else text), "interface", None
    if config is not None and config.get("public_key"):
        return None, "config", config["public_key"]
    return None, None, None


def same_file(first: str, second: str) -> bool:
    try:
        return os.path.samefile(first, second)
    except (IOError, OSError):
        return False


def public_key_of(target: Target, params: dict):
    if params["public_key"] is not None:
        return wg_keypair.require_key(params["public_key"], "public_key")
    if params["public_key_path"] is not None:
        if params["private_key_path"] is not None and same_file(params["public_key_path"], params["private_key_path"]):
            # Refused before it is read: read as a public key, the private key would be returned and shown.
            raise wg_keypair.KeypairInputError("public_key_path %s is the same file as private_key_path %s: point it at the public key"
                                               % (params["public_key_path"], params["private_key_path"]))
        text = target.read_file(params["public_key_path"], "public_key_path")
        return wg_keypair.require_key(text, "public_key_path %s" % params["public_key_path"])
    return None


def read_config(target: Target, path):
    if path is None or not os.path.exists(path):
        return None
    # The parser keeps no PrivateKey or PresharedKey: only has_* flags and digests leave it.
    return parse_config(target.read_file(path, "config_path"), path,
                        derive_public_key=lambda private: wg_derive.derive_public_key(private, target.wg_pubkey)[0])


def check_own_pair(target: Target, params: dict, config) -> dict:
    public_key = public_key_of(target, params)
    private_key, source, config_derived = private_key_of(target, params, config)
    if private_key is not None:
        label = "private_key" if source == "private_key" else "the private key of %s" % (params["private_key_path"] or params["interface"])
        private_key = wg_keypair.require_key(private_key, label)
        pair = wg_keypair.check_pair(private_key, public_key, target.wg_pubkey)
    elif config_derived is not None:
        if public_key is not None and public_key != config_derived \
                and wg_derive.derive_public_key(public_key, target.wg_pubkey)[0] == config_derived:
            # The config's PrivateKey is not held here, so only its public key can tell that the
            # "public key" given is that private key (e.g. public_key_path at wg0.key).
            target.hide(public_key)
            raise wg_keypair.KeypairInputError("the public key given is the private key itself: point it at the public key instead")
        pair = {"derived_public_key": config_derived, "public_key": public_key,
                "match": None if public_key is None else config_derived == public_key, "backend": None}
    else:
        pair = {"derived_public_key": None, "public_key": public_key, "match": None, "backend": None}
    pair["private_key_source"] = source
    return pair


def check_expected_peers(target: Target, params: dict, config, config_path, own_public_key):
    expected = {}
    for name, key in params["expected_peers"].items():
        expected[str(name)] = wg_keypair.require_key(key, "expected_peers.%s" % name)
    runtime_keys = None
    if params["interface"] is not None:
        text = target.wg_show(params["interface"], "peers")
        try:
            runtime_keys = None if text is None else wg_keypair.parse_peers_output(text)
        except ValueError as exc:
            raise wg_keypair.KeypairInputError(str(exc)) from None
    if config is None and runtime_keys is None:
        raise wg_keypair.KeypairInputError("no [Peer] entries to check: %s does not exist and %s" % (
            config_path, "interface %s is not running" % params["interface"] if params["interface"] else "no interface was given"))
    return wg_keypair.check_peers(expected, config, runtime_keys, own_public_key)


def run_checks(module: AnsibleModule) -> dict:
    params = module.params
    target = Target(module)
    config_path = params["config_path"]
    if config_path is None and params["interface"] is not None:
        config_path = "/etc/wireguard/%s.conf" % params["interface"]
    config = read_config(target, config_path)
    pair = check_own_pair(target, params, config)
    problems = wg_keypair.pair_problems(pair)
    if pair["private_key_source"] == "interface" and pair["derived_public_key"] is None:
        problems.append("the running %s has no private key" % params["interface"])
    elif pair["private_key_source"] is None and pair["public_key"] is not None:
        problems.append("no private key found to compare the public key with")
    peers = None
    if params["expected_peers"] is not None:
        peers = check_expected_peers(target, params, config, config_path, pair["derived_public_key"])
        if config is None and config_path is not None:
            problems.append("%s does not exist: only the running %s was checked" % (config_path, params["interface"]))
        problems.extend(wg_keypair.peer_problems(peers, config_path, params["interface"]))
    running = None
    if params["interface"] is not None:
        running = target.wg_show(params["interface"], "listen-port") is not None
    return dict(pair, interface_running=running, config_path=config_path if config is not None else None,
                peers=peers, problems=problems)


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            private_key=dict(type="str", no_log=True),
            private_key_path=dict(type="path"),
            public_key=dict(type="str", no_log=False),
            public_key_path=dict(type="path"),
            interface=dict(type="str"),
            config_path=dict(type="path"),
            expected_peers=dict(type="dict"),
            fail_on_mismatch=dict(type="bool", default=False),
        ),
        mutually_exclusive=[("private_key", "private_key_path"), ("public_key", "public_key_path")],
        required_one_of=[("private_key", "private_key_path", "interface", "expected_peers")],
        supports_check_mode=True,
    )
    params = module.params
    if params["interface"] is not None and not INTERFACE_NAME.match(params["interface"]):
        module.fail_json(msg="interface: not a WireGuard interface name (1-15 of a-z A-Z 0-9 _ = + . -)")
    if params["expected_peers"] is not None and params["interface"] is None and params["config_path"] is None:
        module.fail_json(msg="expected_peers needs interface or config_path: the [Peer] entries to check")
    try:
        result = run_checks(module)
    except wg_keypair.KeypairInputError as exc:
        module.fail_json(msg=str(exc))
    else:
        if params["fail_on_mismatch"] and wg_keypair.has_problems(result, result["peers"]):
            module.fail_json(msg="; ".join(result["problems"]), **result)
        module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
