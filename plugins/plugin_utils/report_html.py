# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""report.html: per tunnel, the path a handshake takes, each hop passed, blocked or unknown from the
evidence, where the probe died, and the finding and fix beside it; and report.xml (JUnit) for CI.

The page is self-contained (inline CSS, inline SVG, a few lines of inline script for the filter):
it opens from a file on a machine without network access. Everything from the report is escaped.
"""
from __future__ import annotations

import html
import typing as t
from xml.sax.saxutils import escape as xml_escape, quoteattr

from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.report import (
    remedy_text, verdict, as_report, explain_evidence, run_result, split_not_applied, not_applied,
    NOT_APPLIED_INTRO, NEEDS_A_PERSON_INTRO,
)

PASSED, BLOCKED, WARNING, UNKNOWN = "passed", "blocked", "warning", "unknown"

# The hops of one handshake, initiator to responder and back, and the finding codes that stop it at each.
HOPS: tuple[tuple[str, str, frozenset[str]], ...] = (
    ("initiator", "Initiator sends the initiation",
     frozenset({"config_invalid", "endpoint_unresolvable", "start_endpoint_unresolvable", "missing_endpoint", "invalid_key",
                "wireguard_missing"})),
    ("initiator_firewall", "Initiator's firewall / NAT", frozenset({"nat_without_keepalive"})),
    ("network", "The network between",
     frozenset({"udp_blocked_upstream", "udp_blocked_cloud_firewall", "host_unreachable"})),
    ("responder_address", "Responder's address and NIC",
     frozenset({"stale_endpoint", "hostname_endpoint_not_reresolved", "dynamic_ip_bare_endpoint"})),
    ("responder_firewall", "Responder's firewall", frozenset({"udp_blocked_host_firewall"})),
    ("wireguard", "WireGuard on the responder",
     frozenset({"interface_down", "dns_without_resolvconf", "listen_port_in_use", "interface_start_failed",
                "port_not_listening", "listen_port_mismatch", "peer_public_key_mismatch", "peer_missing",
                "preshared_key_mismatch", "local_keypair_mismatch", "duplicate_public_key", "clock_skew"})),
    ("reply", "The reply path back, and traffic",
     frozenset({"allowed_ips_missing_peer_address", "allowed_ips_overlap", "no_route_for_allowed_ips", "ip_forward_disabled",
                "forward_chain_blocks", "nat_masquerade_missing", "tunnel_mtu_blackhole", "tunnel_ping_fails"})),
)
HOP_OF_CODE = dict((code, index) for index, (_key, _title, codes) in enumerate(HOPS) for code in codes)
# Advice about a working tunnel, not a place a handshake dies: drawn on no hop, and no symptom either.
OFF_PATH_CODES = frozenset({"monitor_missing"})
# What a probe that got this far proves passed: the index of the last hop it crossed.
_REACHED_NIC = 3
_REACHED_WIREGUARD = 5


class Hop(t.TypedDict):
    key: str
    title: str
    status: str
    detail: str
    findings: list[dict[str, t.Any]]


class TunnelPath(t.TypedDict):
    name: str
    status: str
    died_at: t.Optional[int]
    hops: list[Hop]
    findings: list[dict[str, t.Any]]
    symptoms: list[dict[str, t.Any]]


def _end(tunnel: t.Mapping[str, t.Any], host: t.Optional[str]) -> dict[str, t.Any]:
    a, b = dict(tunnel.get("a") or {}), dict(tunnel.get("b") or {})
    return b if b.get("host") == host else a


def tunnel_name(tunnel: t.Mapping[str, t.Any]) -> str:
    a, b = tunnel.get("a") or {}, tunnel.get("b") or {}
    return "%s/%s <-> %s/%s" % (a.get("host"), a.get("interface"), b.get("host"), b.get("interface"))


def _belongs(finding: t.Mapping[str, t.Any], tunnel: t.Mapping[str, t.Any]) -> bool:
    """A finding is about a tunnel when it names one of its ends (host, and interface when it has one)."""
    for side in (tunnel.get("a") or {}, tunnel.get("b") or {}):
        if finding.get("host") == side.get("host") and finding.get("interface") in (None, side.get("interface")):
            return True
    return False


def _probes_of(part: t.Mapping[str, t.Any], tunnel: t.Mapping[str, t.Any]) -> list[dict[str, t.Any]]:
    hosts = {(tunnel.get("a") or {}).get("host"), (tunnel.get("b") or {}).get("host")}
    return [p for p in part.get("probes") or [] if p.get("initiator") in hosts and p.get("responder") in hosts]


def _probe_text(probe: t.Mapping[str, t.Any]) -> str:
    target = probe.get("target") or {}
    arrived = probe.get("arrived")
    seen = "no capture" if arrived is None else "capture on %s saw %s initiation(s) arrive" % (probe.get("responder"), arrived)
    return "probe from %s to %s:%s: %s; %s" % (
        probe.get("vantage"), target.get("host"), target.get("port"), probe.get("outcome"), seen)


def tunnel_path(part: t.Mapping[str, t.Any], tunnel: t.Mapping[str, t.Any]) -> TunnelPath:
    """The hops of `tunnel`'s handshake with what the evidence of `part` (before or after) says of each."""
    initiator = (tunnel.get("initiators") or [None])[0]
    responder = tunnel.get("responder")
    findings = [f for f in part.get("findings") or [] if _belongs(f, tunnel)]
    causes = [f for f in findings if f.get("code") in HOP_OF_CODE]
    symptoms = [f for f in findings if f.get("code") not in HOP_OF_CODE and f.get("code") not in OFF_PATH_CODES]
    hops: list[Hop] = [{"key": key, "title": title, "status": UNKNOWN, "detail": "", "findings": []}
                       for key, title, _codes in HOPS]
    init_end, resp_end = _end(tunnel, initiator), _end(tunnel, responder)
    hops[0]["detail"] = "%s/%s" % (init_end.get("host"), init_end.get("interface"))
    probes = [p for p in _probes_of(part, tunnel) if p.get("vantage") != "controller"] or _probes_of(part, tunnel)
    targets = sorted(set("%s:%s" % ((p.get("target") or {}).get("host"), (p.get("target") or {}).get("port")) for p in probes))
    hops[3]["detail"] = " ".join(filter(None, [", ".join(targets), "(%s/%s)" % (resp_end.get("host"), resp_end.get("interface"))]))
    reached = -1
    for probe in probes:
        if probe.get("outcome") == "ok":
            reached = max(reached, len(HOPS) - 1)
        elif probe.get("arrived"):
            reached = max(reached, _REACHED_NIC)
        elif probe.get("outcome") in ("timeout", "refused"):
            reached = max(reached, 0)  # it left the initiator
    if probes:
        hops[0]["detail"] += "; " + "; ".join(_probe_text(p) for p in probes)
    fresh = tunnel.get("handshake_fresh")
    if fresh:
        reached = max(reached, _REACHED_WIREGUARD)
    for index in range(reached + 1):
        hops[index]["status"] = PASSED
    if fresh:
        hops[_REACHED_WIREGUARD]["detail"] = "handshake %s s ago" % tunnel.get("latest_handshake_age")
    pings = [p for p in part.get("pings") or [] if {p.get("from"), p.get("to")} <= {init_end.get("host"), resp_end.get("host")}]
    if pings:
        hops[-1]["detail"] = "; ".join("ping %s -> %s (%s): %s" % (
            p.get("from"), p.get("to"), p.get("address"), "answered" if p.get("ok") else "no answer") for p in pings)
        if all(p.get("ok") for p in pings):
            hops[-1]["status"] = PASSED
    for finding in causes:
        hop = hops[HOP_OF_CODE[finding["code"]]]
        hop["findings"].append(finding)
        if finding.get("severity") in ("critical", "error"):
            hop["status"] = BLOCKED
        elif hop["status"] != BLOCKED:
            hop["status"] = WARNING
    for hop in hops:
        if hop["findings"] and hop["findings"][0].get("evidence"):
            line = _telling_line(hop["key"], hop["findings"][0]["evidence"])
            hop["detail"] = "; ".join(filter(None, [hop["detail"], explain_evidence(line, part)]))
    hops[_REACHED_WIREGUARD]["detail"] = "; ".join(filter(None, [_wireguard_questions(findings, reached), hops[_REACHED_WIREGUARD]["detail"]]))
    died_at = next((index for index, hop in enumerate(hops) if hop["status"] == BLOCKED), None)
    if died_at is None and (symptoms and any(f.get("severity") in ("critical", "error") for f in symptoms)):
        # A symptom without a cause on the path: the probe died after the last hop known to be passed.
        died_at = min(reached + 1, len(HOPS) - 1)
        hops[died_at]["status"] = BLOCKED
    status = "broken" if died_at is not None else ("warning" if any(h["status"] == WARNING for h in hops) else "healthy")
    return {"name": tunnel_name(tunnel), "status": status, "died_at": died_at, "hops": hops, "findings": findings,
            "symptoms": symptoms}


# The evidence line that says most about a hop: the firewall's rule (backend, table/chain, rule) at the
# responder's firewall, what the capture saw in the network between, else the finding's first line.
_TELLING = {"responder_firewall": "verdict", "network": "saw"}


def _telling_line(hop: str, evidence: list[str]) -> str:
    word = _TELLING.get(hop)
    return next((line for line in reversed(evidence) if word and word in line), evidence[0])


def _wireguard_questions(findings: list[dict[str, t.Any]], reached: int) -> str:
    """Listening? key known? PSK? as far as the findings and the probe tell."""
    codes = {f.get("code") for f in findings}
    answered = reached >= _REACHED_WIREGUARD

    def answer(bad: set[str], yes: str, no: str) -> str:
        return no if codes & bad else (yes if answered else "unknown")
    return "listening: %s, key known: %s, PSK: %s" % (
        answer({"interface_down", "port_not_listening", "listen_port_mismatch"}, "yes", "no"),
        answer({"peer_public_key_mismatch", "peer_missing", "local_keypair_mismatch", "invalid_key"}, "yes", "no"),
        answer({"preshared_key_mismatch"}, "agrees", "differs"))


# ---- HTML --------------------------------------------------------------------------------------

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{padding:16px 24px;color:#fff}header.healthy{background:#1f7a3d}header.unhealthy{background:#b42318}
header.incomplete{background:#9a6700}header h1{margin:0 0 4px;font-size:20px}main{padding:16px 24px}
section.story{background:#fff;border:1px solid #d8dce3;border-radius:6px;padding:12px 16px;margin:0 0 16px}
h2{font-size:16px;margin:0 0 8px}table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #e4e7ec;vertical-align:top}
th{background:#eef0f4}code{font:12px ui-monospace,Menlo,Consolas,monospace;word-break:break-all}
.badge{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;font-weight:600;color:#fff}
.badge.broken,.badge.blocked{background:#b42318}.badge.warning{background:#9a6700}
.badge.healthy,.badge.passed{background:#1f7a3d}.badge.unknown{background:#667085}
.filters{margin:0 0 8px;display:flex;gap:8px;align-items:center}.filters input{flex:1;padding:4px 8px}
tr.tunnel{cursor:pointer}tr.tunnel:hover{background:#f0f4ff}tr.detail>td{background:#fafbfc;padding:12px}
ol.path{list-style:none;display:flex;flex-wrap:wrap;align-items:flex-start;gap:0;padding:0;margin:0 0 8px}
ol.path li{position:relative;flex:1 1 0;min-width:120px;margin:0 22px 12px 0;padding:8px;border-radius:6px;border:2px solid #98a2b3;background:#fff}
ol.path li::after{content:"";position:absolute;right:-20px;top:22px;border:8px solid transparent;border-left:12px solid #98a2b3}
ol.path li:last-child::after{display:none}
ol.path li.passed{border-color:#1f7a3d}ol.path li.blocked{border-color:#b42318;background:#fff1f0}
ol.path li.warning{border-color:#9a6700;background:#fffaeb}ol.path li.unknown{border-style:dashed}
ol.path li .hop-title{font-weight:600;font-size:12px;display:flex;gap:4px;align-items:center}
ol.path li .hop-detail{font-size:11px;color:#475467;margin-top:4px;word-break:break-word}
.died{display:block;margin-top:6px;font-size:11px;font-weight:700;color:#b42318}
.finding{border-left:4px solid #b42318;background:#fff;padding:6px 10px;margin:6px 0}
.finding.warning,.finding.info{border-left-color:#9a6700}.fix{font-weight:600}
ul.evidence{margin:4px 0;padding-left:18px;font-size:12px}
"""

_SCRIPT = """
function wgFilter(el){var box=el.closest('section'),q=box.querySelector('input.q').value.toLowerCase(),
s=box.querySelector('select.state').value;box.querySelectorAll('tr.tunnel').forEach(function(r){
var show=(!q||r.dataset.search.indexOf(q)>=0)&&(!s||r.dataset.status===s);r.hidden=!show;
var d=document.getElementById(r.dataset.detail);if(d){d.hidden=!show||!r.classList.contains('open');}});}
function wgToggle(r){r.classList.toggle('open');document.getElementById(r.dataset.detail).hidden=!r.classList.contains('open');}
(function(){var m=location.hash.match(/[#&]q=([^&]*)/);if(!m){return;}
document.querySelectorAll('input.q').forEach(function(i){i.value=decodeURIComponent(m[1]);wgFilter(i);});})();
"""

# Status marks drawn inline (no image, no font): a check, a cross, a question mark, an exclamation.
_ICON = {
    PASSED: '<svg width="14" height="14" viewBox="0 0 14 14" aria-hidden="true"><circle cx="7" cy="7" r="7" fill="#1f7a3d"/>'
            '<path d="M3.5 7.2l2.3 2.3 4.7-4.8" stroke="#fff" stroke-width="1.8" fill="none"/></svg>',
    BLOCKED: '<svg width="14" height="14" viewBox="0 0 14 14" aria-hidden="true"><circle cx="7" cy="7" r="7" fill="#b42318"/>'
             '<path d="M4.3 4.3l5.4 5.4M9.7 4.3l-5.4 5.4" stroke="#fff" stroke-width="1.8"/></svg>',
    WARNING: '<svg width="14" height="14" viewBox="0 0 14 14" aria-hidden="true"><circle cx="7" cy="7" r="7" fill="#9a6700"/>'
             '<path d="M7 3.2v4.8M7 9.6v1.2" stroke="#fff" stroke-width="1.8"/></svg>',
    UNKNOWN: '<svg width="14" height="14" viewBox="0 0 14 14" aria-hidden="true"><circle cx="7" cy="7" r="6.2" fill="none" '
             'stroke="#667085" stroke-width="1.6" stroke-dasharray="2 2"/><text x="7" y="10.5" font-size="9" text-anchor="middle" '
             'fill="#667085">?</text></svg>',
}
# With more broken tunnels than this, their paths start collapsed too: a fleet is a table, not a wall of diagrams.
OPEN_BROKEN = 5


def _e(value: t.Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _finding_html(finding: t.Mapping[str, t.Any], part: t.Mapping[str, t.Any]) -> str:
    remedy = finding.get("remedy")
    if remedy:
        fix = "Fix: <code>%s</code>" % _e(remedy_text(remedy))
    elif finding.get("follows_from"):
        fix = "Fix: what it follows from (%s)" % _e(", ".join(finding["follows_from"]))
    else:
        fix = "Fix: by hand (see docs/findings.md)"
    evidence = "".join("<li><code>%s</code></li>" % _e(explain_evidence(line, part)) for line in finding.get("evidence") or [])
    return ('<div class="finding %s" data-code="%s"><span class="badge %s">%s</span> <code>%s</code> on %s: %s'
            '<ul class="evidence">%s</ul><div class="fix">%s</div></div>') % (
        _e(finding.get("severity")), _e(finding.get("code")), "blocked" if finding.get("severity") in ("critical", "error") else "warning",
        _e(finding.get("severity")), _e(finding.get("code")), _e(finding.get("host")), _e(finding.get("summary")), evidence, fix)


def _path_html(path: TunnelPath, part: t.Mapping[str, t.Any]) -> str:
    items = []
    for index, hop in enumerate(path["hops"]):
        died = '<span class="died">&#9888; the probe died here</span>' if index == path["died_at"] else ""
        codes = "".join('<div class="hop-detail">finding: <code>%s</code></div>' % _e(f.get("code")) for f in hop["findings"])
        items.append('<li class="hop %s" data-hop="%s" data-status="%s"><div class="hop-title">%s %s</div>'
                     '<div class="hop-detail">%s</div>%s%s</li>' % (
                         hop["status"], hop["key"], hop["status"], _ICON[hop["status"]], _e(hop["title"]),
                         _e(": ".join(filter(None, [hop["status"], hop["detail"]]))), codes, died))
    findings = "".join(_finding_html(f, part) for f in path["findings"])
    return '<ol class="path">%s</ol>%s' % ("".join(items), findings or "<p>No finding on this tunnel.</p>")


def _paths(part: t.Mapping[str, t.Any]) -> list[TunnelPath]:
    order = {"broken": 0, "warning": 1, "healthy": 2}
    paths = [tunnel_path(part, tunnel) for tunnel in part.get("tunnels") or []]
    return sorted(paths, key=lambda p: (order[p["status"]], p["name"]))


def _tunnels_html(part: t.Mapping[str, t.Any], prefix: str = "path") -> str:
    paths = _paths(part)
    if not paths:
        return "<p>No tunnel between inventory hosts was found.</p>"
    broken = sum(1 for p in paths if p["status"] == "broken")
    rows = []
    for number, path in enumerate(paths):
        opened = path["status"] == "broken" and broken <= OPEN_BROKEN
        died = path["hops"][path["died_at"]]["title"] if path["died_at"] is not None else "-"
        codes = ", ".join(f.get("code") or "" for f in path["findings"])
        rows.append('<tr class="tunnel%s" data-status="%s" data-detail="%s-%d" data-search="%s" onclick="wgToggle(this)">'
                    '<td><span class="badge %s">%s</span></td><td>%s</td><td>%s</td><td><code>%s</code></td></tr>'
                    '<tr class="detail" id="%s-%d"%s><td colspan="4">%s</td></tr>' % (
                        " open" if opened else "", path["status"], prefix, number, _e((path["name"] + " " + codes).lower()),
                        path["status"], path["status"], _e(path["name"]), _e(died), _e(codes) or "-",
                        prefix, number, "" if opened else " hidden", _path_html(path, part)))
    return ('<div class="filters"><input class="q" type="search" placeholder="filter by host, interface or finding code" '
            'oninput="wgFilter(this)"><select class="state" onchange="wgFilter(this)"><option value="">all</option>'
            '<option value="broken">broken</option><option value="warning">warning</option><option value="healthy">healthy</option>'
            '</select><span>%d tunnel(s), %d broken</span></div>'
            '<table class="tunnels"><thead><tr><th>state</th><th>tunnel</th><th>where the handshake died</th><th>findings</th>'
            '</tr></thead><tbody>%s</tbody></table>') % (len(paths), broken, "".join(rows))


def _other_findings_html(part: t.Mapping[str, t.Any]) -> str:
    """Findings on no tunnel (a host not reached, a peer outside the inventory) and what was not checked."""
    tunnels = part.get("tunnels") or []
    loose = [f for f in part.get("findings") or [] if not any(_belongs(f, tunnel) for tunnel in tunnels)]
    out = ""
    if loose:
        out += "<h3>Findings on no tunnel</h3>" + "".join(_finding_html(f, part) for f in loose)
    if part.get("unchecked"):
        out += "<h3>Not checked (the report cannot say healthy)</h3><ul>%s</ul>" % "".join(
            "<li>%s%s</li>" % ("" if u.get("host") is None else _e(u.get("host")) + ": ", _e(u.get("what")))
            for u in part["unchecked"])
    return out


def _not_applied_html(items: t.Sequence[t.Mapping[str, t.Any]]) -> str:
    not_confirmed, by_hand = split_not_applied(items)
    out = ""
    if not_confirmed:
        out += '<h3>Not applied</h3><p>%s</p><ul id="not-applied">%s</ul>' % (
            _e(NOT_APPLIED_INTRO), "".join("<li>%s</li>" % _e(text) for text in not_confirmed))
    if by_hand:
        out += '<h3>Needs a person</h3><p>%s</p><ul id="needs-a-person">%s</ul>' % (
            _e(NEEDS_A_PERSON_INTRO), "".join("<li>%s</li>" % _e(text) for text in by_hand))
    return out


def _remediation_html(remediation: t.Mapping[str, t.Any]) -> str:
    check_mode = bool(remediation.get("check_mode"))
    runs = remediation.get("remedies") or []
    if not runs:
        return "<p>No finding named a remedy the collection applies.</p>" + _not_applied_html(remediation.get("not_applied") or [])
    rows = "".join("<tr><td>%s</td><td>%s</td><td><code>%s</code></td><td>%s</td></tr>" % (
        _e(r.get("host")), _e(r.get("role")),
        _e(" ".join("%s=%s" % (k, v) for k, v in sorted((r.get("vars") or {}).items()) if v not in (None, "", []))),
        _e(run_result(r, check_mode))) for r in runs)
    return ("%s<table><thead><tr><th>host</th><th>role</th><th>variables</th><th>result</th></tr></thead><tbody>%s</tbody></table>%s"
            % ("<p>Check mode: shown, nothing changed.</p>" if check_mode else "", rows, _not_applied_html(remediation.get("not_applied") or [])))


def render_html(report: t.Mapping[str, t.Any]) -> str:
    """report.html: the verdict now, then what was wrong, what was done, what it is now."""
    full = as_report(report)
    now = full[full["now"]]
    parts = []
    remediation = full.get("remediation")
    before_title = "What was wrong (before remediation)" if remediation is not None else "Tunnels"
    parts.append('<section class="story" id="before"><h2>%s: %s</h2>%s%s</section>' % (
        before_title, _e(verdict(full["before"])), _tunnels_html(full["before"]), _other_findings_html(full["before"])))
    if remediation is not None:
        parts.append('<section class="story" id="remediation"><h2>What was done</h2>%s</section>' % _remediation_html(remediation))
    else:
        by_hand = _not_applied_html(not_applied(full["before"]["findings"]))
        if by_hand:
            parts.append('<section class="story" id="by-hand">%s</section>' % by_hand)
    if full.get("after") is not None:
        after = full["after"]
        parts.append('<section class="story" id="after"><h2>What it is now (after remediation): %s</h2>%s%s</section>' % (
            _e(verdict(after)), _tunnels_html(after, "after-path"), _other_findings_html(after)))
    return ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">'
            '<title>WireGuard diagnosis %s</title><style>%s</style></head><body>'
            '<header class="%s"><h1>WireGuard diagnosis: %s</h1><div>%s &middot; generated %s</div></header>'
            '<main>%s</main><script>%s</script></body></html>\n') % (
        _e(full.get("generated")), _CSS, _e(full.get("status")), _e(str(full.get("status")).upper()), _e(verdict(now)),
        _e(full.get("generated")), "".join(parts), _SCRIPT)


# ---- JUnit ---------------------------------------------------------------------------------------

def render_junit(report: t.Mapping[str, t.Any]) -> str:
    """report.xml: a testcase per tunnel (failed when a critical or error finding is on it, the
    message its codes), one per finding on no tunnel, and an error when something was not checked."""
    full = as_report(report)
    now = full[full["now"]]
    cases = []
    failures = errors = 0
    for path in _paths(now):
        bad = [f for f in path["findings"] if f.get("severity") in ("critical", "error")]
        body = ""
        if bad:
            failures += 1
            text = "\n".join("%s %s on %s: %s" % (f.get("severity"), f.get("code"), f.get("host"), f.get("summary")) for f in path["findings"])
            body = "<failure message=%s type=%s>%s</failure>" % (
                quoteattr(" ".join(f.get("code") or "" for f in bad)), quoteattr(str(bad[0].get("code"))), xml_escape(text))
        cases.append("<testcase classname=\"wgdoctor.tunnel\" name=%s>%s</testcase>" % (quoteattr(path["name"]), body))
    tunnels = now.get("tunnels") or []
    for finding in now.get("findings") or []:
        if any(_belongs(finding, tunnel) for tunnel in tunnels) or finding.get("severity") not in ("critical", "error"):
            continue
        failures += 1
        cases.append("<testcase classname=\"wgdoctor.host\" name=%s><failure message=%s type=%s>%s</failure></testcase>" % (
            quoteattr("%s %s" % (finding.get("host"), finding.get("code"))), quoteattr(str(finding.get("code"))),
            quoteattr(str(finding.get("code"))), xml_escape(str(finding.get("summary")))))
    if now.get("unchecked"):
        errors += 1
        cases.append("<testcase classname=\"wgdoctor.diagnosis\" name=\"everything was checked\"><error message=%s>%s</error></testcase>"
                     % (quoteattr("incomplete: %d thing(s) not checked" % len(now["unchecked"])),
                        xml_escape("\n".join(("%s: %s" % (u.get("host"), u.get("what"))) for u in now["unchecked"]))))
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites><testsuite name="wgdoctor WireGuard tunnels" tests="%d" '
            'failures="%d" errors="%d" timestamp=%s>%s</testsuite></testsuites>\n') % (
        len(cases), failures, errors, quoteattr(str(full.get("generated") or "")), "".join(cases))
