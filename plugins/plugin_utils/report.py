# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The diagnosis report as JSON, Markdown and a terminal summary, and the CI threshold check."""
from __future__ import annotations

import base64
import binascii
import json
import re
import textwrap
import typing as t

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.contracts import Finding, Remedy, Report, Unchecked

SEVERITIES = ("critical", "error", "warning", "info")
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


def _after(report: t.Mapping[str, t.Any]) -> t.Optional[t.Mapping[str, t.Any]]:
    after = report.get("after")
    return after if isinstance(after, dict) else None


def _findings(report: t.Mapping[str, t.Any]) -> list[Finding]:
    """The findings that remain: after remediation the verification's, else the diagnosis'."""
    after = _after(report)
    if after is not None and after.get("findings") is not None:
        return after["findings"]
    return report.get("findings") or []


def _unchecked(report: t.Mapping[str, t.Any]) -> list[Unchecked]:
    """What the last pass could not check: after remediation the verification's, else the diagnosis'."""
    after = _after(report)
    if after is not None and after.get("unchecked") is not None:
        return after["unchecked"]
    return report.get("unchecked") or []


def count_at_or_above(report: Report, severity: str) -> int:
    """How many remaining findings are `severity` or worse (wg_fail_on)."""
    if severity not in SEVERITIES:
        raise ValueError("unknown severity %r, expected one of %s" % (severity, ", ".join(SEVERITIES)))
    limit = SEVERITIES.index(severity)
    return sum(1 for f in _findings(report) if f.get("severity") in SEVERITIES[:limit + 1])


def _counts(findings: list[Finding]) -> str:
    counts = [(s, sum(1 for f in findings if f.get("severity") == s)) for s in SEVERITIES]
    return ", ".join("%d %s" % (n, s) for s, n in counts if n) or "no findings"


def _verdict(report: t.Mapping[str, t.Any]) -> str:
    """HEALTHY or NOT HEALTHY with the counts; INCOMPLETE when something could not be checked
    (never healthy then, also when read from an older report that said so)."""
    after = _after(report)
    last = after if after is not None and "healthy" in after else report
    unchecked = _unchecked(report)
    if last.get("incomplete") or unchecked:
        return "NOT HEALTHY, INCOMPLETE: %s, %d %s not checked" % (
            _counts(_findings(report)), len(unchecked), "thing" if len(unchecked) == 1 else "things")
    return "%s: %s" % ("HEALTHY" if last.get("healthy") else "NOT HEALTHY", _counts(_findings(report)))


def _unchecked_text(item: t.Mapping[str, t.Any]) -> str:
    return str(item.get("what")) if item.get("host") is None else "%s: %s" % (item.get("host"), item.get("what"))


def _remedy_text(remedy: Remedy) -> str:
    variables = " ".join("%s=%s" % (k, _short(v)) for k, v in sorted((remedy.get("vars") or {}).items()))
    return "%s: %s %s" % (remedy.get("host"), remedy.get("role"), variables)


def _remedies(findings: list[Finding]) -> tuple[list[str], list[str]]:
    seen: set[str] = set()
    lines: list[str] = []
    manual: list[str] = []
    for finding in findings:
        remedy = finding.get("remedy")
        if not remedy:
            if finding.get("code") not in ("handshake_never", "handshake_stale", "tunnel_ping_fails"):
                manual.append("%s on %s" % (finding.get("code"), finding.get("host")))
            continue
        text = _remedy_text(remedy)
        if text not in seen:
            seen.add(text)
            lines.append(text)
    return lines, manual


def render_json(report: Report) -> str:
    return json.dumps(report, indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def render_console(report: Report, width: int = 100) -> str:
    """Severity, code, host and summary per finding, then the remedies; fits `width` columns."""
    findings = _findings(report)
    lines = ["WireGuard diagnosis %s - %s" % (report.get("generated"), _verdict(report)),
             "%d tunnel(s), %d peer(s) outside the inventory" % (
                 len(report.get("tunnels") or []), len(report.get("outside_peers") or []))]
    if findings:
        lines.append("")
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
    remedies, manual = _remedies(findings)
    if remedies:
        lines += ["", "Remedies (applied with -e wg_remediate=true):"]
        for text in remedies:
            lines += textwrap.wrap(text, width=width, initial_indent="  ", subsequent_indent="      ")
    if manual:
        lines += ["", "Needs a person: " + "; ".join(manual)]
    for item in _unchecked(report):
        lines.append("Not checked%s: %s" % ("" if item.get("host") is None else " on %s" % item["host"], item.get("what")))
    for failure in _failed_remedies(report):
        lines += textwrap.wrap("Remedy FAILED on %s: %s" % (failure.get("host"), _failure_text(failure)), width=width,
                               subsequent_indent="    ")
    return "\n".join(lines) + "\n"


def _failed_remedies(report: t.Mapping[str, t.Any]) -> list[t.Mapping[str, t.Any]]:
    after = _after(report)
    return list((after or {}).get("failed_remedies") or [])


def _failure_text(failure: t.Mapping[str, t.Any]) -> str:
    return "%s, task '%s': %s" % (failure.get("role"), failure.get("task"), failure.get("error"))


def _cell(value: t.Any) -> str:
    return str(value if value is not None else "-").replace("|", "\\|").replace("\n", " ")


def _md_tunnels(report: Report) -> list[str]:
    tunnels = report.get("tunnels") or []
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


def _md_finding(number: int, finding: Finding) -> list[str]:
    lines = ["### %d. `%s` (%s) on %s" % (number, finding.get("code"), finding.get("severity"), finding.get("host")), "",
             finding.get("summary") or "", ""]
    where = [("interface", finding.get("interface")), ("peer", _short(finding.get("peer")))]
    lines.append(" · ".join("%s: `%s`" % (k, v) for k, v in where if v))
    if finding.get("follows_from") is not None:
        lines.append("Follows from: %s" % (", ".join("`%s`" % c for c in finding["follows_from"]) or "no cause found"))
    lines += ["", "Evidence:", ""] + ["- `%s`" % e.replace("`", "'") for e in finding.get("evidence") or []]
    remedy = finding.get("remedy")
    if remedy:
        fix = "`%s`" % _remedy_text(remedy)
    elif finding.get("follows_from"):
        fix = "fix what it follows from (above)"
    else:
        fix = "by hand (see docs/findings.md)"
    lines += ["", "Fix: " + fix, ""]
    return lines


def render_markdown(report: Report) -> str:
    findings = _findings(report)
    lines = ["# WireGuard diagnosis", "", "Generated %s. **%s**" % (report.get("generated"), _verdict(report)), "",
             "## Tunnels", ""] + _md_tunnels(report) + [""]
    outside = report.get("outside_peers") or []
    if outside:
        lines += ["%d peer(s) belong to no inventory host (not an error):" % len(outside), ""]
        lines += ["- %s/%s peer `%s` endpoint %s" % (o.get("host"), o.get("interface"), _short(o.get("public_key")),
                                                     o.get("endpoint") or "none") for o in outside[:MARKDOWN_OUTSIDE]]
        if len(outside) > MARKDOWN_OUTSIDE:
            lines.append("- ... and %d more (report.json)" % (len(outside) - MARKDOWN_OUTSIDE))
        lines.append("")
    unchecked = _unchecked(report)
    if unchecked:
        lines += ["## Not checked", "", "The diagnosis is incomplete: nothing below was looked at, so the report cannot say healthy.", ""]
        lines += ["- %s" % _unchecked_text(u) for u in unchecked] + [""]
    failures = _failed_remedies(report)
    if failures:
        lines += ["## Remedies that failed", "", "The verification below diagnosed these hosts again from fresh facts.", ""]
        lines += ["- %s: %s" % (_cell(f.get("host")), _failure_text(f).replace("`", "'")) for f in failures] + [""]
    lines += ["## Findings", ""]
    if not findings:
        lines += ["None: the handshake completes and traffic flows.", ""]
    for number, finding in enumerate(findings, 1):
        lines += _md_finding(number, finding)
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
