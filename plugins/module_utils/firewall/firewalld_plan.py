# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan what the firewall remedy changes in firewalld, from what the readers read. Pure: no command runs here.

firewalld keeps two configurations: runtime (what filters now) and permanent (loaded at boot and on
every reload). Each is read with the reader the diagnosis uses (firewall/firewalld.py: parse_zones on
``--list-all-zones`` and ``--list-all-policies``, parse_active_zones, zone_of) and planned on its own,
so a setting one of them lacks is added there only; the role's earlier Jinja plan compared the
permanent configuration and replayed the same commands at runtime.

What is opened is exactly what the finding needs:
- UDP to the listen port in the zone the WireGuard packets arrive in (the uplinks' zones);
- with forwarding or masquerading, the WireGuard interface goes into a zone of its own (opening
  nothing on the host; never zone trusted) and a policy from that zone to the uplinks' zones accepts
  and masquerades only the tunnel's subnets (rich rules); a zone's own masquerade is never turned on;
- an interface the host bound to another zone stays there (a warning says what that means);
- with the MSS clamp, a direct rule in mangle FORWARD each way.
A zone or policy firewalld does not have yet exists at runtime only after a reload, which drops
runtime-only settings: the plan says when a reload is needed and what it would drop.

wgdoctor.wireguard.wg_firewalld runs the commands; this module decides, so that check mode and the
diff come from the same plan the real run carries out.
"""
from __future__ import annotations

import hashlib
import re
import typing as t

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall import firewalld as fw_firewalld
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall.primitives import interface_matches
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall.plan_params import PlanError, check_common

ZONE_NAME = re.compile(r"^[A-Za-z0-9_.+-]{1,17}$")
# The comment marks the MSS clamp's direct rules; it is one iptables argument.
COMMENT = re.compile(r"^[A-Za-z0-9_.:/-]{1,64}$")
LAYERS = ("permanent", "runtime")
# Settings of a zone or policy that are not lost by a reload: firewalld keeps the interface bindings.
KEPT_BY_RELOAD = ("name", "flags", "interfaces")


class Params(t.TypedDict, total=False):
    interface: str
    port: int
    zone: str  # the zone to open the port in; "" = the uplinks' zones
    uplinks: list[str]  # where the WireGuard packets arrive
    forward: bool
    forward_sources: list[str]
    forward_uplinks: list[str]
    masquerade_source: str
    masquerade_interface: str
    mss_clamp: bool
    comment: str


class Layer(t.TypedDict):
    """One configuration as the readers read it."""
    zones: fw_firewalld.Zones  # parse_zones(--list-all-zones)
    policies: fw_firewalld.Zones  # parse_policies(--list-all-policies): a policy lists like a zone
    direct: list[str]  # --direct --get-all-rules, one rule a line
    ipsets: list[str]  # --get-ipsets


class State(t.TypedDict):
    default_zone: str
    active: fw_firewalld.ActiveZones  # parse_active_zones(--get-active-zones), runtime
    permanent: Layer
    runtime: Layer


# A setting the plan wants (or wants gone), the same in both layers:
# ("zone", zone) ("policy", policy) ("port", zone, "P/udp") ("interface", zone, interface)
# ("ingress", policy, zone) ("egress", policy, zone) ("rule", policy, rich rule) ("direct", rule)
Item = t.Tuple[str, ...]


class Change(t.TypedDict):
    layer: str  # permanent or runtime
    item: Item
    add: bool
    what: str  # "permanent: + policy wgdfw-wgsrv: ingress zone wgd-wgsrv", the line of the diff
    args: list[str]  # firewall-cmd's arguments (--permanent first in the permanent layer)


class Plan(t.TypedDict):
    zone: str  # the WireGuard interface's zone of our own
    policy: str
    ours: bool  # False: the host bound the interface to another zone, which stays
    ingress_zone: str | None
    port_zones: list[str]
    egress_zones: list[str]
    changes: list[Change]
    reload: bool  # a zone or policy exists in the permanent configuration only (after the changes)
    lost_by_reload: list[str]  # runtime settings the permanent configuration lacks, even after the changes
    warnings: list[str]
    before: list[str]  # the settings the plan looks at, as they are ("layer: what")
    after: list[str]  # as they will be


def short_name(interface: str) -> str:
    """firewalld 1.x limits zone names to 17 characters and policy names to 18: a long interface name is shortened."""
    if len(interface) <= 12:
        return interface
    return interface[:7] + "-" + hashlib.sha1(interface.encode("utf-8")).hexdigest()[:4]


def zone_name(interface: str) -> str:
    return "wgd-" + short_name(interface)


# The priority the role's forwarding policy runs at: the plan sets none, so it is firewalld's default. The diagnosis
# compares an admin's blocking policy with it (policies run by priority, then by name).
POLICY_PRIORITY = -1


def policy_name(interface: str) -> str:
    return "wgdfw-" + short_name(interface)


def check_params(params: Params) -> None:
    """Names reach firewall-cmd arguments and rich rules: only what the kernel and firewalld accept. Raises PlanError."""
    names = [("interface", params["interface"])] + [("uplinks", u) for u in params.get("uplinks") or []]
    names += [("forward_uplinks", u) for u in params.get("forward_uplinks") or []]
    if params.get("masquerade_interface"):
        names.append(("masquerade_interface", params["masquerade_interface"]))
    check_common(params, names)
    if params.get("zone") and not ZONE_NAME.match(params["zone"]):
        raise PlanError("zone: %r is not a firewalld zone name" % params["zone"])
    if params.get("mss_clamp") and not COMMENT.match(params.get("comment") or ""):
        raise PlanError("comment: %r must be 1-64 of A-Z a-z 0-9 _ . : / - (one iptables argument)" % params.get("comment"))


# ---------------------------------------------------------------- reading a layer

def bound_zone(zones: fw_firewalld.Zones, active: fw_firewalld.ActiveZones | None, interface: str) -> str:
    """The zone the interface is bound to in this layer, "" when none (then the default zone filters it)."""
    for name, zone in zones["zones"].items():
        if any(interface_matches(bound, interface) for bound in zone.get("interfaces") or []):
            return name
    for name, bindings in (active or {}).items():
        if any(interface_matches(bound, interface) for bound in bindings.get("interfaces") or []):
            return name
    return ""


def _present(layer: Layer, item: Item) -> bool:
    kind = item[0]
    zones, policies = layer["zones"]["zones"], layer["policies"]["zones"]
    if kind == "zone":
        return item[1] in zones
    if kind == "policy":
        return item[1] in policies
    if kind in ("port", "service"):
        return item[2] in (zones.get(item[1]) or {}).get(kind + "s", [])
    if kind == "interface":
        return item[2] in (zones.get(item[1]) or {}).get("interfaces", [])
    if kind in ("ingress", "egress"):
        return item[2] in (policies.get(item[1]) or {}).get(kind + "-zones", [])
    if kind == "rule":
        return item[2] in (policies.get(item[1]) or {}).get("rich rules", [])
    if kind == "direct":
        return item[1] in layer["direct"]
    raise ValueError(item)


def _what(item: Item) -> str:
    kind = item[0]
    if kind in ("zone", "policy"):
        return "%s %s" % item
    if kind in ("port", "service", "interface"):
        return "zone %s: %s %s" % (item[1], kind, item[2])
    if kind in ("ingress", "egress"):
        return "policy %s: %s zone %s" % (item[1], kind, item[2])
    if kind == "rule":
        return "policy %s: %s" % (item[1], item[2])
    return "direct rule %s" % item[1]


def _args(item: Item, add: bool) -> list[str]:
    kind, verb = item[0], "add" if add else "remove"
    if kind == "zone":
        return ["--new-zone=%s" % item[1]]
    if kind == "policy":
        return ["--new-policy=%s" % item[1]]
    if kind in ("port", "service"):
        return ["--zone=%s" % item[1], "--%s-%s=%s" % (verb, kind, item[2])]
    if kind == "interface":
        # change, not add: firewalld refuses to add an interface another zone holds
        return ["--zone=%s" % item[1], "--change-interface=%s" % item[2]]
    if kind in ("ingress", "egress"):
        return ["--policy=%s" % item[1], "--%s-%s-zone=%s" % (verb, kind, item[2])]
    if kind == "rule":
        return ["--policy=%s" % item[1], "--%s-rich-rule=%s" % (verb, item[2])]
    return ["--direct", "--%s-rule" % verb] + item[1].split(" ")


def _family(cidr: str) -> str:
    return "ipv6" if ":" in cidr else "ipv4"


def mss_rules(params: Params) -> list[str]:
    """The clamp's direct rules as ``--direct --get-all-rules`` prints them (words joined by one space)."""
    args = "-p tcp --tcp-flags SYN,RST SYN -m comment --comment %s -j TCPMSS --clamp-mss-to-pmtu" % params["comment"]
    return ["%s mangle FORWARD 0 %s %s %s" % (family, way, params["interface"], args)
            for family in ("ipv4", "ipv6") for way in ("-o", "-i")]


def _differences(runtime: dict[str, t.Any], permanent: dict[str, t.Any] | None, kind: str, name: str) -> list[str]:
    """What a reload would drop from one zone or policy: runtime values the permanent one lacks."""
    if permanent is None:
        return ["%s %s exists at runtime only" % (kind, name)]
    lost = []
    for key, value in runtime.items():
        if key in KEPT_BY_RELOAD:
            continue
        saved = permanent.get(key)
        if isinstance(value, list):
            lost += ["%s %s: %s %s" % (kind, name, key, v) for v in value if v not in (saved or [])]
        elif value != saved and value:
            lost.append("%s %s: %s %s (permanent: %s)" % (kind, name, key, value, saved or "unset"))
    return lost


def _layer(state: State, layer: str) -> Layer:
    return state["permanent"] if layer == "permanent" else state["runtime"]


def runtime_only(state: State) -> list[str]:
    """Runtime settings the permanent configuration lacks: what a reload drops (interface bindings excepted)."""
    runtime, permanent = state["runtime"], state["permanent"]
    lost = []
    for kind, now, saved in (("zone", runtime["zones"], permanent["zones"]), ("policy", runtime["policies"], permanent["policies"])):
        for name, item in now["zones"].items():
            lost += _differences(item, saved["zones"].get(name), kind, name)
    lost += ["direct rule %s" % rule for rule in runtime["direct"] if rule not in permanent["direct"]]
    lost += ["ipset %s" % name for name in runtime["ipsets"] if name not in permanent["ipsets"]]
    return lost


# ---------------------------------------------------------------- the plan

def plan(params: Params, state: State) -> Plan:
    interface = params["interface"]
    zone, policy = zone_name(interface), policy_name(interface)
    runtime, permanent, active = state["runtime"], state["permanent"], state["active"]
    default = state["default_zone"]
    warnings: list[str] = []

    def effective(name: str) -> str:
        return fw_firewalld.zone_of(runtime["zones"], active, name) or default

    uplinks = [u for u in dict.fromkeys(list(params.get("uplinks") or []) + (
        [params["masquerade_interface"]] if params.get("masquerade_interface") else [])) if u != interface]
    port_zones = [params["zone"]] if params.get("zone") else (list(dict.fromkeys(effective(u) for u in uplinks)) or [default])
    port = "%d/udp" % int(params["port"])
    # Wanted per layer: the port everywhere; the rest only when forwarding or masquerading.
    wanted: dict[str, list[Item]] = {layer: [("port", z, port) for z in port_zones] for layer in LAYERS}
    stale: dict[str, list[Item]] = {layer: [] for layer in LAYERS}
    policy_uplinks = [u for u in dict.fromkeys(
        (list(params.get("forward_uplinks") or []) if params.get("forward") else [])
        + ([params["masquerade_interface"]] if params.get("masquerade_source") else [])) if u != interface]
    bound = {layer: bound_zone(_layer(state, layer)["zones"], active if layer == "runtime" else None, interface) for layer in LAYERS}
    ours = all(bound[layer] in ("", zone) for layer in LAYERS)
    ingress: str | None = zone if ours else (bound["runtime"] or bound["permanent"])
    egress = list(dict.fromkeys(effective(u) for u in policy_uplinks))
    if policy_uplinks:
        rules = ['rule family="%s" source address="%s" accept' % (_family(s), s)
                 for s in (params.get("forward_sources") or [] if params.get("forward") else [])]
        if params.get("masquerade_source"):
            rules.append('rule family="%s" source address="%s" masquerade' % (
                _family(params["masquerade_source"]), params["masquerade_source"]))
        if not ours:
            trusted = " (target ACCEPT: every service of the host; earlier versions of this role put it there)" if ingress == "trusted" else ""
            warnings.append(
                "%s is bound to firewalld zone %s, which is left alone: what peers reach on this host follows that zone%s, and "
                "policy %s forwards from that zone. For a zone that opens nothing: firewall-cmd --permanent --new-zone=%s, "
                "firewall-cmd --reload, firewall-cmd --zone=%s --change-interface=%s (and the same with --permanent), then run "
                "the role again." % (interface, ingress, trusted, policy, zone, zone, interface))
        for layer in LAYERS:
            items: list[Item] = []
            if ours:
                items += [("zone", zone)]
            items += [("policy", policy), ("ingress", policy, t.cast(str, ingress))]
            items += [("egress", policy, z) for z in egress] + [("rule", policy, r) for r in rules]
            if ours:
                items.append(("interface", zone, interface))
                # Moving the tunnel out of the zone that filtered it so far must not cut its peers off what they reached
                # on this host (SSH through the tunnel): the new zone gets that zone's services and TCP/SCTP ports, no
                # more. Its UDP ports are WireGuard listen ports (this or another tunnel's, opened by another remedy of
                # the same run): no peer reaches them through a tunnel, and copying them would make --check differ.
                if bound[layer] != zone:
                    before_zone = _layer(state, layer)["zones"]["zones"].get(bound[layer] or default) or {}
                    items += [("service", zone, name) for name in before_zone.get("services") or []]
                    items += [("port", zone, name) for name in before_zone.get("ports") or [] if not name.endswith("/udp")]
            # firewalld 1.x activates a policy only for zones with a bound interface or source: an uplink bound to no
            # zone (filtered by the default zone) is bound to that same zone, where nothing it filters changes (firewalld#1205).
            for uplink in policy_uplinks:
                if bound_zone(runtime["zones"], active, uplink) == "" and bound_zone(_layer(state, layer)["zones"], None, uplink) == "":
                    items.append(("interface", default, uplink))
            wanted[layer] = items + wanted[layer]
            # A setting of ours that this run would make otherwise (the subnet or an uplink changed) goes. The remediation
            # runs the role once per finding, forwarding and masquerade apart: a run removes only rules of the kind it
            # makes, and egress zones only when it makes both kinds, so that one remedy never undoes another.
            saved = _layer(state, layer)["policies"]["zones"].get(policy) or {}
            kinds = ({"accept"} if params.get("forward") else set()) | ({"masquerade"} if params.get("masquerade_source") else set())
            stale[layer] = ([("ingress", policy, z) for z in saved.get("ingress-zones", []) if z != ingress]
                            + [("egress", policy, z) for z in saved.get("egress-zones", [])
                               if z not in egress and kinds == {"accept", "masquerade"}]
                            + [("rule", policy, r) for r in saved.get("rich rules", [])
                               if r not in rules and r.rsplit(" ", 1)[-1] in kinds])
    if params.get("mss_clamp"):
        for layer in LAYERS:
            wanted[layer] += [("direct", rule) for rule in mss_rules(params)]

    changes: list[Change] = []
    for layer in LAYERS:
        prefix = ["--permanent"] if layer == "permanent" else []
        for item in wanted[layer]:
            if not _present(_layer(state, layer), item):
                changes.append({"layer": layer, "item": item, "add": True, "what": "%s: + %s" % (layer, _what(item)),
                                "args": prefix + _args(item, True)})
        for item in stale[layer]:
            changes.append({"layer": layer, "item": item, "add": False, "what": "%s: - %s" % (layer, _what(item)),
                            "args": prefix + _args(item, False)})
    # firewalld creates a zone or a policy in the permanent configuration only; a reload brings it to runtime.
    reload = any(c["layer"] == "runtime" and c["item"][0] in ("zone", "policy") for c in changes)
    lost: list[str] = []
    if reload:
        # The reload replaces the runtime with the permanent configuration: every runtime change comes from there.
        added = {c["item"] for c in changes if c["layer"] == "permanent" and c["add"]}
        changes = [c for c in changes if c["layer"] == "permanent"]
        lost = [what for what in runtime_only(state) if not _made_permanent(what, added)]
    before = {layer: [item for item in wanted[layer] + stale[layer] if _present(_layer(state, layer), item)] for layer in LAYERS}
    return {"zone": zone, "policy": policy, "ours": ours, "ingress_zone": ingress if policy_uplinks else None,
            "port_zones": port_zones, "egress_zones": egress, "changes": changes, "reload": reload, "lost_by_reload": lost,
            "warnings": warnings,
            "before": ["%s: %s" % (layer, _what(item)) for layer in LAYERS for item in before[layer]],
            "after": ["%s: %s" % (layer, _what(item)) for layer in LAYERS for item in wanted[layer]]}


def _made_permanent(lost: str, added: set[Item]) -> bool:
    """A runtime-only setting the plan itself adds to the permanent configuration is not lost by the reload."""
    made = {"zone %s: ports %s" % (item[1], item[2]) for item in added if item[0] == "port"}
    made |= {"direct rule %s" % item[1] for item in added if item[0] == "direct"}
    return lost in made


def read_layer(zones_text: str, policies_text: str, direct_text: str = "", ipsets_text: str = "",
               default_zone: str | None = None) -> Layer:
    """A layer from firewall-cmd's outputs, by the diagnosis' reader; raises PlanError when they cannot be read."""
    zones = fw_firewalld.parse_zones(zones_text, default_zone=default_zone)
    if zones["errors"]:
        raise PlanError("firewall-cmd --list-all-zones: %s" % "; ".join(zones["errors"][:3]))
    policies = fw_firewalld.parse_policies(policies_text)
    if policies["errors"]:
        raise PlanError("firewall-cmd --list-all-policies: %s" % "; ".join(policies["errors"][:3]))
    return {"zones": zones, "policies": policies,
            "direct": [" ".join(line.split()) for line in (direct_text or "").splitlines() if line.strip()],
            "ipsets": (ipsets_text or "").split()}
