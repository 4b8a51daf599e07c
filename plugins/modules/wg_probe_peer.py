#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r'''
---
module: wg_probe_peer
short_description: The diagnosis's temporary probe peer on a responder, and the ones interrupted runs left behind
version_added: 0.1.0
description:
  - The diagnosis (C(playbooks/diagnose.yml)) sends genuine handshake initiations signed with an ephemeral key, which the
    responder must know as a peer. This module adds that key as a peer without allowed IPs (O(state=present)), removes
    it again (O(state=absent)), and removes the probe peers that a run killed in between left behind (O(state=cleaned)).
  - Before the peer is added, its key is recorded in a marker file,
    O(marker_dir)C(/net-<network namespace>/<interface>/<key>); removing the peer deletes the marker. The key is random
    per run, so the marker is the only thing that tells a leftover probe peer from a peer someone else added.
    O(marker_dir) is under C(/run) by default, so a reboot, which drops every runtime-only peer, also drops the markers.
  - O(state=cleaned) removes a marked key only when it is still a peer of that interface, has no allowed IPs, appears
    nowhere in the interface's config file, and its marker is at least O(min_age) seconds old (a run going on at the
    same time holds its probe peer meanwhile, and its marker looks just like a leftover's). A marked key that has allowed
    IPs or is in the config is not removed (someone uses the key now); the marker is dropped and a warning says so. A
    peer without a marker is never touched, whatever it looks like.
  - Only public keys are handled; nothing private is read from C(wg), and the config file is only searched for the key.
author:
  - wgdoctor contributors (@wgdoctor)
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Nothing is added, removed or marked; RV(leftovers) says what O(state=cleaned) would remove.
  diff_mode:
    description: Will return details on what has changed when in diff mode.
    support: full
    details: The probe peers added or removed, per interface (public keys only).
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
requirements:
  - wg from wireguard-tools
options:
  state:
    description:
      - V(present) marks O(public_key) and adds it as a peer without allowed IPs on every interface of O(interfaces).
      - V(absent) removes the peer from every interface of O(interfaces) and deletes its markers.
      - V(cleaned) removes the leftover probe peers of interrupted runs (see the description).
    type: str
    choices: [present, absent, cleaned]
    default: cleaned
  public_key:
    description: The probe's public key (base64). Required for V(present) and V(absent).
    type: str
  interfaces:
    description:
      - The WireGuard interfaces. Required for V(present) and V(absent).
      - For V(cleaned), only these interfaces' markers are looked at; default is every interface that has markers.
    type: list
    elements: str
  marker_dir:
    description: Where the markers are kept. Must be the same for the run that marks and the run that cleans.
    type: path
    default: /run/wgdoctor/probe-peers
  config_dir:
    description: Directory of the wg-quick configs (O(config_dir)/<interface>.conf); a key named there is never removed.
    type: path
    default: /etc/wireguard
  min_age:
    description:
      - V(cleaned) removes a marked peer only when its marker is at least this many seconds old. Longer than a run of the
        diagnosis can hold its probe peer, so that a run going on at the same time keeps its own.
    type: int
    default: 3600
notes:
  - A probe peer cannot send traffic (it has no allowed IPs), but it can complete a handshake with whoever holds the
    probe's private key; the key never leaves the run's memory, and the peer is removed when the probes are done.
seealso:
  - module: wgdoctor.wireguard.udp_probe
'''

EXAMPLES = r'''
- name: Remove the probe peers an interrupted run left behind
  wgdoctor.wireguard.wg_probe_peer:
    state: cleaned
  register: wg_leftovers

- name: Register the probe key on the responder's interfaces
  wgdoctor.wireguard.wg_probe_peer:
    state: present
    public_key: "{{ probe_public_key }}"
    interfaces: [corpnet]

- name: Remove it when the probes are done
  wgdoctor.wireguard.wg_probe_peer:
    state: absent
    public_key: "{{ probe_public_key }}"
    interfaces: [corpnet]
'''

RETURN = r'''
registered:
  description: The interfaces that took the probe peer (V(present)).
  returned: when state is present
  type: list
  elements: str
  sample: [corpnet]
not_registered:
  description: The interfaces that could not take it (for example not running), each with C(wg)'s reason.
  returned: when state is present
  type: list
  elements: dict
  sample: [{interface: branch, reason: "Unable to modify interface: No such device"}]
unregistered:
  description: The interfaces the probe peer was removed from (V(absent)).
  returned: when state is absent
  type: list
  elements: str
  sample: [corpnet]
leftovers:
  description:
    - Every marker looked at (V(cleaned)), with what was done. C(remove), the peer was removed (or would be, in check
      mode); C(forget), the peer is not touched and the marker is dropped; C(keep), nothing now, a later run decides.
  returned: when state is cleaned
  type: list
  elements: dict
  contains:
    interface:
      description: The interface.
      type: str
    public_key:
      description: The marked public key.
      type: str
    marker_age:
      description: Seconds since the key was marked.
      type: int
    action:
      description: C(remove), C(forget) or C(keep).
      type: str
    reason:
      description: Why.
      type: str
  sample: [{interface: corpnet, public_key: x5GcV7dP1ssT7bRGAzJ4MF7WJ9ZVjY2ec0Fd/2xtOXw=, marker_age: 8210, action: remove,
            reason: "probe peer of an interrupted run: marked, no allowed IPs, in no config"}]
removed:
  description: The leftover probe peers removed (or that would be, in check mode), as C(interface) and C(public_key).
  returned: when state is cleaned
  type: list
  elements: dict
  sample: [{interface: corpnet, public_key: x5GcV7dP1ssT7bRGAzJ4MF7WJ9ZVjY2ec0Fd/2xtOXw=}]
msg:
  description: One line saying what was done.
  returned: always
  type: str
  sample: removed 1 leftover probe peer(s) of an interrupted run
'''

import os
import time
import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.host import probe_peer
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard import keys as wg_keys


class ProbePeers:
    """The wg commands and the marker files of one network namespace."""

    def __init__(self, module: AnsibleModule) -> None:
        self.module = module
        # Looked up here but required only where a wg command runs: a host without wireguard-tools has no probe
        # peer to clean, and the run goes on to name it wireguard_missing.
        self.wg = module.get_bin_path("wg")
        self.base = os.path.join(module.params["marker_dir"], probe_peer.namespace_id())

    def require_wg(self) -> str:
        if not self.wg:
            self.module.fail_json(msg="wg (wireguard-tools) was not found on this host")
        return self.wg

    def running(self) -> set[str]:
        rc, out, _err = self.module.run_command([self.wg, "show", "interfaces"])
        return set(out.split()) if rc == 0 else set()

    def allowed_ips(self, interface: str) -> dict[str, list[str]] | None:
        rc, out, _err = self.module.run_command([self.wg, "show", interface, "allowed-ips"])
        return probe_peer.parse_allowed_ips(out) if rc == 0 else None

    def wg_set(self, interface: str, public_key: str, remove: bool) -> tuple[int, str]:
        args = [self.wg, "set", interface, "peer", public_key] + (["remove"] if remove else [])
        rc, out, err = self.module.run_command(args)
        return rc, (err or out).strip()

    def marker(self, interface: str, public_key: str) -> str:
        return os.path.join(self.base, interface, probe_peer.marker_name(public_key))

    def mark(self, interface: str, public_key: str) -> str | None:
        """Write the marker; the reason it could not be written, or None."""
        path = self.marker(interface, public_key)
        try:
            os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
            with open(path, "w", encoding="ascii") as handle:
                handle.write(public_key + "\n")
        except OSError as err:
            return "%s: %s" % (path, err.strerror)
        return None

    def unmark(self, path: str) -> None:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        # The interface's directory goes with its last marker; the namespace's and marker_dir stay.
        try:
            os.rmdir(os.path.dirname(path))
        except OSError:
            pass


def register(peers: ProbePeers, public_key: str, interfaces: list[str], check_mode: bool) -> dict[str, t.Any]:
    registered: list[str] = []
    not_registered: list[dict[str, str]] = []
    warnings: list[str] = []
    for interface in interfaces:
        if check_mode:
            registered.append(interface)
            continue
        problem = peers.mark(interface, public_key)
        if problem:
            # The probe matters more than the marker: probe all the same, and say that an interrupt would leave it.
            warnings.append("could not mark the probe peer (%s): if this run is interrupted, the next one will not "
                            "recognise it on %s" % (problem, interface))
        rc, reason = peers.wg_set(interface, public_key, remove=False)
        if rc == 0:
            registered.append(interface)
        else:
            peers.unmark(peers.marker(interface, public_key))
            not_registered.append({"interface": interface, "reason": reason})
    return {"changed": bool(registered), "registered": registered, "not_registered": not_registered, "warnings": warnings,
            "diff": {"before": "", "after": "".join("%s: probe peer %s\n" % (i, public_key) for i in registered)},
            "msg": "probe peer added on %d interface(s)" % len(registered)}


def unregister(peers: ProbePeers, public_key: str, interfaces: list[str], check_mode: bool) -> dict[str, t.Any]:
    unregistered: list[str] = []
    running: set[str] | None = None
    for interface in interfaces:
        if check_mode:
            unregistered.append(interface)
            continue
        rc, _reason = peers.wg_set(interface, public_key, remove=True)
        if rc != 0:
            running = peers.running() if running is None else running
            if interface in running:
                # Still there, perhaps: the marker stays so that the next run removes it.
                continue
        unregistered.append(interface)
        peers.unmark(peers.marker(interface, public_key))
    return {"changed": bool(unregistered), "unregistered": unregistered,
            "diff": {"before": "".join("%s: probe peer %s\n" % (i, public_key) for i in unregistered), "after": ""},
            "msg": "probe peer removed from %d interface(s)" % len(unregistered)}


def read_config(path: str) -> tuple[str | None, bool]:
    """The config's text (None when there is none) and whether it could be read."""
    try:
        with open(path, "rb") as handle:
            return handle.read().decode("utf-8", errors="replace"), True
    except FileNotFoundError:
        return None, True
    except OSError:
        return None, False


def clean(peers: ProbePeers, interfaces: list[str] | None, config_dir: str, min_age: int, check_mode: bool) -> dict[str, t.Any]:
    leftovers: list[dict[str, t.Any]] = []
    removed: list[dict[str, str]] = []
    warnings: list[str] = []
    try:
        marked_interfaces = sorted(os.listdir(peers.base))
    except (FileNotFoundError, NotADirectoryError):
        marked_interfaces = []
    if interfaces is not None:
        marked_interfaces = [name for name in marked_interfaces if name in interfaces]
    if marked_interfaces and not peers.wg:
        return {"changed": False, "leftovers": [], "removed": [], "warnings": [], "diff": {"before": "", "after": ""},
                "msg": "wg (wireguard-tools) was not found: the marked probe peers are left for a later run"}
    running = peers.running() if marked_interfaces else set()
    now = time.time()
    for interface in marked_interfaces:
        directory = os.path.join(peers.base, interface)
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            continue
        runtime = peers.allowed_ips(interface) if interface in running else None
        config_text, config_readable = read_config(os.path.join(config_dir, interface + ".conf"))
        for name in names:
            path = os.path.join(directory, name)
            key = probe_peer.key_of_marker(name)
            if key is None:
                # Not a file this module wrote: not ours to judge, not ours to delete.
                continue
            try:
                age = max(0.0, now - os.lstat(path).st_mtime)
            except FileNotFoundError:
                continue   # a run going on at the same time just removed its own
            decision = probe_peer.decide(key, age, min_age, interface in running, runtime, config_text, config_readable)
            entry = {"interface": interface, "public_key": key, "marker_age": int(age), "action": decision["action"],
                     "reason": decision["reason"]}
            if decision["action"] == probe_peer.REMOVE and not check_mode:
                rc, reason = peers.wg_set(interface, key, remove=True)
                if rc != 0:
                    entry.update(action=probe_peer.KEEP, reason="wg could not remove it: %s" % reason)
            if entry["action"] == probe_peer.REMOVE:
                removed.append({"interface": interface, "public_key": key})
            if decision.get("reused"):
                warnings.append("%s: the marked probe key %s is not removed: %s; it is no longer marked"
                                % (interface, key, decision["reason"]))
            if entry["action"] in (probe_peer.REMOVE, probe_peer.FORGET) and not check_mode:
                peers.unmark(path)
            leftovers.append(entry)
    verb = "would remove" if check_mode else "removed"
    return {"changed": bool(removed), "leftovers": leftovers, "removed": removed, "warnings": warnings,
            "diff": {"before": "".join("%s: leftover probe peer %s\n" % (r["interface"], r["public_key"]) for r in removed),
                     "after": ""},
            "msg": "%s %d leftover probe peer(s) of an interrupted run" % (verb, len(removed))}


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type="str", choices=["present", "absent", "cleaned"], default="cleaned"),
            public_key=dict(type="str"),
            interfaces=dict(type="list", elements="str"),
            marker_dir=dict(type="path", default="/run/wgdoctor/probe-peers"),
            config_dir=dict(type="path", default="/etc/wireguard"),
            min_age=dict(type="int", default=3600),
        ),
        required_if=[("state", "present", ("public_key", "interfaces")), ("state", "absent", ("public_key", "interfaces"))],
        supports_check_mode=True,
    )
    params = module.params
    state = params["state"]
    if state != "cleaned":
        problem = wg_keys.key_problem(params["public_key"])
        if problem:
            module.fail_json(msg="public_key is not a WireGuard public key: %s" % problem)
    for interface in params["interfaces"] or []:
        if not interface or "/" in interface or interface in (".", ".."):
            module.fail_json(msg="interfaces: %r is not an interface name" % interface)
    if params["min_age"] < 0:
        module.fail_json(msg="min_age must not be negative")
    peers = ProbePeers(module)
    if state != "cleaned":
        peers.require_wg()
    if state == "present":
        result = register(peers, params["public_key"], params["interfaces"], module.check_mode)
    elif state == "absent":
        result = unregister(peers, params["public_key"], params["interfaces"], module.check_mode)
    else:
        result = clean(peers, params["interfaces"], params["config_dir"], params["min_age"], module.check_mode)
    warnings = result.pop("warnings", [])
    for warning in warnings:
        module.warn(warning)
    if not module._diff:
        result.pop("diff")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
