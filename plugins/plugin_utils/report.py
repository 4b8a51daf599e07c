# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The diagnosis report as JSON, Markdown and a terminal summary, and the CI threshold check.

report.json (schema 2, docs/findings.md, plugins/plugin_utils/report_schema.json) tells one story:
`before` (what the diagnosis found), `remediation` (what ran), `after` (what the verification found),
and at the top `healthy` / `status` / `incomplete` about *now*: after remediation when it ran.
Every reader here takes a schema 2 report; a bare diagnosis pass (what wg_diagnose returns) or a
schema 1 report.json is read as one through `as_report`."""
from __future__ import annotations

import base64
import binascii
import json
import re
import textwrap
import typing as t

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.contracts import Finding, Report, Unchecked
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.session import is_fresh

SCHEMA = 2
SEVERITIES = ("critical", "error", "warning", "info")
SYMPTOMS = ("handshake_never", "handshake_stale", "tunnel_ping_fails")
# The keys of a pass section (before / after): what wg_diagnose returns plus the playbook's records.
SECTION_KEYS = ("generated", "healthy", "incomplete", "unchecked", "findings", "tunnels", "outside_peers", "probes", "pings",
                "mtu")
# Remedy variables are no secrets by design (a PSK is copied by host name, never by value); a name that
# says otherwise is redacted all the same.
_SECRET_NAME = re.compile(r"private|preshared_key$|psk$|secret|password|token", re.IGNORECASE)
REDACTED = "(redacted)"
# Anything shaped like a WireGuard key (base64 of 32 bytes) in a failed task's message is hidden: the roles put
# no_log on the tasks that handle keys, this is the second line of defence.
_KEY_SHAPED = re.compile(r"[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=")
MAX_ERROR = 500


def redact_error(message: t.Any) -> str:
    """A failed task's message as the report shows it: key-shaped text redacted, cut to MAX_ERROR."""
    return _KEY_SHAPED.sub(REDACTED, str(message or "no message"))[:MAX_ERROR]


CONSOLE_FINDINGS = 40
MARKDOWN_OUTSIDE = 50
_KEY = re.compile(r"^[A-Za-z0-9+/]{43}=$")


class SecretLeakError(ValueError):
    """Rendered text contains a private or preshared key. The message never shows the key."""


def _short(value: t.Any) -> t.Any:
    """Public keys shortened for people; everything else as is."""
    if isinstance(value, str) and _KEY.match(value):
        return value[:8] + "…"
    if isinstance(value, list):
        return "[%s]" % ", ".join(str(_short(v)) for v in value)
    return value


def section(pass_report: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """One pass (before or after) in the report's shape: the diagnosis' verdict, findings, tunnels
    (each with `handshake_fresh`), what was not checked, and the probes and pings it measured."""
    unchecked = list(pass_report.get("unchecked") or [])
    tunnels = []
    for tunnel in pass_report.get("tunnels") or []:
        tunnel = dict(tunnel)
        tunnel["handshake_fresh"] = is_fresh(tunnel.get("latest_handshake_age"))
        tunnels.append(tunnel)
    return {
        "generated": pass_report.get("generated"),
        "healthy": bool(pass_report.get("healthy")) and not unchecked and not pass_report.get("incomplete"),
        "incomplete": bool(unchecked) or bool(pass_report.get("incomplete")),
        "unchecked": unchecked,
        "findings": list(pass_report.get("findings") or []),
        "tunnels": tunnels,
        "outside_peers": list(pass_report.get("outside_peers") or []),
        "probes": list(pass_report.get("probes") or []),
        "pings": list(pass_report.get("pings") or []),
        "mtu": list(pass_report.get("mtu") or []),
    }


def redact_vars(variables: t.Optional[t.Mapping[str, t.Any]]) -> dict[str, t.Any]:
    """A remedy's variables as the report shows them: any whose name says secret is redacted."""
    return dict((str(name), REDACTED if _SECRET_NAME.search(str(name)) and value not in (None, "") else value)
                for name, value in sorted((variables or {}).items()))


def _status(now: t.Mapping[str, t.Any]) -> str:
    """healthy; unhealthy when a critical or error finding remains (known broken, whatever else was
    not checked); incomplete when nothing known is broken but something was not checked."""
    if any(f.get("severity") in ("critical", "error") for f in now.get("findings") or []):
        return "unhealthy"
    if now.get("incomplete"):
        return "incomplete"
    return "healthy" if now.get("healthy") else "unhealthy"


def needs_a_person(findings: t.Sequence[t.Mapping[str, t.Any]]) -> list[Finding]:
    """The findings no role of the collection fixes and a person has to: no remedy, not a symptom (it follows
    from a cause listed on its own), not advice (info), and not following from another finding (fixing that one
    fixes it)."""
    return [t.cast(Finding, finding) for finding in findings
            if not finding.get("remedy") and finding.get("code") not in SYMPTOMS and finding.get("severity") != "info"
            and not finding.get("follows_from")]


WHY_NEEDS_A_PERSON = "needs_a_person"
NOT_APPLIED_INTRO = "Remedies this run did not apply (with -e wg_apply_report only what its own diagnosis confirms runs), and why:"
NEEDS_A_PERSON_INTRO = "No role of the collection fixes these: to do by hand."
NEEDS_A_PERSON = "needs a person: no role of the collection fixes it (what to do by hand: docs/findings.md, %s)"


def _not_applied(item: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    def text(name: str) -> t.Optional[str]:
        return None if item.get(name) is None else str(item.get(name))
    return {"host": text("host"), "code": str(item.get("code")), "interface": text("interface"), "peer": text("peer"),
            "role": text("role"), "why": str(item.get("why")), "reason": str(item.get("reason") or "")}


def not_applied(before_findings: t.Sequence[t.Mapping[str, t.Any]],
                unconfirmed: t.Optional[t.Sequence[t.Mapping[str, t.Any]]] = None) -> list[dict[str, t.Any]]:
    """What remediation left undone, with why: the saved remedies this run did not confirm (wg_confirm_remedies'
    not_applied, with -e wg_apply_report), then the findings of `before` that need a person."""
    items = [_not_applied(item) for item in unconfirmed or []]
    seen: set[tuple[t.Any, ...]] = set()
    for finding in needs_a_person(before_findings):
        identity = (finding.get("code"), finding.get("host"), finding.get("interface"), finding.get("peer"))
        if identity in seen:
            continue
        seen.add(identity)
        items.append(_not_applied(dict(finding, role=None, why=WHY_NEEDS_A_PERSON,
                                       reason=NEEDS_A_PERSON % finding.get("code"))))
    return items


def not_applied_text(item: t.Mapping[str, t.Any], code_quote: str = "") -> str:
    """'interface_down on spoke1 (wgspoke) peer KEY [wgdoctor.wireguard.service]: the diagnosis of this run does not find it'."""
    where = str(item.get("host"))
    if item.get("interface"):
        where += " (%s)" % item["interface"]
    if item.get("peer"):
        where += " peer %s%s%s" % (code_quote, item["peer"], code_quote)
    role = " [%s]" % item["role"] if item.get("role") else ""
    return "%s%s%s on %s%s: %s" % (code_quote, item.get("code"), code_quote, where, role, item.get("reason"))


def assemble(before: t.Mapping[str, t.Any], remediation: t.Optional[t.Sequence[t.Mapping[str, t.Any]]] = None,
             after: t.Optional[t.Mapping[str, t.Any]] = None, check_mode: bool = False,
             unconfirmed: t.Optional[t.Sequence[t.Mapping[str, t.Any]]] = None) -> Report:
    """report.json: the diagnosis pass `before`, the remedies that ran (None: remediation was not
    asked for), the verification pass `after` (None: it did not run, e.g. under --check), and the saved
    remedies this run did not confirm (`unconfirmed`, with -e wg_apply_report)."""
    report: dict[str, t.Any] = {"schema": SCHEMA, "generated": None, "status": "", "healthy": False, "incomplete": False,
                                "now": "before", "before": section(before)}
    if remediation is not None:
        report["remediation"] = {"check_mode": bool(check_mode), "remedies": [_remedy_run(r) for r in remediation],
                                 "not_applied": not_applied(report["before"]["findings"], unconfirmed)}
    if after is not None:
        report["after"] = section(after)
        report["now"] = "after"
    now = report[report["now"]]
    report.update(generated=now["generated"], status=_status(now), healthy=_status(now) == "healthy",
                  incomplete=now["incomplete"])
    return t.cast(Report, report)


def _remedy_run(run: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    changed = run.get("changed")
    return {"host": str(run.get("host")), "role": str(run.get("role")), "vars": redact_vars(run.get("vars")),
            "changed": changed if isinstance(changed, bool) else None, "failed": bool(run.get("failed")),
            "task": run.get("task") or None, "error": redact_error(run.get("error")) if run.get("failed") else None}


def as_report(report: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """`report` as schema 2: as it is when it is one, else a diagnosis pass (wg_diagnose's return
    value) or a schema 1 report.json, whose `after` and `after.failed_remedies` are carried over."""
    if isinstance(report.get("before"), t.Mapping):
        return dict(report)
    old_after = report.get("after") if isinstance(report.get("after"), t.Mapping) else None
    remediation = None
    after = None
    if old_after is not None:
        after = dict((k, v) for k, v in old_after.items() if k in SECTION_KEYS)
        after.setdefault("generated", report.get("generated"))
        remediation = [dict(f, failed=True, changed=None) for f in old_after.get("failed_remedies") or []]
    return dict(assemble(report, remediation, after))


def _now(report: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    full = as_report(report)
    return full[full["now"]]


def _findings(report: t.Mapping[str, t.Any]) -> list[Finding]:
    """The findings that remain: after remediation the verification's, else the diagnosis'."""
    return _now(report)["findings"]


def _unchecked(report: t.Mapping[str, t.Any]) -> list[Unchecked]:
    """What the last pass could not check: after remediation the verification's, else the diagnosis'."""
    return _now(report)["unchecked"]


def count_at_or_above(report: t.Mapping[str, t.Any], severity: str) -> int:
    """How many remaining findings are `severity` or worse (wg_fail_on)."""
    if severity not in SEVERITIES:
        raise ValueError("unknown severity %r, expected one of %s" % (severity, ", ".join(SEVERITIES)))
    limit = SEVERITIES.index(severity)
    return sum(1 for f in _findings(report) if f.get("severity") in SEVERITIES[:limit + 1])


def _counts(findings: list[Finding]) -> str:
    counts = [(s, sum(1 for f in findings if f.get("severity") == s)) for s in SEVERITIES]
    return ", ".join("%d %s" % (n, s) for s, n in counts if n) or "no findings"


def verdict(part: t.Mapping[str, t.Any]) -> str:
    """HEALTHY or NOT HEALTHY with the counts of one section; INCOMPLETE when something could not be
    checked (never healthy then)."""
    findings = part.get("findings") or []
    unchecked = part.get("unchecked") or []
    if part.get("incomplete") or unchecked:
        return "NOT HEALTHY, INCOMPLETE: %s, %d %s not checked" % (
            _counts(findings), len(unchecked), "thing" if len(unchecked) == 1 else "things")
    return "%s: %s" % ("HEALTHY" if part.get("healthy") else "NOT HEALTHY", _counts(findings))


def _unchecked_text(item: t.Mapping[str, t.Any]) -> str:
    return str(item.get("what")) if item.get("host") is None else "%s: %s" % (item.get("host"), item.get("what"))


def remedy_text(remedy: t.Mapping[str, t.Any]) -> str:
    """host: role var=value ...; public keys whole, so that a person can copy them."""
    variables = " ".join("%s=%s" % (k, "[%s]" % ", ".join(map(str, v)) if isinstance(v, list) else v)
                         for k, v in sorted((remedy.get("vars") or {}).items()) if v not in (None, "", []))
    return ("%s: %s %s" % (remedy.get("host"), remedy.get("role"), variables)).rstrip()


def _remedies(findings: list[Finding]) -> tuple[list[str], list[str]]:
    seen: set[str] = set()
    lines: list[str] = []
    for finding in findings:
        remedy = finding.get("remedy")
        if not remedy:
            continue
        text = remedy_text(remedy)
        if text not in seen:
            seen.add(text)
            lines.append(text)
    manual = ["%s on %s" % (finding.get("code"), finding.get("host")) for finding in needs_a_person(findings)]
    return lines, list(dict.fromkeys(manual))


def run_result(run: t.Mapping[str, t.Any], check_mode: bool = False) -> str:
    """What one remedy did: changed, unchanged, FAILED (task: error), or not known."""
    if run.get("failed"):
        return "FAILED in task '%s': %s" % (run.get("task") or "?", run.get("error") or "no message")
    if run.get("changed") is None:
        return "ran (whether it changed anything was not recorded)"
    if check_mode:
        return "would change" if run["changed"] else "would change nothing"
    return "changed" if run["changed"] else "unchanged (already as wanted)"


# A firewall counter comes with the facts, which are gathered before the probe is sent: next to what the
# capture saw during the probe it reads as a contradiction unless said.
_COUNTER = re.compile(r"\(counter (\d+) packets?\)")
COUNTER_NOTE = "counter read when the facts were gathered, before the probe was sent: the probe's packets are not in it"


def explain_evidence(line: str, part: t.Mapping[str, t.Any]) -> str:
    """An evidence line with what a reader needs to trust it (when a counter was read)."""
    if _COUNTER.search(line) and part.get("probes"):
        return "%s [%s]" % (line, COUNTER_NOTE)
    return line


def render_json(report: Report) -> str:
    return json.dumps(report, indent=2, sort_keys=False, ensure_ascii=False) + "\n"


CONSOLE_MONITORS = 10


def _monitor_sides(part: t.Mapping[str, t.Any]) -> list[tuple[dict[str, t.Any], str, dict[str, t.Any]]]:
    """(end, the other end's host, what wgdoctor.wireguard.monitor on the end said of it) for every tunnel side,
    when the monitor is installed on any end of the pass: else monitor_missing has said all there is."""
    found = []
    for tunnel in part.get("tunnels") or []:
        a, b = tunnel.get("a") or {}, tunnel.get("b") or {}
        for end, other in ((a, b), (b, a)):
            if isinstance(end.get("monitor"), dict):
                found.append((end, str(other.get("host")), end["monitor"]))
    return found if any(monitor.get("installed") for _end, _other, monitor in found) else []


def monitor_text(monitor: t.Mapping[str, t.Any], other: str) -> str:
    """'server DOWN, 2 failed checks in a row, last check 40 s before the facts': the monitor's last word on one peer."""
    if not monitor.get("installed"):
        return "not installed"
    if not monitor.get("scheduler"):
        return "installed, but neither a systemd timer nor cron runs it"
    state = monitor.get("state")
    if state is None:
        text = "%s not checked yet" % other
    else:
        text = "%s %s" % (other, "up" if state == "up" else str(state).upper())
        failures = monitor.get("failures")
        if state != "up" and isinstance(failures, int):
            text += ", %d failed check%s in a row" % (failures, "" if failures == 1 else "s")
        if monitor.get("last_check_age") is not None:
            text += ", last check %s s before the facts" % monitor["last_check_age"]
    if monitor.get("error"):
        text += " (%s)" % monitor["error"]
    return text


def _console_monitors(part: t.Mapping[str, t.Any]) -> list[str]:
    sides = _monitor_sides(part)
    lines = ["Monitor on %s/%s: %s" % (end.get("host"), end.get("interface"), monitor_text(monitor, other))
             for end, other, monitor in sides[:CONSOLE_MONITORS]]
    if len(sides) > CONSOLE_MONITORS:
        lines.append("... and %d more ends in report.md / report.json" % (len(sides) - CONSOLE_MONITORS))
    return lines


def _console_findings(findings: list[Finding], width: int) -> list[str]:
    lines: list[str] = []
    code_width = min(max([len(f.get("code", "")) for f in findings] + [4]), 32)
    host_width = min(max([len(str(f.get("host"))) for f in findings] + [4]), 20)
    indent = 9 + code_width + 1 + host_width + 1
    for finding in findings[:CONSOLE_FINDINGS]:
        head = "%-8s %-*s %-*s " % (finding.get("severity", "").upper(), code_width, finding.get("code"),
                                    host_width, finding.get("host"))
        summary = finding.get("summary") or ""
        if width - indent < 30:
            # Too narrow for columns: the summary goes under its heading instead.
            lines.append(head.rstrip())
            lines += textwrap.wrap(summary, width=width, initial_indent="    ", subsequent_indent="    ")
            continue
        wrapped = textwrap.wrap(summary, width=width - indent) or [""]
        lines.append(head + wrapped[0])
        lines += [" " * indent + rest for rest in wrapped[1:]]
    if len(findings) > CONSOLE_FINDINGS:
        lines.append("... and %d more findings in report.md / report.json" % (len(findings) - CONSOLE_FINDINGS))
    return lines


def _console_part(part: t.Mapping[str, t.Any], width: int, remedies_heading: t.Optional[str]) -> list[str]:
    lines: list[str] = []
    findings = part["findings"]
    if findings:
        lines.append("")
    lines += _console_findings(findings, width)
    remedies, manual = _remedies(findings)
    if remedies and remedies_heading:
        lines += ["", remedies_heading]
        for text in remedies:
            lines += textwrap.wrap(text, width=width, initial_indent="  ", subsequent_indent="      ",
                                   break_long_words=False)
    if manual:
        lines += ["", "Needs a person: " + "; ".join(manual)]
    for item in part["unchecked"]:
        lines.append("Not checked%s: %s" % ("" if item.get("host") is None else " on %s" % item["host"], item.get("what")))
    return lines


def _tunnel_up_sentence(after: t.Mapping[str, t.Any]) -> str:
    pings = after.get("pings") or []
    answered = sum(1 for p in pings if p.get("ok"))
    if after.get("healthy") and pings and answered == len(pings):
        return "THE TUNNEL IS UP: handshake fresh, %d/%d pings through it answered." % (answered, len(pings))
    return "THE TUNNEL IS STILL NOT UP: see the remaining findings below."


def render_console(report: t.Mapping[str, t.Any], width: int = 100) -> str:
    """Severity, code, host and summary per finding, then the remedies; fits `width` columns. After
    remediation: what was wrong, what was done, what it is now."""
    full = as_report(report)
    before = full["before"]
    now = full[full["now"]]
    lines = ["WireGuard diagnosis %s - %s" % (full.get("generated"), verdict(now)),
             "%d tunnel(s), %d peer(s) outside the inventory" % (len(now["tunnels"]), len(now["outside_peers"]))]
    lines += _console_monitors(now)
    remediation = full.get("remediation")
    if remediation is None:
        return "\n".join(lines + _console_part(before, width, "Remedies (applied with -e wg_remediate=true):")) + "\n"
    lines += ["", "BEFORE remediation: %s" % verdict(before)] + _console_part(before, width, None)
    check_mode = bool(remediation.get("check_mode"))
    runs = remediation.get("remedies") or []
    lines += ["", "REMEDIATION%s: %d remed%s" % (
        " (check mode, nothing changed)" if check_mode else "", len(runs), "y" if len(runs) == 1 else "ies")]
    for run in runs:
        lines += textwrap.wrap("%s -> %s" % (remedy_text(run), run_result(run, check_mode)), width=width,
                               initial_indent="  ", subsequent_indent="      ", break_long_words=False)
    # Those that need a person are on the "Needs a person" line above already.
    for item in remediation.get("not_applied") or []:
        if item.get("why") != WHY_NEEDS_A_PERSON:
            lines += textwrap.wrap("Not applied: " + not_applied_text(item), width=width, subsequent_indent="      ",
                                   break_long_words=False)
    after = full.get("after")
    if after is not None:
        lines += ["", "AFTER remediation: %s" % verdict(after), _tunnel_up_sentence(after)]
        lines += _console_part(after, width, "Remedies still named:")
    return "\n".join(lines) + "\n"


def _cell(value: t.Any) -> str:
    return str(value if value is not None else "-").replace("|", "\\|").replace("\n", " ")


def _md_tunnels(part: t.Mapping[str, t.Any]) -> list[str]:
    tunnels = part.get("tunnels") or []
    if not tunnels:
        return ["No tunnel between inventory hosts was found."]
    lines = ["| end A | end B | paired by | initiators | responder | last handshake |", "|---|---|---|---|---|---|"]
    for tunnel in tunnels:
        a, b = tunnel.get("a") or {}, tunnel.get("b") or {}
        age = tunnel.get("latest_handshake_age")
        lines.append("| %s | %s | %s | %s | %s | %s |" % (
            _cell("%s/%s (%s)" % (a.get("host"), a.get("interface"), _short(a.get("public_key")))),
            _cell("%s/%s (%s)" % (b.get("host"), b.get("interface"), _short(b.get("public_key")))),
            _cell(tunnel.get("matched_by")), _cell(", ".join(tunnel.get("initiators") or []) or "nobody"),
            _cell(tunnel.get("responder")), _cell("never" if age is None else "%s s ago" % age)))
    return lines


def _md_monitors(part: t.Mapping[str, t.Any]) -> list[str]:
    sides = _monitor_sides(part)
    if not sides:
        return []
    lines = ["What wgdoctor.wireguard.monitor on each end last saw of the other:", "",
             "| end | watching | state | failed checks in a row | last check |", "|---|---|---|---|---|"]
    for end, other, monitor in sides:
        if not monitor.get("installed") or not monitor.get("scheduler") or monitor.get("state") is None or monitor.get("error"):
            state: t.Any = monitor_text(monitor, other).replace(other + " ", "", 1) if monitor.get("installed") else "not installed"
            failures = age = None
        else:
            state, failures = monitor.get("state"), monitor.get("failures")
            age = None if monitor.get("last_check_age") is None else "%s s ago" % monitor["last_check_age"]
        cells = (end.get("host"), end.get("interface"), other, state, failures, age)
        lines.append("| %s/%s | %s | %s | %s | %s |" % tuple(_cell(cell) for cell in cells))
    return lines + [""]


def _md_finding(number: int, finding: Finding, part: t.Mapping[str, t.Any], level: str) -> list[str]:
    lines = ["%s %d. `%s` (%s) on %s" % (level, number, finding.get("code"), finding.get("severity"), finding.get("host")), "",
             finding.get("summary") or "", ""]
    where = [("interface", finding.get("interface")), ("peer", finding.get("peer"))]
    lines.append(" · ".join("%s: `%s`" % (k, v) for k, v in where if v))
    if finding.get("follows_from") is not None:
        lines.append("Follows from: %s" % (", ".join("`%s`" % c for c in finding["follows_from"]) or "no cause found"))
    lines += ["", "Evidence:", ""] + ["- `%s`" % explain_evidence(e, part).replace("`", "'") for e in finding.get("evidence") or []]
    remedy = finding.get("remedy")
    if remedy:
        fix = "`%s`" % remedy_text(remedy)
    elif finding.get("follows_from"):
        fix = "fix what it follows from (above)"
    else:
        fix = "by hand (see docs/findings.md)"
    lines += ["", "Fix: " + fix, ""]
    return lines


def _md_part(part: t.Mapping[str, t.Any], level: str, none_text: str) -> list[str]:
    lines = ["%s Tunnels" % level, ""] + _md_tunnels(part) + [""] + _md_monitors(part)
    outside = part.get("outside_peers") or []
    if outside:
        lines += ["%d peer(s) belong to no inventory host (not an error):" % len(outside), ""]
        lines += ["- %s/%s peer `%s` endpoint %s" % (o.get("host"), o.get("interface"), o.get("public_key"),
                                                     o.get("endpoint") or "none") for o in outside[:MARKDOWN_OUTSIDE]]
        if len(outside) > MARKDOWN_OUTSIDE:
            lines.append("- ... and %d more (report.json)" % (len(outside) - MARKDOWN_OUTSIDE))
        lines.append("")
    unchecked = part.get("unchecked") or []
    if unchecked:
        lines += ["%s Not checked" % level, "",
                  "The diagnosis is incomplete: nothing below was looked at, so the report cannot say healthy.", ""]
        lines += ["- %s" % _unchecked_text(u) for u in unchecked] + [""]
    lines += ["%s Findings" % level, ""]
    if not part["findings"]:
        lines += [none_text, ""]
    for number, finding in enumerate(part["findings"], 1):
        lines += _md_finding(number, finding, part, level + "#")
    return lines


def split_not_applied(items: t.Sequence[t.Mapping[str, t.Any]], code_quote: str = "") -> tuple[list[str], list[str]]:
    """The texts of what was not applied for a reason of this run, and of what needs a person."""
    not_confirmed = [not_applied_text(i, code_quote) for i in items if i.get("why") != WHY_NEEDS_A_PERSON]
    by_hand = [not_applied_text(i, code_quote) for i in items if i.get("why") == WHY_NEEDS_A_PERSON]
    return not_confirmed, by_hand


def _md_not_applied(items: t.Sequence[t.Mapping[str, t.Any]], level: str) -> list[str]:
    not_confirmed, by_hand = split_not_applied(items, "`")
    lines: list[str] = []
    if not_confirmed:
        lines += ["%s Not applied" % level, "", NOT_APPLIED_INTRO, ""]
        lines += ["- %s" % text for text in not_confirmed] + [""]
    if by_hand:
        lines += ["%s Needs a person" % level, "", NEEDS_A_PERSON_INTRO, ""]
        lines += ["- %s" % text for text in by_hand] + [""]
    return lines


def _md_remediation(remediation: t.Mapping[str, t.Any]) -> list[str]:
    runs = remediation.get("remedies") or []
    check_mode = bool(remediation.get("check_mode"))
    lines = ["## 2. What was done%s" % (" (check mode: shown, nothing changed)" if check_mode else ""), ""]
    if not runs:
        return lines + ["No finding named a remedy the collection applies.", ""] + _md_not_applied(remediation.get("not_applied") or [], "###")
    lines += ["| host | role | variables | result |", "|---|---|---|---|"]
    for run in runs:
        variables = "<br>".join("`%s=%s`" % (k, v) for k, v in sorted((run.get("vars") or {}).items()) if v not in (None, "", []))
        lines.append("| %s | %s | %s | %s |" % (
            _cell(run.get("host")), _cell(run.get("role")), _cell(variables), _cell(run_result(run, check_mode).replace("`", "'"))))
    return lines + [""] + _md_not_applied(remediation.get("not_applied") or [], "###")


def render_markdown(report: t.Mapping[str, t.Any]) -> str:
    """Without remediation: the tunnels and the findings. With it, in that order: what was wrong,
    what was done, what it is now."""
    full = as_report(report)
    now = full[full["now"]]
    lines = ["# WireGuard diagnosis", "", "Generated %s. **%s**" % (full.get("generated"), verdict(now)), ""]
    remediation = full.get("remediation")
    if remediation is None:
        lines += _md_part(full["before"], "##", "None: the handshake completes and traffic flows.")
        lines += _md_not_applied(not_applied(full["before"]["findings"]), "##")
        return "\n".join(lines).rstrip("\n") + "\n"
    lines += ["## 1. What was wrong (before remediation): %s" % verdict(full["before"]), ""]
    lines += _md_part(full["before"], "###", "None.")
    lines += _md_remediation(remediation)
    after = full.get("after")
    if after is None:
        lines += ["## 3. What it is now", "", "Not verified: remediation ran in check mode, so the state above is still the state now.", ""]
    else:
        lines += ["## 3. What it is now (after remediation): %s" % verdict(after), "", _tunnel_up_sentence(after), ""]
        lines += _md_part(after, "###", "None: the handshake completes and traffic flows.")
    return "\n".join(lines).rstrip("\n") + "\n"


def _forms(secret: str) -> list[str]:
    forms = [secret, secret.rstrip("=")]
    try:
        raw = base64.b64decode(secret, validate=True)
    except (binascii.Error, ValueError):
        return forms
    forms += [binascii.hexlify(raw).decode("ascii"), base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")]
    return forms


def assert_no_secrets(text: str, secrets: t.Optional[t.Sequence[str]]) -> None:
    """Raise SecretLeakError when `text` contains any of `secrets` (private or preshared keys),
    whole, without padding, hex- or urlsafe-encoded, or as the 8-character prefix we print for
    public keys. The error names the secret's position in the list, never the secret."""
    secrets = list(secrets or [])
    for number, secret in enumerate(secrets, 1):
        if not secret:
            continue
        forms = _forms(secret)
        if len(secret) >= 8:
            forms.append(secret[:8] + "…")
        for form in forms:
            if form and form in text:
                raise SecretLeakError("text contains secret #%d of %d" % (number, len(secrets)))
