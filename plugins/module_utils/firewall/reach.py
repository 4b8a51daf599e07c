# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Does UDP to port P on interface I reach the socket? Every backend's answer, combined.

Runs the readers of each firewall the host has (nftables, iptables legacy and nft, ufw,
firewalld) over the output of the commands in ``commands.FIREWALL_COMMANDS`` and returns the
``firewall`` facts: which backend decides, its verdict per listen port, forwarding and
masquerade. The readers share their primitives (packets, verdicts, chain walking) with
this module through ``primitives``; nothing here imports back into a reader.
"""
from __future__ import annotations

import typing as t

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall.verdict import (
    FirewallVerdict, ForwardSummary, InterfaceFirewall, MasqueradeEntry,
)
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall import firewalld as fw_firewalld
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall import iptables as fw_iptables
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall import nftables as fw_nftables
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall import ufw as fw_ufw
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall.primitives import (
    combine_verdicts, make_verdict, unknown_verdict,
)


# --- the facts: every backend's answer, combined ------------------------------------------------------------

BACKEND_ORDER = ("ufw", "firewalld", "nftables", "iptables-nft", "iptables-legacy")
# The readers' backend names onto the firewall role's firewall_backend choices (one home for the remedies'
# proof and the role's own pick): iptables-nft and iptables-legacy are both changed with the iptables command the host has.
ROLE_BACKEND = {"ufw": "ufw", "firewalld": "firewalld", "nftables": "nftables",
                "iptables-nft": "iptables", "iptables-legacy": "iptables"}
# The netfilter hooks the firewall role changes: input for the listen port, forward with firewall_forward.
ROLE_HOOKS = ("input", "forward")

# What ran: {FIREWALL_COMMANDS key: (rc, stdout, stderr)}; a key is absent when its command is not installed.
Outputs = t.Mapping[str, t.Any]
# The two questions every backend answers: (port, arrival interface, family, conntrack state: "new" for an
# initiation, "established" for a reply to what the host sent from the port) and (in, out, conntrack state).
InputQuestion = t.Callable[[int, t.Optional[str], int, str], FirewallVerdict]
ForwardQuestion = t.Callable[[t.Optional[str], t.Optional[str], str, t.Optional[str]], FirewallVerdict]


def _output(outputs: Outputs, key: str, errors: list[str]) -> str | None:
    """stdout of a command that ran, or None (absent or failed, failures noted)."""
    result = outputs.get(key)
    if result is None:
        return None
    try:
        rc, stdout, stderr = result
    except (TypeError, ValueError):
        errors.append("%s: unreadable command result" % key)
        return ""
    if rc != 0:
        first = (stderr or stdout or "").strip().splitlines()
        errors.append("%s: command failed (rc=%s): %s" % (key, rc, first[0][:200] if first else "no output"))
        return ""
    return stdout or ""


class _Backend(object):
    """One active backend: how to ask it the input and forward questions."""

    def __init__(self, name: str, input_fn: InputQuestion, forward_fn: ForwardQuestion, policy: str | None = None,
                 masquerade: t.Iterable[MasqueradeEntry] = (), filters: t.Optional[t.Mapping[str, t.List[str]]] = None) -> None:
        self.name = name
        self.input = input_fn
        self.forward = forward_fn
        self.policy = policy
        self.masquerade = list(masquerade)
        # Hook (ROLE_HOOKS) -> the chains of this backend that filter it; None: it filters every path (ufw,
        # firewalld, or rules that could not be read, which may filter anything).
        self.filters = None if filters is None else dict(filters)


def _unknown_backend(name: str, reason: str) -> _Backend:
    return _Backend(name, lambda port, iface, family, ct: unknown_verdict(name, reason),
                    lambda win, wout, ct, src: unknown_verdict(name, reason))


def _read_iptables(outputs: Outputs, errors: list[str], variant: str) -> dict[int, fw_iptables.Save]:
    """{family: parsed} for iptables-<variant>, falling back to plain iptables-save whose header names the variant."""
    found: dict[int, fw_iptables.Save] = {}
    for family, prefix in ((4, "iptables"), (6, "ip6tables")):
        key = "%s_%s" % (prefix, variant)
        text = _output(outputs, key, errors) if outputs.get(key) is not None else None
        if text is None and outputs.get(prefix) is not None:
            text = _output(outputs, prefix, errors)
            if text and ("(nf_tables)" in text) != (variant == "nft"):
                text = None
        result = outputs.get(key) if outputs.get(key) is not None else outputs.get(prefix)
        if text is None or (text == "" and not _succeeded(result)):
            # Absent or failed: the other family's rules say nothing about this one (unknown, not open).
            why = "command failed" if text == "" else "no output (not installed?)"
            parsed = fw_iptables.missing_output(family, "%s-%s-save: %s" % (prefix, variant, why))
        else:
            parsed = fw_iptables.parse_save(text, family=family)
        parsed["source"] = key
        found[family] = parsed
    if all(p.get("missing") for p in found.values()):
        return {}
    return found


def _succeeded(result: t.Any) -> bool:
    try:
        return result[0] == 0
    except (TypeError, IndexError, KeyError):
        return False


def _iptables_backend(name: str, by_family: dict[int, fw_iptables.Save], errors: list[str]) -> _Backend:
    broken = ["%s: %s" % (p["source"], e) for p in by_family.values() for e in p["errors"]]
    if broken:
        errors.extend(broken)
        return _unknown_backend(name, "; ".join(broken)[:300])
    empty: fw_iptables.Save = {"family": 4, "tables": {}}

    def verdict_in(port: int, iface: str | None, family: int = 4, ct: str = "new") -> FirewallVerdict:
        return fw_iptables.udp_input_verdict(by_family.get(family, empty), port, iface, backend=name, ct_state=ct)

    def verdict_fwd(win: str | None, wout: str | None, ct: str, src: str | None) -> FirewallVerdict:
        return fw_iptables.forward_verdict(by_family.get(4, empty), win, wout, ct_state=ct, backend=name, source=src)
    masq = fw_iptables.masquerade_rules(by_family[4], backend=name) if 4 in by_family else []
    return _Backend(name, verdict_in, verdict_fwd, fw_iptables.forward_policy(by_family.get(4, empty)), masq,
                    _iptables_filters(by_family))


def _iptables_filters(by_family: dict[int, fw_iptables.Save]) -> dict[str, list[str]]:
    """The filter table's INPUT and FORWARD where they hold a rule or a policy other than ACCEPT."""
    filters: dict[str, list[str]] = {}
    for parsed in by_family.values():
        table = parsed["tables"].get("filter") or {"chains": {}, "policies": {}}
        for hook in ROLE_HOOKS:
            chain = hook.upper()
            rules = table["chains"].get(chain) or []
            policy = (table["policies"].get(chain) or {}).get("policy", "accept")
            if rules or policy != "accept":
                filters.setdefault(hook, []).append("%s: filter %s, %d rule(s), policy %s"
                                                    % (parsed["source"], chain, len(rules), policy.upper()))
    return filters


def _nft_backend(outputs: Outputs, errors: list[str], skip_from: dict[str, t.Any]) -> _Backend | None:
    """The nftables backend proper, leaving out tables other backends own; None when nftables is absent or holds no table of its own."""
    text = _output(outputs, "nft", errors)
    if text is None:
        return None
    if text == "":
        return _unknown_backend("nftables", "nft listing unavailable") if errors and errors[-1].startswith("nft:") else None
    try:
        parsed = fw_nftables.parse_ruleset(text)
    except fw_nftables.NftParseError as exc:
        errors.append("nft: %s" % exc)
        return _unknown_backend("nftables", str(exc))
    errors.extend("nft: %s" % e for e in parsed["errors"])
    skip = set(fw_nftables.iptables_nft_tables(parsed, skip_from.get("iptables_tables")))
    if skip_from.get("firewalld"):
        skip.update(k for k, t in parsed["tables"].items() if t["name"] == "firewalld")
    if not fw_nftables.is_active(parsed, skip):
        return None

    def verdict_in(port: int, iface: str | None, family: int = 4, ct: str = "new") -> FirewallVerdict:
        return fw_nftables.udp_input_verdict(parsed, port, iface, family=family, skip_tables=skip, ct_state=ct)

    def verdict_fwd(win: str | None, wout: str | None, ct: str, src: str | None) -> FirewallVerdict:
        return fw_nftables.forward_verdict(parsed, win, wout, ct_state=ct, skip_tables=skip, source=src)
    filters: dict[str, list[str]] = {}
    for key, table in sorted(parsed["tables"].items()):
        for name, base in table["base"].items() if key not in skip else ():
            if base["type"] == "filter" and base["hook"] in ROLE_HOOKS:
                filters.setdefault(base["hook"], []).append("nft: table %s chain %s, hook %s, policy %s"
                                                            % (key, name, base["hook"], base.get("policy") or "accept"))
    return _Backend("nftables", verdict_in, verdict_fwd, fw_nftables.forward_policy(parsed, skip),
                    fw_nftables.masquerade_rules(parsed, skip_tables=skip), filters)


def _ufw_backend(outputs: Outputs, errors: list[str], carrier: _Backend | None) -> _Backend | None:
    """ufw decides through the iptables rules it generated (carrier); its status names the rule."""
    text = _output(outputs, "ufw", errors)
    if not text:
        return None
    status = fw_ufw.parse_status(text)
    errors.extend("ufw: %s" % e for e in status["errors"])
    if not status["active"]:
        return None

    def verdict_in(port: int, iface: str | None, family: int = 4, ct: str = "new") -> FirewallVerdict:
        named = fw_ufw.udp_input_verdict(status, port, iface, family=family) if ct == "new" else fw_ufw.udp_reply_verdict(status)
        if carrier is None:
            return named
        truth = carrier.input(port, iface, family, ct)
        return _name_by_ufw(truth, named)

    def verdict_fwd(win: str | None, wout: str | None, ct: str, src: str | None) -> FirewallVerdict:
        if carrier is None:
            return fw_ufw.policy_verdict(status, "routed")
        truth = carrier.forward(win, wout, ct, src)
        named = fw_ufw.policy_verdict(status, "routed")
        rows = fw_ufw.forward_rules(status, win) + fw_ufw.forward_rules(status, wout)
        if rows and truth["verdict"] == "accept":
            named = make_verdict("accept", "ufw", rule=rows[0]["text"])
        return _name_by_ufw(truth, named)
    policy = fw_ufw.POLICIES.get(status["default"].get("routed"))
    return _Backend("ufw", verdict_in, verdict_fwd, policy or "accept", carrier.masquerade if carrier else [])


def _name_by_ufw(truth: FirewallVerdict, named: FirewallVerdict) -> FirewallVerdict:
    """The iptables verdict, told with the ufw row a person can change."""
    verdict = truth.copy()
    verdict["backend"] = "ufw"
    verdict["evidence"] = list(truth["evidence"])
    if truth.get("rule"):
        verdict["evidence"].append("iptables: %s/%s rule %s '%s'" % (truth["table"], truth["chain"], truth["position"], truth["rule"]))
    if named["verdict"] == truth["verdict"]:
        verdict["rule"] = named["rule"]
        verdict["evidence"].extend(named["evidence"])
    else:
        verdict["evidence"].append("ufw status alone suggests %s (%s): the generated iptables rules decide"
                                   % (named["verdict"], named["rule"] or "; ".join(named["evidence"])))
    verdict["conditional"] = list(truth["conditional"]) + [c for c in named["conditional"] if c not in truth["conditional"]]
    return verdict


def _firewalld_backend(outputs: Outputs, errors: list[str]) -> _Backend | None:
    state = outputs.get("firewalld_state")
    if state is None or not isinstance(state, (list, tuple)) or len(state) != 3:
        return None
    if not fw_firewalld.parse_state(state[0], state[1] or ""):
        return None
    zones_text = _output(outputs, "firewalld_zones", errors)
    if not zones_text:
        return _unknown_backend("firewalld", "firewalld runs but its zones could not be listed")
    default_zone = fw_firewalld.parse_default_zone(_output(outputs, "firewalld_default_zone", errors))
    zones = fw_firewalld.parse_zones(zones_text, default_zone=default_zone)
    errors.extend("firewalld: %s" % e for e in zones["errors"])
    if not zones["zones"]:
        return _unknown_backend("firewalld", "firewalld zones unreadable")
    active = fw_firewalld.parse_active_zones(_output(outputs, "firewalld_active_zones", errors) or "")
    policies = _firewalld_policies(outputs, errors)

    def verdict_in(port: int, iface: str | None, family: int = 4, ct: str = "new") -> FirewallVerdict:
        if ct == "new":
            return fw_firewalld.udp_input_verdict(zones, port, iface, active, family=family, policies=policies)
        return fw_firewalld.udp_reply_verdict(port, iface, family)
    return _Backend("firewalld", verdict_in,
                    lambda win, wout, ct, src: fw_firewalld.forward_verdict(zones, win, wout, active, ct_state=ct, source=src,
                                                                            policies=policies),
                    None, fw_firewalld.masquerade_rules(zones, active, policies=policies))


def _firewalld_policies(outputs: Outputs, errors: list[str]) -> fw_firewalld.Zones | None:
    """parse_policies() of --list-all-policies, or None when it was not read. firewalld before 0.9 has no policies and
    refuses the option: no error then, the verdicts say the policies were not read."""
    result = outputs.get("firewalld_policies")
    if not isinstance(result, (list, tuple)) or len(result) != 3 or result[0] != 0:
        return None
    policies = fw_firewalld.parse_policies(result[1] or "")
    errors.extend("firewalld policies: %s" % e for e in policies["errors"])
    return policies if policies["zones"] or not policies["errors"] else None


def _collect_backends(outputs: Outputs, errors: list[str]) -> list[_Backend]:
    legacy = _read_iptables(outputs, errors, "legacy")
    nft_variant = _read_iptables(outputs, errors, "nft")
    backends: dict[str, _Backend] = {}
    for name, by_family in (("iptables-legacy", legacy), ("iptables-nft", nft_variant)):
        if by_family and any(_iptables_is_active(p) or p["errors"] for p in by_family.values()):
            backends[name] = _iptables_backend(name, by_family, errors)
    ufw_carrier = None
    for name, by_family in (("iptables-nft", nft_variant), ("iptables-legacy", legacy)):
        if name in backends and any(_has_ufw(p) for p in by_family.values()):
            ufw_carrier = backends[name]
            break
    ufw = _ufw_backend(outputs, errors, ufw_carrier)
    if ufw is not None:
        backends["ufw"] = ufw
        if ufw_carrier is not None:
            backends = {k: v for k, v in backends.items() if v is not ufw_carrier}
    firewalld = _firewalld_backend(outputs, errors)
    if firewalld is not None:
        backends["firewalld"] = firewalld
    tables = None
    if nft_variant:
        tables = sorted({name for p in nft_variant.values() for name in p["tables"]})
    nft = _nft_backend(outputs, errors, {"iptables_tables": tables, "firewalld": firewalld is not None})
    if nft is not None:
        backends["nftables"] = nft
    return [backends[name] for name in BACKEND_ORDER if name in backends]


def active_backends(outputs: Outputs | None, forward: bool = False) -> dict[str, t.Any]:
    """The active backends (the facts' `backends`, BACKEND_ORDER) and the one the firewall role changes.

    The role's pick is the first of them, in BACKEND_ORDER as the diagnosis ranks them, that filters what the
    role opens: the input hook, and the forward hook too with `forward`. ufw and firewalld filter both; nftables
    counts its own filter base chains only (not iptables-nft's tables, nor firewalld's); iptables counts the filter
    table's INPUT/FORWARD with a rule or a policy other than ACCEPT. A backend active elsewhere only (Docker's nat
    and FORWARD chains, a table hooked on forward alone) is listed in `backends`, not picked: the role's accept
    there would open nothing. None of them: `none`. Raises nothing on what a host prints; a reader bug raises.
    """
    errors: list[str] = []
    backends = _collect_backends(outputs or {}, errors)
    hooks = ROLE_HOOKS if forward else ROLE_HOOKS[:1]
    filtering = [b for b in backends if b.filters is None or any(hook in b.filters for hook in hooks)]
    evidence: list[str] = []
    for backend in backends:
        if backend.filters is None:
            evidence.append("%s: active, filters every path" % backend.name)
            continue
        lines = [line for hook in hooks for line in backend.filters.get(hook, [])]
        evidence.extend(lines or ["%s: active, but nothing of it filters the %s hook" % (backend.name, " or ".join(hooks))])
    chosen = filtering[0].name if filtering else None
    return {
        "backends": [b.name for b in backends],
        "filtering": [b.name for b in filtering],
        "backend": ROLE_BACKEND.get(chosen, "none") if chosen else "none",
        "evidence": evidence,
        "errors": errors,
    }


def _iptables_is_active(parsed: fw_iptables.Save) -> bool:
    return fw_iptables.is_active(parsed)


def _has_ufw(parsed: fw_iptables.Save) -> bool:
    return fw_iptables.has_chain_prefix(parsed, "ufw-")


def _no_firewall(what: str) -> FirewallVerdict:
    return make_verdict("accept", None, evidence=["no active firewall backend: nothing filters %s" % what])


def _input_for(backends: list[_Backend], port: int, uplinks: t.Sequence[str], family: int = 4, ct_state: str = "new") -> FirewallVerdict:
    """Combined verdict on the first uplink; other uplinks that disagree are noted. ct_state "established": the
    replies to what the host sends from port (the handshake responses an initiator waits for)."""
    if not backends:
        return _no_firewall("incoming UDP" if ct_state == "new" else "replies to outgoing UDP")
    candidates: list[str | None] = list(uplinks) or [None]
    verdicts = [combine_verdicts([b.input(port, iface, family, ct_state) for b in backends]) for iface in candidates]
    first = verdicts[0].copy()
    first["in_interface"] = candidates[0]
    for iface, other in zip(candidates[1:], verdicts[1:]):
        if other["verdict"] != first["verdict"]:
            first["conditional"] = first["conditional"] + ["arriving on %s instead: %s (%s)" % (iface, other["verdict"], other["rule"])]
    return first


def _forward_for(backends: list[_Backend], wg_interface: str, uplink: str | None, source: str | None = None) -> FirewallVerdict:
    """Traffic leaving the tunnel (NEW, from `source`, an address of the tunnel's subnet) and replies coming back
    into it (ESTABLISHED)."""
    if not backends:
        return _no_firewall("forwarded traffic")
    leaving = combine_verdicts([b.forward(wg_interface, uplink, "new", source) for b in backends])
    replies = combine_verdicts([b.forward(uplink, wg_interface, "established", None) for b in backends])
    entering = combine_verdicts([b.forward(uplink, wg_interface, "new", None) for b in backends])
    deciding_replies = leaving["verdict"] == "accept" and replies["verdict"] != "accept"
    verdict = (replies if deciding_replies else leaving).copy()
    verdict["direction"] = "replies to %s" % wg_interface if deciding_replies else "from %s" % wg_interface
    verdict["from_tunnel"] = leaving["verdict"]
    verdict["replies_to_tunnel"] = replies["verdict"]
    verdict["new_to_tunnel"] = entering["verdict"]
    return verdict


def firewall_facts(outputs: Outputs | None, listen_ports: t.Mapping[str, int | None] | None,
                   wg_interfaces: t.Iterable[str] | None, uplinks: t.Sequence[str] | None,
                   tunnel_sources: t.Mapping[str, str] | None = None) -> dict[str, t.Any]:
    """The `firewall` object of docs/facts.md plus per-interface verdicts; never raises on bad output.

    tunnel_sources: interface -> one of its own tunnel addresses, the source forwarded traffic is judged from."""
    errors: list[str] = []
    try:
        backends = _collect_backends(outputs or {}, errors)
    except Exception as exc:  # pylint: disable=broad-except
        # A reader bug must not cost the whole fact gathering: say so and stay unknown.
        errors.append("firewall: internal error while reading rules: %s: %s" % (type(exc).__name__, exc))
        backends = [_unknown_backend("unknown", "firewall rules could not be read")]
    interfaces: dict[str, InterfaceFirewall] = {}
    for name in wg_interfaces or []:
        uplink = uplinks[0] if uplinks else None
        port = (listen_ports or {}).get(name)
        try:
            interfaces[name] = {
                "input": _input_for(backends, port, uplinks or []) if port else None,
                "input_ipv6": _input_for(backends, port, uplinks or [], family=6) if port else None,
                # What an initiator waits for: the handshake response, a reply to what it sent from the port.
                "input_reply": _input_for(backends, port, uplinks or [], ct_state="established") if port else None,
                "input_reply_ipv6": _input_for(backends, port, uplinks or [], family=6, ct_state="established") if port else None,
                "forward": _forward_for(backends, name, uplink, (tunnel_sources or {}).get(name)),
            }
        except Exception as exc:  # pylint: disable=broad-except
            errors.append("firewall: internal error evaluating %s: %s: %s" % (name, type(exc).__name__, exc))
            interfaces[name] = {"input": unknown_verdict(None, "evaluation failed"), "input_ipv6": None,
                                "input_reply": None, "input_reply_ipv6": None,
                                "forward": unknown_verdict(None, "evaluation failed")}
    return {
        "backends": [b.name for b in backends],
        "forward": _forward_summary(backends, interfaces),
        "masquerade": [m for b in backends for m in b.masquerade],
        "interfaces": interfaces,
        "errors": errors,
    }


def _forward_summary(backends: list[_Backend], interfaces: dict[str, InterfaceFirewall]) -> ForwardSummary:
    with_policy = [b for b in backends if b.policy]
    if not with_policy:
        return {"policy": "accept" if not backends else None, "backend": None, "rule": None}
    strict = next((b for b in with_policy if b.policy != "accept"), with_policy[0])
    rule = None
    for verdicts in interfaces.values():
        forward = verdicts.get("forward") or {}
        if forward.get("backend") == strict.name and forward.get("rule"):
            rule = forward["rule"]
            break
    return {"policy": strict.policy, "backend": strict.name, "rule": rule}
