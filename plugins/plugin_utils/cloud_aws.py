# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Would an AWS security group and network ACL let a WireGuard initiation in, and its reply out?

Pure functions over the data the EC2 API describes (DescribeSecurityGroups, DescribeNetworkAcls,
GetManagedPrefixListEntries), in either of the shapes a controller sees it: boto3's CamelCase, or the
snake_case of the amazon.aws info modules (ec2_vpc_nacl_info's rule lists included).

What AWS does, and so what this does:
- A security group is stateful and allow-only: inbound UDP to port P is allowed when any rule of any
  group of the instance covers the protocol, the port and the source; the reply goes out unasked.
- A network ACL is stateless and ordered: the lowest-numbered rule that matches decides, the `*`
  rule (32767) denies the rest. Both the inbound initiation and the outbound reply (to the initiator's
  port: its ListenPort, or an ephemeral one) must be allowed.
- A rule that names a source (CIDR, prefix list, security group) allows only that source: for an
  initiator whose public address it does not cover, it is no rule at all.
"""
from __future__ import annotations

import ipaddress
import typing as t

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.contracts import CloudFacts, CloudInstance

UDP = "udp"
# A WireGuard end without a ListenPort sends from a port the kernel picks: Linux uses 32768-60999,
# other systems the IANA range, so an ACL must allow the whole span a client may use.
EPHEMERAL_PORTS = (1024, 65535)
DEFAULT_DENY = 32767
PROTOCOLS = {"-1": "all", "all": "all", "17": UDP, "udp": UDP, "6": "tcp", "tcp": "tcp", "1": "icmp", "icmp": "icmp",
             "58": "icmpv6", "icmpv6": "icmpv6"}

# What NAT hides hosts behind (as diagnosis._common.NAT_RANGES, which this lower layer does not import):
# an address outside them is one EC2 can know as the instance's public address.
PRIVATE_RANGES = tuple(ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"))

Network = t.Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
Verdict = t.Dict[str, t.Any]


def field(data: t.Mapping[str, t.Any], camel: str, default: t.Any = None) -> t.Any:
    """A field by its API name (FromPort) or the snake_case the amazon.aws modules return (from_port)."""
    if camel in data:
        return data[camel]
    snake = "".join("_" + c.lower() if c.isupper() else c for c in camel).lstrip("_")
    return data.get(snake, default)


def protocol(value: t.Any) -> str:
    """'udp', 'tcp', 'all', ... from "-1", "17", "udp", -1 (the API's spellings)."""
    return PROTOCOLS.get(str(value).lower(), str(value).lower())


def _network(text: t.Any) -> t.Optional[Network]:
    try:
        return ipaddress.ip_network(str(text), strict=False)
    except ValueError:
        return None


def _address(text: t.Any) -> t.Optional[t.Union[ipaddress.IPv4Address, ipaddress.IPv6Address]]:
    try:
        return ipaddress.ip_address(str(text).strip("[]").split("/", maxsplit=1)[0])
    except ValueError:
        return None


def _ports(from_port: t.Any, to_port: t.Any) -> tuple[int, int]:
    """A rule's port span; absent or -1 (what the API says for 'all') is every port."""
    low = 0 if from_port in (None, -1, "-1") else int(from_port)
    high = 65535 if to_port in (None, -1, "-1") else int(to_port)
    return low, high


# ---- security groups ------------------------------------------------------------------------

def group_rules(group: t.Mapping[str, t.Any]) -> list[dict[str, t.Any]]:
    """The inbound rules of one group, one per source: {"group_id", "group_name", "protocol", "from_port",
    "to_port", "source_type" (cidr, prefix_list, group), "source", "description"}."""
    rules = []
    group_id = field(group, "GroupId")
    name = field(group, "GroupName")
    for permission in field(group, "IpPermissions") or []:
        proto = protocol(field(permission, "IpProtocol", "-1"))
        if proto == "all":
            low, high = 0, 65535
        else:
            low, high = _ports(field(permission, "FromPort"), field(permission, "ToPort"))
        base = {"group_id": group_id, "group_name": name, "protocol": proto, "from_port": low, "to_port": high}
        sources: list[tuple[str, t.Any, t.Any]] = []
        for item in field(permission, "IpRanges") or []:
            sources.append(("cidr", field(item, "CidrIp"), field(item, "Description")))
        for item in field(permission, "Ipv6Ranges") or []:
            sources.append(("cidr", field(item, "CidrIpv6"), field(item, "Description")))
        for item in field(permission, "PrefixListIds") or []:
            sources.append(("prefix_list", field(item, "PrefixListId"), field(item, "Description")))
        for item in field(permission, "UserIdGroupPairs") or []:
            sources.append(("group", field(item, "GroupId"), field(item, "Description")))
        for source_type, source, description in sources:
            rules.append(dict(base, source_type=source_type, source=source, description=description))
    return rules


def rule_text(rule: t.Mapping[str, t.Any]) -> str:
    """'sg-0abc (web) inbound udp 51000-52000 from 198.51.100.0/24' for evidence."""
    if rule["protocol"] == "all":
        what = "all traffic"
    elif rule["from_port"] == rule["to_port"]:
        what = "%s %s" % (rule["protocol"], rule["from_port"])
    else:
        what = "%s %s-%s" % (rule["protocol"], rule["from_port"], rule["to_port"])
    source = rule["source"]
    if rule["source_type"] == "prefix_list":
        source = "prefix list %s" % source
    elif rule["source_type"] == "group":
        source = "security group %s" % source
    name = " (%s)" % rule["group_name"] if rule.get("group_name") else ""
    return "%s%s inbound %s from %s" % (rule["group_id"], name, what, source)


def _covers_port(rule: t.Mapping[str, t.Any], port: int) -> bool:
    return rule["protocol"] in ("all", UDP) and rule["from_port"] <= port <= rule["to_port"]


def _source(text: t.Any) -> t.Optional[Network]:
    """An initiator: an address (as its /32 or /128), or a CIDR the user named for initiators nobody knows."""
    if text is None:
        return None
    if "/" in str(text):
        return _network(text)
    address = _address(text)
    return None if address is None else ipaddress.ip_network(address)


def _cidrs_cover(cidrs: t.Iterable[t.Any], source: t.Any) -> bool:
    """Do the CIDRs hold the whole source (every address of a source CIDR)?"""
    src = _source(source)
    if src is None:
        return False
    return any(net is not None and net.version == src.version and src.subnet_of(net)  # type: ignore[arg-type]
               for net in (_network(c) for c in cidrs))


def _is_anywhere(cidr: t.Any) -> bool:
    net = _network(cidr)
    return net is not None and net.prefixlen == 0


def security_group_verdict(groups: t.Iterable[t.Mapping[str, t.Any]], port: int, source: t.Optional[str] = None,
                           source_groups: t.Iterable[str] = (),
                           prefix_lists: t.Optional[t.Mapping[str, t.Iterable[str]]] = None) -> Verdict:
    """Does any group let UDP to `port` in from `source`?

    source: the initiator's public address as the instance sees it; None when nobody knows it, and then
    only a rule open to every address (0.0.0.0/0, ::/0) allows for certain.
    source_groups: the groups of an initiator that reaches the instance by its private address in the same
    VPC (a group reference matches only such traffic).
    prefix_lists: prefix list id -> its CIDRs; a rule whose list is not given decides nothing.

    Returns {"verdict": "allow" | "deny" | "unknown", "rule": the deciding rule or None,
    "port_rules": every rule for UDP `port`, whatever its source, "reason"}.
    """
    prefix_lists = prefix_lists or {}
    source_groups = set(source_groups)
    port_rules = [r for g in groups for r in group_rules(g) if _covers_port(r, port)]
    undecided = []
    for rule in port_rules:
        kind, value = rule["source_type"], rule["source"]
        if kind == "cidr":
            if _is_anywhere(value) and (source is None or _cidrs_cover([value], source)):
                return _sg(port, "allow", rule, port_rules, "%s allows it from anywhere" % rule_text(rule))
            if source is not None and _cidrs_cover([value], source):
                return _sg(port, "allow", rule, port_rules, "%s covers %s" % (rule_text(rule), source))
        elif kind == "group":
            if value in source_groups:
                return _sg(port, "allow", rule, port_rules, "%s: the initiator is in %s" % (rule_text(rule), value))
        elif kind == "prefix_list":
            entries = prefix_lists.get(value)
            if entries is None:
                undecided.append(rule)
            elif any(_is_anywhere(c) for c in entries) or (source is not None and _cidrs_cover(entries, source)):
                return _sg(port, "allow", rule, port_rules, "%s covers %s" % (rule_text(rule), source or "every address"))
    if undecided:
        return _sg(port, "unknown", undecided[0], port_rules,
                   "%s may allow it: the entries of prefix list %s were not read" % (
                       rule_text(undecided[0]), undecided[0]["source"]))
    if port_rules:
        who = "the initiator's address %s" % source if source else "every address (the initiator's public address is unknown)"
        return _sg(port, "deny", None, port_rules, "rules for udp %s exist but none covers %s: %s" % (
            port, who, "; ".join(rule_text(r) for r in port_rules)))
    return _sg(port, "deny", None, port_rules, "no inbound rule of %s allows udp %s" % (
        ", ".join(str(field(g, "GroupId")) for g in groups) or "any group", port))


def _sg(port: int, verdict: str, rule: t.Optional[dict], port_rules: list[dict], reason: str) -> Verdict:
    return {"layer": "security_group", "port": port, "verdict": verdict, "rule": rule,
            "port_rules": port_rules, "reason": reason}


# ---- network ACLs ---------------------------------------------------------------------------

def acl_entries(acl: t.Mapping[str, t.Any]) -> list[dict[str, t.Any]]:
    """Every entry of one ACL in evaluation order, the `*` deny rules included (ec2_vpc_nacl_info leaves
    them out; AWS applies them all the same): {"rule_number", "egress", "protocol", "from_port",
    "to_port", "action", "cidr"}."""
    entries: list[dict[str, t.Any]] = []
    raw = field(acl, "Entries")
    if raw is not None:
        for entry in raw:
            proto = protocol(field(entry, "Protocol", "-1"))
            port_range = field(entry, "PortRange") or {}
            if proto in ("tcp", UDP):
                low, high = _ports(field(port_range, "From"), field(port_range, "To"))
            else:
                low, high = 0, 65535
            entries.append({"rule_number": int(field(entry, "RuleNumber")), "egress": bool(field(entry, "Egress")),
                            "protocol": proto, "from_port": low, "to_port": high,
                            "action": str(field(entry, "RuleAction")).lower(),
                            "cidr": field(entry, "CidrBlock") or field(entry, "Ipv6CidrBlock")})
    else:
        # ec2_vpc_nacl_info: [rule_num, protocol, action, cidr, icmp type, icmp code, port from, port to]
        for egress, key in ((False, "ingress"), (True, "egress")):
            for item in acl.get(key) or []:
                proto = protocol(item[1])
                low, high = _ports(item[6], item[7]) if proto in ("tcp", UDP) else (0, 65535)
                entries.append({"rule_number": int(item[0]), "egress": egress, "protocol": proto, "from_port": low,
                                "to_port": high, "action": str(item[2]).lower(), "cidr": item[3]})
    for egress in (False, True):
        for cidr in ("0.0.0.0/0", "::/0"):
            if not any(e["egress"] == egress and e["rule_number"] == DEFAULT_DENY and e["cidr"] == cidr for e in entries):
                entries.append({"rule_number": DEFAULT_DENY, "egress": egress, "protocol": "all", "from_port": 0,
                                "to_port": 65535, "action": "deny", "cidr": cidr, "implicit": True})
    entries.sort(key=lambda e: (e["egress"], e["rule_number"]))
    return entries


def acl_id(acl: t.Mapping[str, t.Any]) -> t.Any:
    return field(acl, "NetworkAclId") or acl.get("nacl_id")


def entry_text(entry: t.Mapping[str, t.Any]) -> str:
    number = "*" if entry["rule_number"] == DEFAULT_DENY else str(entry["rule_number"])
    what = "all traffic" if entry["protocol"] == "all" else "%s %s-%s" % (entry["protocol"], entry["from_port"], entry["to_port"])
    return "%s rule %s: %s %s %s %s" % ("outbound" if entry["egress"] else "inbound", number, entry["action"], what,
                                        "to" if entry["egress"] else "from", entry["cidr"])


def _entry_relation(entry: t.Mapping[str, t.Any], source: t.Optional[Network], unknown_version: int) -> str:
    """"match" when the entry's CIDR holds the whole source, "maybe" when it may hold some of it (an unknown
    source against anything but a /0, a source CIDR it overlaps), else "no"."""
    net = _network(entry["cidr"])
    if net is None:
        return "no"
    if source is None:
        if net.version != unknown_version:
            return "no"
        return "match" if net.prefixlen == 0 else "maybe"
    if net.version != source.version:
        return "no"
    if source.subnet_of(net):  # type: ignore[arg-type]
        return "match"
    return "maybe" if net.overlaps(source) else "no"


def acl_verdict(acl: t.Mapping[str, t.Any], egress: bool, ports: tuple[int, int], peer: t.Optional[str] = None) -> Verdict:
    """Are UDP `ports` (a span, both ends included) allowed in from `peer` (egress False) or out to it?

    The first rule by number that matches protocol, port and address decides each port. Returns
    {"verdict": "allow" | "deny" | "partial", "deciding": [entries that decided some port, in order],
    "denied": [(low, high) spans denied], "reason"}.
    """
    source = _source(peer) if peer else None
    version = source.version if source is not None else 4
    undecided = [ports]
    deciding: list[dict[str, t.Any]] = []
    denied: list[tuple[int, int]] = []
    uncertain: set[str] = set()
    for entry in acl_entries(acl):
        if entry["egress"] != egress or entry["protocol"] not in ("all", UDP):
            continue
        relation = _entry_relation(entry, source, version)
        if relation != "match":
            if relation == "maybe" and any(
                    max(low, entry["from_port"]) <= min(high, entry["to_port"]) for low, high in undecided):
                uncertain.add(entry["action"])  # it may or may not hold the initiator
                deciding.append(entry)
            continue
        rest = []
        took = False
        for low, high in undecided:
            start, end = max(low, entry["from_port"]), min(high, entry["to_port"])
            if start > end:
                rest.append((low, high))
                continue
            took = True
            if entry["action"] == "deny":
                denied.append((start, end))
            if low < start:
                rest.append((low, start - 1))
            if end < high:
                rest.append((end + 1, high))
        if took:
            deciding.append(entry)
        undecided = rest
        if not undecided:
            break
    verdict = "allow" if not denied else ("deny" if sum(h - l + 1 for l, h in denied) == ports[1] - ports[0] + 1 else "partial")
    if (verdict == "allow" and "deny" in uncertain) or (verdict != "allow" and "allow" in uncertain):
        verdict = "unknown"
    span = str(ports[0]) if ports[0] == ports[1] else "%s-%s" % ports
    reason = "network ACL %s %s udp %s %s %s: %s" % (
        acl_id(acl), {"allow": "allows", "deny": "denies", "partial": "denies part of"}.get(verdict, "may or may not allow"),
        span, "to" if egress else "from", peer or "any address", "; ".join(entry_text(e) for e in deciding))
    return {"layer": "network_acl", "acl_id": acl_id(acl), "egress": egress, "ports": list(ports),
            "verdict": verdict, "deciding": deciding, "denied": denied, "reason": reason}


def acl_rule_to_add(acl: t.Mapping[str, t.Any], egress: bool, ports: tuple[int, int], cidr: str) -> str:
    """The exact entry a person adds by hand (ACLs are never changed automatically): a free rule number
    below the first entry that denies, UDP, the ports, the CIDR, allow."""
    entries = [e for e in acl_entries(acl) if e["egress"] == egress]
    blocking = [e["rule_number"] for e in entries if e["action"] == "deny" and e["protocol"] in ("all", UDP)
                and e["from_port"] <= ports[1] and ports[0] <= e["to_port"]]
    ceiling = min(blocking) if blocking else DEFAULT_DENY
    used = set(e["rule_number"] for e in entries)
    number = next((n for n in range(ceiling - 1, 0, -1) if n not in used and n % 10 == 0), None)
    if number is None:
        number = next((n for n in range(ceiling - 1, 0, -1) if n not in used), 1)
    span = str(ports[0]) if ports[0] == ports[1] else "%s-%s" % ports
    direction = "outbound" if egress else "inbound"
    return ("network ACL %s: add %s rule %d: allow udp %s %s %s (aws ec2 create-network-acl-entry --network-acl-id %s "
            "--%s --rule-number %d --protocol udp --port-range From=%d,To=%d --%s %s --rule-action allow)" % (
                acl_id(acl), direction, number, span, "to" if egress else "from", cidr, acl_id(acl),
                "egress" if egress else "ingress", number, ports[0], ports[1],
                "ipv6-cidr-block" if ":" in cidr else "cidr-block", cidr))


# ---- both layers ----------------------------------------------------------------------------

def inbound_verdict(groups: t.Iterable[t.Mapping[str, t.Any]], acl: t.Optional[t.Mapping[str, t.Any]], port: int,
                    source: t.Optional[str] = None, source_port: t.Optional[int] = None,
                    source_groups: t.Iterable[str] = (),
                    prefix_lists: t.Optional[t.Mapping[str, t.Iterable[str]]] = None) -> Verdict:
    """UDP `port` from `source` through the instance's groups and its subnet's ACL, and the reply back out to
    `source_port` (the initiator's ListenPort; None: any ephemeral port).

    {"verdict": "allow" | "deny" | "unknown", "decided_by": "security_group" | "network_acl_inbound" |
    "network_acl_outbound" | None, "security_group", "acl_inbound", "acl_outbound", "reason"}.
    The ACL is checked first when it denies: traffic it drops never reaches a group.
    """
    group = security_group_verdict(list(groups), port, source, source_groups, prefix_lists)
    result: Verdict = {"port": port, "source": source, "security_group": group, "acl_inbound": None,
                       "acl_outbound": None}
    layers = []
    if acl is not None:
        reply_ports = (source_port, source_port) if source_port else EPHEMERAL_PORTS
        result["acl_inbound"] = acl_verdict(acl, False, (port, port), source)
        result["acl_outbound"] = acl_verdict(acl, True, reply_ports, source)
        layers += [("network_acl_inbound", result["acl_inbound"]), ("network_acl_outbound", result["acl_outbound"])]
    layers.append(("security_group", group))
    for layer, verdict in layers:
        if verdict["verdict"] in ("deny", "partial"):
            result.update(verdict="deny", decided_by=layer, reason=verdict["reason"])
            return result
    for layer, verdict in layers:
        if verdict["verdict"] == "unknown":
            result.update(verdict="unknown", decided_by=None, reason=verdict["reason"])
            return result
    result.update(verdict="allow", decided_by="security_group", reason=group["reason"])
    return result


def narrowest_cidrs(sources: t.Iterable[t.Any]) -> list[str]:
    """The host prefixes of the initiators' public addresses (/32, /128) and the CIDRs given for initiators
    nobody knows, sorted, without duplicates."""
    cidrs = set()
    for source in sources:
        net = _source(source)
        if net is not None:
            cidrs.add(str(net))
    return sorted(cidrs, key=lambda c: (":" in c, c))


# ---- facts: which ends run on EC2, and what the info modules said about them ---------------

def _text_list(value: t.Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value if v not in (None, "")]
    return [str(value)]


def cloud_ends(end_hosts: t.Iterable[str], hostvars: t.Mapping[str, t.Any], facts_by_host: t.Mapping[str, t.Any],
               default_provider: t.Any = None) -> list[dict[str, t.Any]]:
    """The answered ends that opted in (`wg_cloud: aws`, or the host's `wg_cloud_provider: aws`), each
    {"host", "provider", "region", "instance_id", "filters" (how ec2_instance_info finds it without an id),
    "allowed_cidrs" (wg_cloud_allowed_cidrs: the sources a remedy may open to when no initiator is known)}."""
    ends = []
    for host in end_hosts:
        if host not in facts_by_host:
            continue  # not reached: nothing to pair the instance with
        variables = hostvars.get(host) or {}
        provider = str(variables.get("wg_cloud_provider") or default_provider or "").lower()
        if provider != "aws":
            continue
        instance_id = variables.get("wg_aws_instance_id") or None
        addresses = []
        for candidate in [variables.get("ansible_host")] + [
                a.get("address") for a in (facts_by_host.get(host) or {}).get("addresses") or [] if isinstance(a, dict)]:
            address = _address(candidate) if candidate else None
            if address is not None and str(address) not in addresses and not address.is_loopback \
                    and not address.is_link_local:
                addresses.append(str(address))
        public = [a for a in addresses if not any(
            ipaddress.ip_address(a) in net for net in PRIVATE_RANGES if net.version == ipaddress.ip_address(a).version)]
        filters: dict[str, t.Any] = {}
        if not instance_id:
            filters = {"ip-address": public} if public else {"private-ip-address": addresses}
        ends.append({"host": host, "provider": "aws", "region": variables.get("wg_aws_region") or None,
                     "instance_id": instance_id, "filters": filters,
                     "allowed_cidrs": _text_list(variables.get("wg_cloud_allowed_cidrs"))})
    return ends


def _failure(result: t.Mapping[str, t.Any], what: str) -> t.Optional[str]:
    if result.get("failed") or result.get("unreachable"):
        # The modules' messages name the API error; they carry no credential.
        return "aws: reading %s failed: %s" % (what, str(result.get("msg") or "no message")[:300])
    return None


def cloud_instances(ends: t.Iterable[t.Mapping[str, t.Any]], results: t.Iterable[t.Mapping[str, t.Any]]) -> list[dict[str, t.Any]]:
    """Each end with the instance ec2_instance_info found for it ({"id", "subnet_id", "vpc_id", "group_ids",
    "public_ip", "private_ip"}), or an `error` when none or several were found."""
    by_host = dict((str((r.get("item") or {}).get("host")), r) for r in results)
    found = []
    for end in ends:
        end = dict(end, instance=None, error=None)
        result = by_host.get(end["host"]) or {"failed": True, "msg": "ec2_instance_info did not run"}
        error = _failure(result, "the EC2 instance")
        instances = [i for i in result.get("instances") or []
                     if (field(i.get("state") or {}, "Name") or "running") != "terminated"]
        if error is None and len(instances) != 1:
            how = end["instance_id"] or ", ".join("%s=%s" % (k, ",".join(v)) for k, v in end["filters"].items())
            error = "aws: %s EC2 instance matches %s%s" % (
                "no" if not instances else "more than one", how,
                "" if end["instance_id"] else "; set wg_aws_instance_id for %s" % end["host"])
        if error is None:
            instance = instances[0]
            end["instance"] = {
                "id": field(instance, "InstanceId"), "subnet_id": field(instance, "SubnetId"),
                "vpc_id": field(instance, "VpcId"), "public_ip": field(instance, "PublicIpAddress"),
                "private_ip": field(instance, "PrivateIpAddress"),
                "group_ids": [field(g, "GroupId") for g in field(instance, "SecurityGroups") or []]}
        end["error"] = error
        found.append(end)
    return found


def prefix_list_ids(groups: t.Iterable[t.Mapping[str, t.Any]]) -> list[str]:
    """The prefix lists the groups' inbound rules name, each once."""
    ids: list[str] = []
    for group in groups:
        for rule in group_rules(group):
            if rule["source_type"] == "prefix_list" and rule["source"] not in ids:
                ids.append(rule["source"])
    return ids


def cloud_facts(found: t.Iterable[t.Mapping[str, t.Any]], group_results: t.Iterable[t.Mapping[str, t.Any]],
                acl_results: t.Iterable[t.Mapping[str, t.Any]],
                prefix_lists_by_host: t.Optional[t.Mapping[str, t.Any]] = None) -> dict[str, CloudFacts]:
    """host -> the `cloud` facts the diagnosis reads: {"provider", "region", "instance_id", "instance",
    "security_groups" (ec2_security_group_info's), "network_acl" (ec2_vpc_nacl_info's, or None),
    "prefix_lists" (id -> CIDRs, from prefix_lists_by_host; a list not read decides nothing), "allowed_cidrs", "error"}."""
    groups_by_host = dict((str(((r.get("item") or {}).get("host"))), r) for r in group_results if not r.get("skipped"))
    acls_by_host = dict((str(((r.get("item") or {}).get("host"))), r) for r in acl_results if not r.get("skipped"))
    facts = {}
    for end in found:
        instance = end.get("instance") or {}
        cloud: CloudFacts = {"provider": "aws", "region": end.get("region"), "instance_id": instance.get("id"),
                             "instance": t.cast(t.Optional[CloudInstance], instance or None),
                             "security_groups": None, "network_acl": None,
                             "prefix_lists": dict((prefix_lists_by_host or {}).get(end["host"]) or {}),
                             "allowed_cidrs": list(end.get("allowed_cidrs") or []),
                             "error": end.get("error")}
        if cloud["error"] is None:
            groups = groups_by_host.get(end["host"]) or {"failed": True, "msg": "ec2_security_group_info did not run"}
            acls = acls_by_host.get(end["host"]) or {"failed": True, "msg": "ec2_vpc_nacl_info did not run"}
            cloud["error"] = _failure(groups, "the security groups") or _failure(acls, "the network ACL")
            if cloud["error"] is None:
                wanted = set(instance.get("group_ids") or [])
                read = [g for g in groups.get("security_groups") or [] if field(g, "GroupId") in wanted]
                cloud["security_groups"] = read
                missing = wanted - set(field(g, "GroupId") for g in read)
                nacls = acls.get("nacls") or []
                if missing:
                    cloud["error"] = "aws: security groups %s of %s were not returned" % (", ".join(sorted(missing)), instance.get("id"))
                elif len(nacls) != 1:
                    cloud["error"] = "aws: %d network ACLs are associated with subnet %s" % (len(nacls), instance.get("subnet_id"))
                else:
                    cloud["network_acl"] = nacls[0]
        facts[str(end["host"])] = cloud
    return facts


def with_cloud(facts_by_host: t.Mapping[str, t.Any], cloud_by_host: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """The facts by host with each cloud end's `cloud` facts; a cloud read that failed is one more entry
    of the host's `errors`, so the report says incomplete instead of vouching for a firewall nobody read."""
    merged = dict(facts_by_host)
    for host, cloud in (cloud_by_host or {}).items():
        if host not in merged or not isinstance(merged[host], dict):
            continue
        facts = dict(merged[host], cloud=cloud)
        if cloud.get("error"):
            facts["errors"] = list(facts.get("errors") or []) + ["the cloud firewall (%s)" % cloud["error"]]
        merged[host] = facts
    return merged
