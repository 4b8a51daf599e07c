#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r'''
---
module: wg_peer
short_description: Edit one [Peer] of a wg-quick config in place and on the running interface
version_added: 0.1.0
description:
  - Sets the PublicKey, Endpoint, AllowedIPs, PersistentKeepalive or PresharedKey of one C([Peer]) of a wg-quick
    config, adds the peer or removes it, and leaves every other line of the file as it was (comments, order, other peers).
  - The new file is validated before it replaces the old one (the module's own parser, and C(wg-quick strip) when
    wg-quick is installed), written atomically with its mode and owner kept, and backed up when O(backup=true).
  - When the interface is running, the change is applied live with C(wg syncconf) from C(wg-quick strip)
    (or C(wg set) without wg-quick); the interface is never restarted.
  - A config that already has a syntax error is not rewritten; the error names the file and line.
  - Keys are never generated here.
author:
  - wgdoctor contributors (@wgdoctor)
options:
  interface:
    description:
      - The WireGuard interface; the config is O(config_dir)/O(interface).conf.
      - Required since 0.2.0; it used to default to V(wg0), a guess that edited the wrong tunnel on hosts with other names.
    type: str
    required: true
    version_added: 0.1.0
  config_dir:
    description: Directory of the wg-quick config.
    type: path
    default: /etc/wireguard
    version_added: 0.1.0
  public_key:
    description:
      - The PublicKey the C([Peer]) entry holds now; it names the entry to edit.
      - When no entry holds it but one holds O(new_public_key), that entry is edited (the key was already replaced).
    type: str
    required: true
    version_added: 0.1.0
  new_public_key:
    description: The PublicKey the entry should hold instead of O(public_key).
    type: str
    version_added: 0.1.0
  endpoint:
    description: Endpoint as C(host:port) or C([v6]:port).
    type: str
    version_added: 0.1.0
  allowed_ips:
    description: AllowedIPs of the peer, replacing the current list.
    type: list
    elements: str
    version_added: 0.1.0
  persistent_keepalive:
    description: PersistentKeepalive in seconds; V(0) removes the setting.
    type: int
    version_added: 0.1.0
  preshared_key:
    description: PresharedKey of this pair (base64). Never returned, never shown in a diff.
    type: str
    version_added: 0.1.0
  preshared_key_path:
    description: File on the target holding the PresharedKey, as C(wg genpsk) writes it.
    type: path
    version_added: 0.1.0
  state:
    description: Whether the peer entry should exist.
    type: str
    choices: [present, absent]
    default: present
    version_added: 0.1.0
  backup:
    description: Keep a timestamped copy of the old config next to it before replacing it.
    type: bool
    default: true
    version_added: 0.1.0
  apply:
    description: Apply the change to the running interface; a stopped interface picks it up when it starts.
    type: bool
    default: true
    version_added: 0.1.0
attributes:
  check_mode:
    support: full
    description: Reports what would change, in the file and on the running interface, and changes nothing.
  diff_mode:
    support: full
    description: Before and after text of the config, with PrivateKey and PresharedKey values shown as C((hidden)).
  platform:
    description: Linux hosts with wireguard-tools (wg, wg-quick).
    support: full
    platforms: posix
notes:
  - Needs C(wg) (wireguard-tools) on the target for the live apply.
seealso:
  - module: wgdoctor.wireguard.wg_facts
'''

EXAMPLES = r'''
- name: Keep the NAT mapping towards the server open
  wgdoctor.wireguard.wg_peer:
    interface: wg0
    public_key: "{{ server_public_key }}"
    persistent_keepalive: 25

- name: Replace the wrong server key the client holds
  wgdoctor.wireguard.wg_peer:
    interface: wg-office
    public_key: "{{ wrong_key }}"
    new_public_key: "{{ server_public_key }}"

- name: Remove a peer that left
  wgdoctor.wireguard.wg_peer:
    interface: wg-office
    public_key: "{{ old_laptop_key }}"
    state: absent
'''

RETURN = r'''
peer:
  description: PublicKey of the edited entry (the new one when it was replaced).
  returned: always
  type: str
  sample: xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=
backup_file:
  description: Path of the backup of the old config.
  returned: when a backup was made
  type: str
  sample: /etc/wireguard/wg0.conf.12345.2026-11-25@16:00:00~
applied_live:
  description: Whether the running interface was updated.
  returned: always
  type: bool
  sample: true
live_drift:
  description: Fields of the peer on the running interface that differed from the config (before the apply).
  returned: always
  type: list
  elements: str
  sample: [persistent_keepalive]
endpoint:
  description:
    - Endpoint of the entry in the new config as the parser reads it, or null when it sets none.
    - C(is_hostname) tells whether DNS re-resolution applies to this peer.
  returned: when O(state=present)
  type: dict
  sample: {"raw": "vpn.example.test:51820", "host": "vpn.example.test", "port": 51820, "is_hostname": true}
diff:
  description: Config before and after, secrets hidden.
  returned: when diff mode is on
  type: dict
'''

import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.host import apply as wg_apply
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard import config as wg_config
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard import config_edit as wg_config_edit
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard import dump as wg_dump
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard import keys as wg_keys


def desired_values(params: dict, preshared_key, current) -> dict:
    """wg-quick keys to set on the entry; those already equal to the file's meaning are left out, so nothing is reformatted."""
    values = {}
    if params["endpoint"] is not None and (current is None or (current["endpoint"] or {}).get("raw") != params["endpoint"]):
        values["Endpoint"] = params["endpoint"]
    if params["allowed_ips"] is not None:
        wanted = wg_config.parse_allowed_ips(",".join(params["allowed_ips"]))
        if current is None or sorted(wanted) != sorted(current["allowed_ips"]):
            values["AllowedIPs"] = ", ".join(params["allowed_ips"])
    keepalive = params["persistent_keepalive"]
    if keepalive is not None and (current is None or (current["persistent_keepalive"] or 0) != keepalive):
        values["PersistentKeepalive"] = str(keepalive) if keepalive else None
    if preshared_key is not None and (current is None or current["preshared_key_digest"] != wg_keys.preshared_key_digest(preshared_key)):
        values["PresharedKey"] = preshared_key
    return values


def plan_edit(text: str, path: str, params: dict, preshared_key):
    """(new text, PublicKey of the entry) for the requested state; raises ConfigParseError."""
    peers = dict((peer["public_key"], peer) for peer in wg_config.parse_config_strict(text, path, derive_public_key=None)["peers"])
    public_key, new_public_key = params["public_key"], params["new_public_key"]
    if params["state"] == "absent":
        for key in (public_key, new_public_key):
            if key in peers:
                text = wg_config_edit.remove_peer(text, key, path)
        return text, public_key
    target = public_key
    if public_key in peers and new_public_key and new_public_key != public_key:
        if new_public_key in peers:
            raise wg_config.ConfigParseError(path, peers[new_public_key]["line"], "a [Peer] already holds the new PublicKey")
        text = wg_config_edit.replace_peer_public_key(text, public_key, new_public_key, path)
        peers[new_public_key] = peers.pop(public_key)
        target = new_public_key
    elif public_key not in peers and new_public_key in peers:
        target = new_public_key
    if target not in peers:
        target = new_public_key or public_key
        values = desired_values(params, preshared_key, None)
        added = dict(PublicKey=target)
        added.update((key, value) for key, value in values.items() if value is not None)
        return wg_config_edit.add_peer(text, added, path), target
    values = desired_values(params, preshared_key, peers[target])
    if values:
        text = wg_config_edit.set_peer_values(text, target, values, path)
    return text, target


def read_preshared_key(module: AnsibleModule):
    if module.params["preshared_key_path"]:
        try:
            with open(module.params["preshared_key_path"], "r") as stream:
                key = stream.read().strip()
        except (IOError, OSError) as exc:
            module.fail_json(msg="cannot read preshared_key_path %s: %s" % (module.params["preshared_key_path"], exc.strerror))
    else:
        key = module.params["preshared_key"]
    if key is not None and not wg_keys.is_valid_key(key):
        module.fail_json(msg="the preshared key is not base64 of 32 bytes (wg genpsk prints 44 characters ending in '=')")
    return key


def live_peer(module: AnsibleModule, wg: str, interface: str, public_key: str):
    runtime = wg_dump.parse_dump(wg_apply.runtime_dump(module.run_command, wg, interface)).get(interface) or {}
    for peer in runtime.get("peers") or []:
        if peer["public_key"] == public_key:
            return peer
    return None


def drift_after(module: AnsibleModule, wg: str, new_text: str, path: str, target: str) -> list:
    """What the running interface would still lack once the new file is in place."""
    params, interface = module.params, module.params["interface"]
    if params["state"] == "absent":
        keys = set(k for k in (params["public_key"], params["new_public_key"]) if k)
        return ["peer"] if any(live_peer(module, wg, interface, key) for key in keys) else []
    wanted = [peer for peer in wg_config.parse_config(new_text, path, derive_public_key=None)["peers"] if peer["public_key"] == target][0]
    drift = wg_apply.runtime_drift(wanted, live_peer(module, wg, interface, target))
    if target != params["public_key"] and live_peer(module, wg, interface, params["public_key"]):
        drift.append("public_key")
    return drift


def apply_live(module: AnsibleModule, wg: str, path: str, target: str, values: dict, preshared_key) -> None:
    wg_quick, interface = module.get_bin_path("wg-quick"), module.params["interface"]
    run = module.run_command
    if wg_quick:
        wg_apply.syncconf(run, wg, wg_quick, interface, path)
        if module.params["state"] == "present" and module.params["persistent_keepalive"] == 0:
            # syncconf leaves a keepalive the file no longer names running.
            wg_apply.wg_set(run, wg, interface, wg_apply.peer_set_args(target, {"PersistentKeepalive": None}))
        return
    if module.params["state"] == "absent" or target != module.params["public_key"]:
        wg_apply.wg_set(run, wg, interface, ["peer", module.params["public_key"], "remove"])
    if module.params["state"] == "present":
        psk_file = None
        if preshared_key is not None:
            psk_file = os.path.join(module.tmpdir, "psk")
            with open(os.open(psk_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as stream:
                stream.write(preshared_key + "\n")
        wg_apply.wg_set(run, wg, interface, wg_apply.peer_set_args(target, values, psk_file))


def validator(module: AnsibleModule):
    wg_quick = module.get_bin_path("wg-quick")

    def validate(temp_path: str) -> None:
        if wg_quick:
            wg_apply.check_wg_quick_strip(module.run_command, wg_quick, temp_path)
    return validate


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            interface=dict(type="str", required=True),
            config_dir=dict(type="path", default="/etc/wireguard"),
            public_key=dict(type="str", required=True, no_log=False),
            new_public_key=dict(type="str", no_log=False),
            endpoint=dict(type="str"),
            allowed_ips=dict(type="list", elements="str"),
            persistent_keepalive=dict(type="int"),
            preshared_key=dict(type="str", no_log=True),
            preshared_key_path=dict(type="path", no_log=False),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            backup=dict(type="bool", default=True),
            apply=dict(type="bool", default=True),
        ),
        mutually_exclusive=[("preshared_key", "preshared_key_path")],
        supports_check_mode=True,
    )
    params = module.params
    path = os.path.join(params["config_dir"], params["interface"] + ".conf")
    result = dict(changed=False, peer=params["new_public_key"] or params["public_key"], applied_live=False, live_drift=[])
    for name in ("public_key", "new_public_key"):
        if params[name] is not None and not wg_keys.is_valid_key(params[name]):
            module.fail_json(msg="%s is not base64 of 32 bytes (wg pubkey prints 44 characters ending in '=')" % name)
    if params["persistent_keepalive"] is not None and not 0 <= params["persistent_keepalive"] <= 65535:
        module.fail_json(msg="persistent_keepalive must be 0-65535 seconds")
    preshared_key = read_preshared_key(module)

    if not os.path.exists(path):
        if params["state"] == "absent":
            module.exit_json(**result)
        module.fail_json(msg="%s does not exist" % path, **result)
    with open(path, "rb") as stream:
        old_text = to_text(stream.read(), errors="surrogate_or_strict")

    try:
        new_text, target = plan_edit(old_text, path, params, preshared_key)
        wg_config.parse_config_strict(new_text, path, derive_public_key=None)
    except ValueError as exc:
        # ConfigParseError carries FILE:LINE; other ValueErrors come from option values and never hold a secret option.
        module.fail_json(msg=str(exc), **result)
    result["peer"] = target
    if params["state"] == "present":
        entry = [peer for peer in wg_config.parse_config(new_text, path, derive_public_key=None)["peers"] if peer["public_key"] == target][0]
        result["endpoint"] = dict((key, value) for key, value in (entry["endpoint"] or {}).items()
                                  if key in ("raw", "host", "port", "is_hostname")) or None

    wg = module.get_bin_path("wg")
    running = bool(params["apply"] and wg and wg_apply.interface_is_up(module.run_command, wg, params["interface"]))
    try:
        if running:
            result["live_drift"] = drift_after(module, wg, new_text, path, target)
        file_changed = new_text != old_text
        result["changed"] = file_changed or bool(result["live_drift"])
        if module._diff:
            result["diff"] = dict(before=wg_apply.redact_secrets(old_text), after=wg_apply.redact_secrets(new_text),
                                  before_header=path, after_header=path)
        if result["changed"] and not module.check_mode:
            if file_changed:
                if params["backup"]:
                    result["backup_file"] = module.backup_local(path)
                wg_apply.write_atomic(path, new_text, validate=validator(module))
            if running:
                # `wg set` needs every requested value, not only those the file lacked.
                apply_live(module, wg, path, target, desired_values(params, preshared_key, None), preshared_key)
                result["applied_live"] = True
    except (wg_apply.ApplyError, wg_dump.DumpParseError) as exc:
        module.fail_json(msg=str(exc), **result)
    except (IOError, OSError) as exc:
        module.fail_json(msg="cannot write %s: %s" % (path, exc.strerror), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
