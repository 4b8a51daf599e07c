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
    wg-quick is installed), written atomically with mode V(0600) and its owner kept, and backed up (also V(0600)) when
    O(backup=true). The file holds the private key, so a config that group or world can read is made V(0600) even when
    its text is already right.
  - When the interface is running, only the edited peer is changed live, with C(wg set IF peer KEY ...),
    never with a whole-file C(wg syncconf), which would drop the peers that exist only at runtime and reset the interface's
    PrivateKey, ListenPort and FwMark to the file's values. A peer that is not running yet (added, or its key replaced)
    gets every value the file holds for it (AllowedIPs, Endpoint, PersistentKeepalive, PresharedKey); a replaced key is
    removed once the new one is in place. A PresharedKey reaches C(wg) on its standard input, never on a command line.
  - The interface is never restarted. wg-quick adds the routes of AllowedIPs only when it brings an interface up, so
    AllowedIPs set live that no running peer had are named in RV(restart_reason) and a warning.
  - A config that already has a syntax error, or a byte that is not UTF-8, is not rewritten; the error names the file
    and line (and the byte offset) before anything is backed up or written.
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
    description:
      - PresharedKey of this pair (base64). Never returned, never shown in a diff.
      - Ansible masks its value in every result, including the C(invocation) of the module's arguments, so a task that passes
        it needs no C(no_log) of its own and its diff stays visible.
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
  check_mode_assume_up:
    description:
      - In check mode only, a stopped interface is planned and shown as if it ran with the config as it is now,
        for a run in which an earlier task starts it before this one (the service remedy before a peer remedy).
        The check run then shows the same live change as the real run makes.
      - An Endpoint that is a hostname is shown as the config writes it, where the running peer would show its address.
      - No effect outside check mode, or when the interface runs.
    type: bool
    default: false
    version_added: 0.1.0
attributes:
  check_mode:
    support: full
    description: Reports what would change, in the file, its mode and on the running interface, and changes nothing.
  diff_mode:
    support: full
    description:
      - Before and after text of the config, its mode when it changes, and the running peer(s) the change touches.
      - PrivateKey and PresharedKey values, and every other value shaped like a WireGuard key (in a comment, a C(PostUp)
        command), are shown as C((hidden)); only the value of a C(PublicKey) line stays readable.
      - A PresharedKey replaced by another reads "(hidden), another key" after the change, in the config and on the
        running peer, so the diff says which entry's key changes.
  platform:
    description: Linux hosts with wireguard-tools (wg, wg-quick).
    support: full
    platforms: posix
notes:
  - Needs C(wg) (wireguard-tools) on the target for the live apply; C(wg-quick) is only used to validate the new file.
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
  description: Whether the running interface was updated (one peer set, an old key removed; nothing else).
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
mode:
  description: Mode of the config after the run (in check mode, the mode it would have).
  returned: when the config exists
  type: str
  sample: "0600"
  version_added: 0.1.0
restart_reason:
  description: Why the interface would need a restart that the module did not do (routes of AllowedIPs set live).
  returned: when AllowedIPs without a route were set on the running interface
  type: str
  version_added: 0.1.0
diff:
  description:
    - The config before and after, its mode when it changes, and each running peer the change touches; secrets hidden.
    - A list since 0.2.0 (a dict before).
  returned: when diff mode is on
  type: list
  elements: dict
'''

import os
import re
import stat
import typing as t

from ansible.module_utils.basic import AnsibleModule

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
            # None removes the line: "AllowedIPs =" with no value is a line wg refuses.
            values["AllowedIPs"] = ", ".join(params["allowed_ips"]) or None
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
        # Ansible masks only the values of no_log options: a key read here is masked like one passed as preshared_key.
        if key:
            module.no_log_values.add(key)
    else:
        key = module.params["preshared_key"]
    if key is not None and not wg_keys.is_valid_key(key):
        module.fail_json(msg="the preshared key is not base64 of 32 bytes (wg genpsk prints 44 characters ending in '=')")
    return key


# The fields runtime_drift compares, by the wg-quick key that sets them.
LIVE_KEYS = {"allowed_ips": "AllowedIPs", "persistent_keepalive": "PersistentKeepalive", "preshared_key": "PresharedKey",
             "endpoint": "Endpoint"}


class LivePlan:
    """What `wg set` will do on the running interface: one peer set, an old key removed; nothing else."""

    def __init__(self) -> None:
        self.drift: list[str] = []
        self.set_key: str | None = None
        self.values: dict[str, str | None] = {}
        self.remove_keys: list[str] = []
        self.before: dict[str, t.Any] = {}      # public key -> its running peer (None: not running)
        self.added_networks: list[str] = []

    def empty(self) -> bool:
        return self.set_key is None and not self.remove_keys


def live_peers(module: AnsibleModule, wg: str, interface: str) -> dict[str, dict[str, t.Any]]:
    runtime = wg_dump.parse_dump(wg_apply.runtime_dump(module.run_command, wg, interface)).get(interface) or {}
    return dict((peer["public_key"], peer) for peer in runtime.get("peers") or [])


def peers_as_started(text: str, path: str) -> dict[str, dict[str, t.Any]]:
    """The running peers wg-quick would give a stopped interface started from this config (check_mode_assume_up).

    parse_config describes a peer with the fields parse_dump gives a running one, so plan_live reads both alike.
    """
    return dict((peer["public_key"], peer) for peer in wg_config.parse_config(text, path, derive_public_key=None)["peers"])


def entry_of(text: str, path: str, public_key: str) -> dict[str, t.Any] | None:
    for peer in wg_config.parse_config(text, path, derive_public_key=None)["peers"]:
        if peer["public_key"] == public_key:
            return peer
    return None


def plan_live(params: dict[str, t.Any], running: dict[str, dict[str, t.Any]], old_text: str, new_text: str, path: str,
              target: str) -> LivePlan:
    """The `wg set` calls that bring the target peer, and it alone, to what the new file says.

    A peer that is not running yet (added, or its key replaced) gets every value the file holds for it;
    a running one only the fields that differ. The other peers - runtime-only ones included - and the
    interface's PrivateKey, ListenPort and FwMark are never touched.
    """
    plan = LivePlan()
    if params["state"] == "absent":
        old_keys = [params["public_key"], params["new_public_key"]]
    else:
        # The entry now holds another key than the one it was found by: the running peer of the old key goes.
        old_keys = [params["public_key"]] if params["public_key"] != target else []
    plan.remove_keys = [key for key in dict.fromkeys(old_keys) if key and key in running]
    plan.before = dict((key, running.get(key)) for key in plan.remove_keys)
    if params["state"] == "absent":
        plan.drift = ["peer"] if plan.remove_keys else []
        return plan
    wanted = entry_of(new_text, path, target)
    live = running.get(target)
    plan.before[target] = live
    plan.drift = wg_apply.runtime_drift(wanted, live)
    old_entry = entry_of(old_text, path, params["public_key"]) or entry_of(old_text, path, target)
    endpoint = wanted["endpoint"]
    if (live is not None and endpoint and endpoint["is_hostname"] and "endpoint" not in plan.drift
            and (old_entry is None or (old_entry["endpoint"] or {}).get("raw") != endpoint["raw"])):
        # A hostname never drifts (it is resolved), but a new one in the file is a change to apply.
        plan.drift.append("endpoint")
    if plan.remove_keys and params["state"] == "present":
        plan.drift.append("public_key")
    file_values = wg_config_edit.peer_values(new_text, target, path)
    if live is None:
        plan.values = dict((key, value) for key, value in file_values.items() if key != "PublicKey" and value)
        if "PersistentKeepalive" in plan.values:
            plan.values["PersistentKeepalive"] = str(wanted["persistent_keepalive"] or 0)
    else:
        plan.values = dict((LIVE_KEYS[field], file_values.get(LIVE_KEYS[field]) or None) for field in plan.drift if field in LIVE_KEYS)
        if "AllowedIPs" in plan.values:
            # `allowed-ips ""` empties the list; leaving the option out would keep the running ones.
            plan.values["AllowedIPs"] = plan.values["AllowedIPs"] or ""
        if plan.values.get("PersistentKeepalive"):
            plan.values["PersistentKeepalive"] = str(wanted["persistent_keepalive"] or 0)
    if live is None or plan.values:
        plan.set_key = target
    if "AllowedIPs" in plan.values:
        routed = set(network for key in [target] + plan.remove_keys for network in (running.get(key) or {}).get("allowed_ips") or [])
        plan.added_networks = [network for network in wanted["allowed_ips"] if network not in routed]
    return plan


def run_live_plan(module: AnsibleModule, wg: str, plan: LivePlan) -> None:
    interface = module.params["interface"]
    if plan.set_key is not None:
        # The new key first: should wg refuse it, the old peer is still there to carry the traffic.
        wg_apply.set_peer(module.run_command, wg, interface, plan.set_key, plan.values)
    for key in plan.remove_keys:
        wg_apply.remove_peer(module.run_command, wg, interface, key)


def peer_text(public_key: str, peer: dict[str, t.Any] | None, preshared_key: str = "") -> str:
    """A running peer as a diff shows it: public key, endpoint, allowed ips, keepalive; the preshared key as a word."""
    if peer is None:
        return ""
    return "".join("%s\n" % line for line in (
        "peer: %s" % public_key,
        "  endpoint: %s" % ((peer.get("endpoint") or {}).get("raw") or "(none)"),
        "  allowed ips: %s" % (", ".join(peer.get("allowed_ips") or []) or "(none)"),
        "  persistent keepalive: %s" % (peer.get("persistent_keepalive") or "off"),
        "  preshared key: %s" % (preshared_key or (wg_apply.HIDDEN if peer.get("has_preshared_key") else "(none)")),
    ))


def live_diffs(interface: str, plan: LivePlan) -> list[dict[str, str]]:
    """Before and after of each peer the plan changes on the running interface, secrets as words."""
    diffs = []
    if plan.set_key is not None:
        before = plan.before.get(plan.set_key)
        after = dict(before or {})
        values = plan.values
        if "Endpoint" in values:
            after["endpoint"] = {"raw": values["Endpoint"]}
        if "AllowedIPs" in values:
            after["allowed_ips"] = wg_config.parse_allowed_ips(values["AllowedIPs"] or "")
        if "PersistentKeepalive" in values:
            after["persistent_keepalive"] = int(values["PersistentKeepalive"] or 0) or None
        preshared_key = ""
        if "PresharedKey" in values:
            after["has_preshared_key"] = bool(values["PresharedKey"])
            if values["PresharedKey"] and before and before.get("has_preshared_key"):
                preshared_key = "%s, another key" % wg_apply.HIDDEN
        header = "%s (running): peer %s" % (interface, plan.set_key)
        diffs.append(dict(before=peer_text(plan.set_key, before), after=peer_text(plan.set_key, after, preshared_key),
                          before_header=header, after_header=header))
    for key in plan.remove_keys:
        header = "%s (running): peer %s" % (interface, key)
        diffs.append(dict(before=peer_text(key, plan.before.get(key)), after="", before_header=header, after_header=header))
    return diffs


def replaced_preshared_key_entry(old_text: str, new_text: str, path: str, public_key: str, target: str) -> int | None:
    """Line of the entry's [Peer] in the new text when it held a PresharedKey and now holds another (a diff shows
    both as (hidden)); None otherwise."""
    old_entry = entry_of(old_text, path, public_key) or entry_of(old_text, path, target)
    new_entry = entry_of(new_text, path, target)
    if (old_entry and new_entry and old_entry["has_preshared_key"] and new_entry["has_preshared_key"]
            and old_entry["preshared_key_digest"] != new_entry["preshared_key_digest"]):
        return new_entry["line"]
    return None


def say_preshared_key_replaced(redacted_text: str, entry_line: int) -> str:
    """The redacted config whose entry (its [Peer] at entry_line, 1-based) reads `PresharedKey = (hidden), another key`."""
    lines = redacted_text.splitlines(True)
    for index in range(entry_line, len(lines)):
        if lines[index].lstrip().startswith("["):
            break
        if re.match(r"\s*presharedkey\s*=", lines[index], re.IGNORECASE):
            lines[index] = lines[index].replace(wg_apply.HIDDEN, "%s, another key" % wg_apply.HIDDEN, 1)
            break
    return "".join(lines)


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
            check_mode_assume_up=dict(type="bool", default=False),
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
    try:
        with open(path, "rb") as stream:
            # A byte that is not UTF-8 fails here, with its line and offset, before any backup or write.
            old_text = wg_config_edit.decode_config(stream.read(), path)
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
    # Planned as started only: check mode applies nothing, so the assumption never reaches the interface.
    assumed_up = bool(not running and module.check_mode and params["check_mode_assume_up"] and params["apply"])
    mode_before = stat.S_IMODE(os.stat(path).st_mode)
    # The file holds the private key: a config group or world can read is made private.
    mode_after = wg_apply.CONFIG_MODE if mode_before & 0o077 else mode_before
    try:
        if running or assumed_up:
            peers = live_peers(module, wg, params["interface"]) if running else peers_as_started(old_text, path)
            plan = plan_live(params, peers, old_text, new_text, path, target)
        else:
            plan = LivePlan()
        result["live_drift"] = plan.drift
        file_changed = new_text != old_text
        if file_changed:
            mode_after = wg_apply.CONFIG_MODE
        result["mode"] = "%04o" % mode_after
        result["changed"] = file_changed or mode_after != mode_before or not plan.empty()
        if plan.added_networks and (wg_config.parse_config(new_text, path)["table"] or "auto").lower() != "off":
            result["restart_reason"] = (
                "AllowedIPs %s set live on %s have no route through it: wg-quick adds the routes of AllowedIPs only when it "
                "brings the interface up, so restart it (wg-quick down, then up) or add the routes when traffic to them should "
                "enter the tunnel" % (", ".join(plan.added_networks), params["interface"]))
            module.warn(result["restart_reason"])
        if module._diff:
            after_text = wg_apply.redact_secrets(new_text)
            replaced_entry = replaced_preshared_key_entry(old_text, new_text, path, params["public_key"], target) \
                if params["state"] == "present" else None
            if replaced_entry is not None:
                after_text = say_preshared_key_replaced(after_text, replaced_entry)
            result["diff"] = [dict(before=wg_apply.redact_secrets(old_text), after=after_text,
                                   before_header=path, after_header=path)]
            if mode_after != mode_before:
                result["diff"].append(dict(before="mode: %04o\n" % mode_before, after="mode: %04o\n" % mode_after,
                                           before_header=path, after_header=path))
            result["diff"].extend(live_diffs(params["interface"], plan))
        if result["changed"] and not module.check_mode:
            if file_changed:
                if params["backup"]:
                    result["backup_file"] = module.backup_local(path)
                    # The copy holds the private key too.
                    os.chmod(result["backup_file"], wg_apply.CONFIG_MODE)
                wg_apply.write_atomic(path, new_text, validate=validator(module))
            elif mode_after != mode_before:
                os.chmod(path, mode_after)
            if not plan.empty():
                run_live_plan(module, wg, plan)
                result["applied_live"] = True
    except (wg_apply.ApplyError, wg_dump.DumpParseError) as exc:
        module.fail_json(msg=str(exc), **result)
    except (IOError, OSError) as exc:
        module.fail_json(msg="cannot write %s: %s" % (path, exc.strerror), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
