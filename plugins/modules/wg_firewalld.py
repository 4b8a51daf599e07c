#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r'''
---
module: wg_firewalld
short_description: Open a WireGuard tunnel in firewalld, planned from what firewall-cmd reports, runtime and permanent
version_added: 0.1.0
description:
  - Opens UDP to O(port) in the zone the WireGuard packets arrive in (the zones of O(uplinks), or O(zone)). With O(forward)
    or O(masquerade_source), puts O(interface) into a zone of its own (C(wgd-<interface>)) that opens on the host the
    services and ports of the zone that filtered O(interface) before (what its peers reached, SSH included) and nothing
    more, and makes a policy (C(wgdfw-<interface>)) from that zone to the uplinks' zones that accepts only O(forward_sources) and
    masquerades only O(masquerade_source) (rich rules). With O(mss_clamp), a direct rule in mangle FORWARD each way clamps
    the TCP MSS. No other zone's settings, no service (SSH included) and no zone's own masquerade are touched.
  - The plan is made in Python by the same reader the diagnosis uses (C(firewall-cmd --list-all-zones),
    C(--list-all-policies), C(--get-active-zones)), for the runtime and the permanent configuration each on its own, so a
    setting one of them lacks is added there only. Check mode and the diff show exactly what a real run does, and
    C(changed) is true only when a setting changes.
  - An interface the host already bound to another zone stays there; a warning says what peers reach through that zone.
  - firewalld creates a zone or policy in the permanent configuration only; it exists at runtime after C(firewall-cmd
    --reload), which replaces the runtime with the permanent configuration. The module reloads only then, and refuses
    (changing nothing) when the runtime holds settings the permanent configuration lacks, even after the changes.
author:
  - wgdoctor contributors (@wgdoctor)
options:
  interface:
    description: The WireGuard interface. It names the zone and the policy, and is the policy's ingress.
    type: str
    required: true
  port:
    description: The UDP listen port of O(interface) to open.
    type: int
    required: true
  zone:
    description: The zone to open O(port) in. Empty opens it in the zone of each of O(uplinks) and O(masquerade_interface)
      (an interface bound to no zone is in the default zone), or the default zone when there are none.
    type: str
    default: ""
  uplinks:
    description: The interfaces the WireGuard packets arrive on.
    type: list
    elements: str
    default: []
  forward:
    description: Also forward from O(forward_sources) in O(interface) out of O(forward_uplinks); replies come back as established traffic.
    type: bool
    default: false
  forward_sources:
    description: The tunnel's subnets (CIDR) O(forward) lets out. Required (non-empty) with O(forward).
    type: list
    elements: str
    default: []
  forward_uplinks:
    description: The interfaces O(forward) lets the tunnel out of; their zones are the policy's egress zones. Required with O(forward).
    type: list
    elements: str
    default: []
  masquerade_source:
    description: Tunnel subnet (CIDR) masqueraded out of O(masquerade_interface) by the policy; empty for none.
    type: str
    default: ""
  masquerade_interface:
    description: The uplink O(masquerade_source) is masqueraded out of; set with O(masquerade_source).
    type: str
    default: ""
  mss_clamp:
    description: Clamp the TCP MSS of connections forwarded in and out of O(interface) to the route's MTU (direct rules, IPv4 and IPv6).
    type: bool
    default: false
  comment:
    description: Comment of the MSS clamp's direct rules.
    type: str
    default: wgdoctor
attributes:
  check_mode:
    support: full
    description: Reads, plans, refuses a reload that would drop runtime-only settings, reports, and changes nothing.
  diff_mode:
    support: full
    description:
      - The settings the plan looks at (ports, zone, policy, bindings, direct rules), each line C(permanent:) or C(runtime:),
        before and after. Computed from the plan, in check mode and in a real run alike.
  platform:
    description: Linux hosts where firewalld runs.
    support: full
    platforms: posix
notes:
  - Needs C(firewall-cmd) and a running firewalld; names must fit firewalld 1.x (an interface name longer than 12
    characters is shortened with a hash in the zone and policy names).
  - After a real run the module reads firewalld again and fails when something it changed is not there.
  - C(ansible.posix.firewalld) does the port alone, without a diff, and makes no policy; this module plans every change together.
seealso:
  - module: wgdoctor.wireguard.wg_firewall
  - module: wgdoctor.wireguard.wg_firewall_backend
  - name: The firewall role
    description: docs/roles/firewall.md in the collection.
    link: https://github.com/wgdoctor/wireguard/blob/main/docs/roles/firewall.md
'''

EXAMPLES = r'''
- name: Open UDP 51999 for wgsrv in the zone of ens3
  wgdoctor.wireguard.wg_firewalld:
    interface: wgsrv
    port: 51999
    uplinks: [ens3]

- name: Also forward and masquerade the tunnel's subnet out of ens3
  wgdoctor.wireguard.wg_firewalld:
    interface: wgsrv
    port: 51999
    uplinks: [ens3]
    forward: true
    forward_sources: [10.77.0.0/24]
    forward_uplinks: [ens3]
    masquerade_source: 10.77.0.0/24
    masquerade_interface: ens3
'''

RETURN = r'''
zone:
  description: The zone of O(interface) the module owns (C(wgd-<interface>)), used only with forwarding or masquerading.
  returned: always
  type: str
  sample: wgd-wgsrv
policy:
  description: The module's policy (C(wgdfw-<interface>)), used only with forwarding or masquerading.
  returned: always
  type: str
  sample: wgdfw-wgsrv
interface_zone:
  description: The policy's ingress zone, C(zone) or the zone the host bound O(interface) to; null without a policy.
  returned: always
  type: str
port_zones:
  description: The zones O(port) is opened in.
  returned: always
  type: list
  elements: str
  sample: [public]
egress_zones:
  description: The policy's egress zones (the forwarding uplinks' zones).
  returned: always
  type: list
  elements: str
changes:
  description: The changes made (or, in check mode, to make), each C(permanent:) or C(runtime:) then C(+) or C(-) and the setting.
  returned: always
  type: list
  elements: str
  sample: ['permanent: + zone public: port 51999/udp', 'runtime: + zone public: port 51999/udp']
reload:
  description: Whether firewalld is (or would be) reloaded, because a zone or policy exists in the permanent configuration only.
  returned: always
  type: bool
'''

import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall import firewalld as fw_firewalld
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall import firewalld_plan


class Firewalld(object):
    def __init__(self, module: AnsibleModule) -> None:
        self.module = module
        self.firewall_cmd = module.get_bin_path("firewall-cmd", required=True)

    def run(self, args: list[str], check: bool = True) -> tuple[int, str, str]:
        rc, out, err = self.module.run_command([self.firewall_cmd] + args, environ_update={"LC_ALL": "C"})
        if check and rc != 0:
            self.module.fail_json(msg="firewall-cmd %s failed (rc %d): %s" % (" ".join(args), rc, (err or out).strip()[:500]))
        return rc, out, err

    def read(self) -> firewalld_plan.State:
        rc, out, err = self.run(["--state"], check=False)
        if not fw_firewalld.parse_state(rc, out):
            self.module.fail_json(msg="firewalld does not run (firewall-cmd --state: %s): nothing was changed; start it, or pick the "
                                      "backend the host uses." % (out or err).strip()[:200])
        default = fw_firewalld.parse_default_zone(self.run(["--get-default-zone"])[1])
        if default is None:
            self.module.fail_json(msg="firewall-cmd --get-default-zone printed no zone name: nothing was changed")
        layers = {}
        for layer, flag in (("permanent", ["--permanent"]), ("runtime", [])):
            try:
                layers[layer] = firewalld_plan.read_layer(
                    self.run(flag + ["--list-all-zones"])[1], self.run(flag + ["--list-all-policies"])[1],
                    self.run(flag + ["--direct", "--get-all-rules"])[1], self.run(flag + ["--get-ipsets"])[1],
                    default_zone=default)
            except firewalld_plan.PlanError as exc:
                self.module.fail_json(msg="%s (%s configuration): nothing was changed" % (exc, layer))
        active = fw_firewalld.parse_active_zones(self.run(["--get-active-zones"])[1])
        return {"default_zone": t.cast(str, default), "active": active,
                "permanent": layers["permanent"], "runtime": layers["runtime"]}


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            interface=dict(type="str", required=True),
            port=dict(type="int", required=True),
            zone=dict(type="str", default=""),
            uplinks=dict(type="list", elements="str", default=[]),
            forward=dict(type="bool", default=False),
            forward_sources=dict(type="list", elements="str", default=[]),
            forward_uplinks=dict(type="list", elements="str", default=[]),
            masquerade_source=dict(type="str", default=""),
            masquerade_interface=dict(type="str", default=""),
            mss_clamp=dict(type="bool", default=False),
            comment=dict(type="str", default="wgdoctor"),
        ),
        supports_check_mode=True,
    )
    params: firewalld_plan.Params = {key: module.params[key] for key in (  # type: ignore[assignment]
        "interface", "port", "zone", "uplinks", "forward", "forward_sources", "forward_uplinks", "masquerade_source",
        "masquerade_interface", "mss_clamp", "comment")}
    try:
        firewalld_plan.check_params(params)
    except firewalld_plan.PlanError as exc:
        module.fail_json(msg=str(exc))
    firewalld = Firewalld(module)
    state = firewalld.read()
    plan = firewalld_plan.plan(params, state)
    for warning in plan["warnings"]:
        module.warn(warning)
    if plan["reload"] and plan["lost_by_reload"]:
        module.fail_json(msg="firewalld has settings at runtime that its permanent configuration lacks, and the zone %s / policy %s the "
                             "tunnel needs only take effect through a reload, which would drop them: %s. Nothing was changed. Keep them "
                             "with firewall-cmd --runtime-to-permanent (or drop them), then run the role again." % (
                                 plan["zone"], plan["policy"], "; ".join(plan["lost_by_reload"][:20])))
    changed = bool(plan["changes"]) or plan["reload"]
    result: dict[str, t.Any] = {
        "changed": changed, "zone": plan["zone"], "policy": plan["policy"], "interface_zone": plan["ingress_zone"],
        "port_zones": plan["port_zones"], "egress_zones": plan["egress_zones"],
        "changes": [c["what"] for c in plan["changes"]] + (["firewall-cmd --reload"] if plan["reload"] else []),
        "reload": plan["reload"],
    }
    if module._diff and changed:
        result["diff"] = {"before": "".join(line + "\n" for line in plan["before"]),
                          "after": "".join(line + "\n" for line in plan["after"]),
                          "before_header": "firewalld: the settings of %s" % params["interface"],
                          "after_header": "firewalld: the settings of %s%s" % (
                              params["interface"], " (runtime after firewall-cmd --reload)" if plan["reload"] else "")}
    if module.check_mode or not changed:
        module.exit_json(**result)

    for change in plan["changes"]:
        firewalld.run(change["args"])
    if plan["reload"]:
        firewalld.run(["--reload"])
    # What firewalld holds now must be the plan: a change it did not take is an error, not a silent ok.
    left = firewalld_plan.plan(params, firewalld.read())
    if left["changes"] or left["reload"]:
        module.fail_json(msg="firewalld does not hold what was changed: %s" % "; ".join(
            [c["what"] for c in left["changes"]] + (["the zone or policy is still missing at runtime"] if left["reload"] else [])),
            **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
