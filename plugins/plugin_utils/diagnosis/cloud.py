# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Does the cloud firewall in front of an end let the initiations in? (FINDINGS.md: handshake path, AWS).

Reads the `cloud` facts the controller gathered for an end that runs on EC2 (playbooks/phases/cloud_facts.yml,
docs/cloud.md): its security groups and its subnet's network ACL, judged by plugin_utils/cloud_aws.
"""
from __future__ import annotations

import typing as t

from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils import cloud_aws
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.diagnosis._common import (
    Context, RuleFinding, ScopeItem, address_ip, cap, is_public, make_finding, probe_line, remedy,
)
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.diagnosis.handshake_path import (
    ANSWERED, _arrival_families, _down, _responders,
)
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.topology import End

CODE = "udp_blocked_cloud_firewall"


def cloud_facts(ctx: Context, host: str) -> t.Optional[dict[str, t.Any]]:
    """The host's AWS facts when they were read without error, else None (an error is in `unchecked`)."""
    cloud = (ctx.facts_by_host.get(host) or {}).get("cloud")
    if not isinstance(cloud, dict) or cloud.get("provider") != "aws" or cloud.get("error"):
        return None
    if not isinstance(cloud.get("security_groups"), list):
        return None
    return cloud


def _initiators(ctx: Context, end: End) -> list[tuple[End, t.Optional[str], t.Optional[int]]]:
    """(initiator end, its public address as the responder sees it or None, the port it sends from or None)
    for every tunnel this end answers."""
    found = []
    # An initiator's own address stands in for its source only in the family it sends to this end over.
    families = _arrival_families(ctx, end)
    for _index, tunnel, first, second in ctx.tunnels():
        if second.id != end.id or tunnel["responder"] is None:
            continue
        runtime = (ctx.topology.entry(end, tunnel["b"]["peer"]) or {}).get("runtime") or {}
        seen = (runtime.get("endpoint") or {}).get("host")
        own = (a for a in first.addresses if is_public(a) and getattr(address_ip(a), "version", None) in families)
        address = seen if seen and is_public(seen) else next(own, None)
        found.append((first, address, (first.config or {}).get("listen_port")))
    return found


def _verdicts(ctx: Context, end: End, cloud: dict[str, t.Any]) -> list[tuple[t.Optional[End], dict[str, t.Any]]]:
    port = (end.iface.get("listening") or {}).get("port") or end.listen_port
    if port is None:
        return []
    key = "cloud_verdicts:%d" % end.id
    if key not in ctx.memo:
        groups = cloud["security_groups"]
        acl = cloud.get("network_acl") or None
        prefix_lists = cloud.get("prefix_lists") or {}
        initiators = _initiators(ctx, end)
        # An initiator nobody knows the public address of comes from the CIDRs the user named for it
        # (wg_cloud_allowed_cidrs), or from anywhere.
        allowed = [str(c) for c in cloud.get("allowed_cidrs") or []]
        verdicts: list[tuple[t.Optional[End], dict[str, t.Any]]] = []
        candidates: list[tuple[t.Optional[End], t.Optional[str], t.Optional[int]]] = list(initiators) or [(None, None, None)]
        for initiator, address, source_port in candidates:
            sources: list[t.Optional[str]] = [address] if address else (list(allowed) or [None])
            for source in sources:
                verdict = cloud_aws.inbound_verdict(groups, acl, int(port), source, source_port, prefix_lists=prefix_lists)
                verdicts.append((initiator, verdict))
        ctx.memo[key] = verdicts
    return t.cast(t.List[t.Tuple[t.Optional[End], t.Dict[str, t.Any]]], ctx.memo[key])


def _instance_line(end: End, cloud: dict[str, t.Any]) -> str:
    instance = cloud.get("instance") or {}
    names = ["%s (%s)" % (cloud_aws.field(g, "GroupId"), cloud_aws.field(g, "GroupName")) for g in cloud["security_groups"]]
    return "aws: %s is instance %s in %s, subnet %s, security groups %s" % (
        end.host, cloud.get("instance_id"), cloud.get("region") or "the default region", instance.get("subnet_id"),
        ", ".join(names) or "(none)")


def _target_group(cloud: dict[str, t.Any], verdict: dict[str, t.Any]) -> t.Any:
    """The group the remedy adds to: the one that already holds a rule for the port (its source is what is
    wrong), else the instance's first."""
    rules = verdict["security_group"]["port_rules"]
    if rules:
        return rules[0]["group_id"]
    groups = cloud["security_groups"]
    return cloud_aws.field(groups[0], "GroupId") if groups else None


def udp_blocked_cloud_firewall(ctx: Context) -> list[RuleFinding]:
    findings = []
    for end, scope in _responders(ctx):
        cloud = cloud_facts(ctx, end.host)
        if cloud is None or _down(ctx, end):
            continue
        probes = ctx.probes_to(end)
        if any(p.get("outcome") in ANSWERED for p in probes if p.get("vantage") != "controller"):
            continue  # an initiation got through: this firewall does not block the path in use
        denied = [(initiator, v) for initiator, v in _verdicts(ctx, end, cloud) if v["verdict"] == "deny"]
        if not denied:
            continue
        port = denied[0][1]["port"]
        sources = [v["source"] for _i, v in denied if v["source"]]
        cidrs = cloud_aws.narrowest_cidrs(sources)
        evidence = [_instance_line(end, cloud)]
        acl_fixes = []
        for initiator, verdict in denied:
            who = "from %s (%s)" % (initiator.host if initiator else "any initiator",
                                    verdict["source"] or "public address unknown")
            evidence.append("udp %s %s: denied by the %s: %s" % (
                port, who, verdict["decided_by"].replace("_", " ").replace("acl", "ACL"), verdict["reason"]))
            if verdict["decided_by"].startswith("network_acl"):
                acl_verdict = verdict["acl_inbound" if verdict["decided_by"] == "network_acl_inbound" else "acl_outbound"]
                for cidr in cidrs or ["<the initiators' public address>/32"]:
                    acl_fixes.append(cloud_aws.acl_rule_to_add(
                        cloud["network_acl"], acl_verdict["egress"], tuple(acl_verdict["ports"]), cidr))
        evidence += sorted(set(acl_fixes))
        evidence += [probe_line(p) for p in probes]
        by_group = [v for _i, v in denied if v["decided_by"] == "security_group"]
        action = None
        if by_group and cidrs:
            group_id = _target_group(cloud, by_group[0])
            summary = ("The AWS security groups of %s allow no inbound UDP %s from %s; add an inbound rule to %s: "
                       "UDP %s from %s." % (end.host, port, ", ".join(sources) or "the initiators", group_id, port,
                                            ", ".join(cidrs)))
            action = remedy("cloud_firewall", end.host, {
                "cloud_firewall_region": cloud.get("region"), "cloud_firewall_group_id": group_id,
                "cloud_firewall_port": port, "cloud_firewall_cidrs": cidrs})
        elif by_group:
            group_id = _target_group(cloud, by_group[0])
            summary = ("The AWS security groups of %s allow no inbound UDP %s; add an inbound rule to %s for UDP %s from "
                       "the initiators' public addresses (set wg_cloud_allowed_cidrs on %s to let the remedy add it)." % (
                           end.host, port, group_id, port, end.host))
        else:
            summary = ("The network ACL of %s's subnet drops WireGuard's UDP %s; add the ACL rule shown below by hand "
                       "(ACLs are never changed automatically)." % (end.host, port))
        findings.append(make_finding(CODE, end.host, summary, evidence, interface=end.interface, remedy=action,
                                     scope=tuple(scope) + (("host", end.host),)))
    return findings


def _scope_ends(finding: RuleFinding) -> list[int]:
    return [value for kind, value in t.cast(t.Tuple[ScopeItem, ...], finding["_scope"]) if kind == "end"]


def cloud_view_of_upstream(ctx: Context) -> list[RuleFinding]:
    """udp_blocked_upstream seen with the cloud facts: it follows from udp_blocked_cloud_firewall when that names
    the same end, and says so when the cloud firewall allows the port (so the person looks at the path instead)."""
    for finding in ctx.findings:
        if finding["code"] != "udp_blocked_upstream":
            continue
        for end_id in _scope_ends(finding):
            end = ctx.topology.ends[end_id]
            cloud = cloud_facts(ctx, end.host)
            if cloud is None:
                continue
            if ctx.has(CODE, ("end", end.id)):
                finding["follows_from"] = [CODE]
                finding["summary"] += " It follows from %s." % CODE
                finding["evidence"] = cap(finding["evidence"] + [
                    "aws: the security group or network ACL of %s drops it (%s)" % (end.host, CODE)])
                break
            verdicts = _verdicts(ctx, end, cloud)
            if verdicts and all(v["verdict"] == "allow" for _i, v in verdicts):
                finding["evidence"] = cap(finding["evidence"] + [
                    "aws: the cloud firewall allows it: %s; look at the routers and filters on the path" % "; ".join(
                        sorted(set(v["reason"] for _i, v in verdicts)))])
                break
    return []


RULES = (udp_blocked_cloud_firewall,)
AFTER_PATH_RULES = (cloud_view_of_upstream,)
