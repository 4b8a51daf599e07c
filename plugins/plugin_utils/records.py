# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the diagnose playbook registered, turned into what the diagnosis reads.

The playbook's tasks register Ansible results (wg_facts per end, udp_probe per initiator
and per listener, ping per direction); the diagnosis reads facts by host, probe records
and ping records (docs/findings.md). The joins live here, tested, instead of in Jinja.
"""
from __future__ import annotations

import typing as t
from collections.abc import Mapping

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.contracts import (
    Facts, MtuRecord, PingRecord, ProbeRecord,
)
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.host.ping import parse_ping
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.report import redact_error, redact_vars

NOT_REACHED = "no facts gathered (host not reached)"


class AnsweredEnds(t.TypedDict):
    facts_by_host: dict[str, Facts]
    unreachable: dict[str, str]


class RemedyRun(t.TypedDict):
    host: str
    role: str
    vars: dict[str, t.Any]
    changed: t.Optional[bool]
    failed: bool
    task: t.Optional[str]
    error: t.Optional[str]


def remedy_runs(hostvars: Mapping, end_hosts: t.Iterable[str], result_var: str = "wg_remedy_runs") -> list[RemedyRun]:
    """Every remedy that ran on each end (playbooks/phases/apply_remedy.yml records them), in host
    order then run order: host, role, its variables with secrets redacted, changed (None when not
    recorded), failed, and the failed task and its error (redacted and cut)."""
    runs: list[RemedyRun] = []
    for host in end_hosts:
        recorded = _mapping(hostvars[host] if host in hostvars else None).get(result_var)
        for item in recorded if isinstance(recorded, (list, tuple)) else []:
            item = _mapping(item)
            failed = bool(item.get("failed"))
            changed = item.get("changed")
            runs.append({
                "host": str(item.get("host") or host), "role": str(item.get("role") or ""),
                "vars": redact_vars(_mapping(item.get("vars"))),
                "changed": changed if isinstance(changed, bool) else None, "failed": failed,
                "task": str(item.get("task") or "") or None if failed else None,
                "error": redact_error(item.get("error")) if failed else None,
            })
    return runs


def _mapping(value: t.Any) -> Mapping:
    return value if isinstance(value, Mapping) else {}


def wireguard_facts(value: t.Any) -> t.Optional[Facts]:
    """The wireguard facts themselves, or a host's hostvars holding them; None when there are none."""
    if not isinstance(value, Mapping):
        return None
    if "interfaces" in value and "schema" in value:
        return t.cast(Facts, dict(value))
    facts = value.get("ansible_facts")
    if isinstance(facts, Mapping) and isinstance(facts.get("wireguard"), Mapping):
        return t.cast(Facts, dict(facts["wireguard"]))
    if isinstance(value.get("ansible_wireguard"), Mapping):
        return t.cast(Facts, dict(value["ansible_wireguard"]))
    return None


def answered_ends(hostvars: Mapping, end_hosts: t.Iterable[str], result_var: str = "wg_facts_result") -> AnsweredEnds:
    """Split the ends into those whose wg_facts answered and those that did not (with why not)."""
    answered: AnsweredEnds = {"facts_by_host": {}, "unreachable": {}}
    for host in end_hosts:
        variables = _mapping(hostvars[host] if host in hostvars else None)
        facts = wireguard_facts(variables)
        if facts is not None:
            answered["facts_by_host"][str(host)] = facts
            continue
        message = _mapping(variables.get(result_var)).get("msg")
        answered["unreachable"][str(host)] = str(message) if message else NOT_REACHED
    return answered


def host_results(hostvars: Mapping, end_hosts: t.Iterable[str], result_var: str) -> list[t.Any]:
    """The loop results each end registered as `result_var` in the probe-and-ping play, one list in host
    order; an end that registered nothing (not reached, lost mid-run) adds nothing."""
    results: list[t.Any] = []
    for host in end_hosts:
        registered = _mapping(_mapping(hostvars[host] if host in hostvars else None).get(result_var))
        loop = registered.get("results")
        if isinstance(loop, (list, tuple)):
            results.extend(loop)
    return results


# ---- probes -------------------------------------------------------------------------------

def _arrived(listened: Mapping, result: Mapping) -> t.Optional[int]:
    """Initiations the responder's capture saw from this probe; None when that is not known.

    One capture serves every probe aimed at its responder port, so a probe's own initiations are
    told apart by the sender index the probe chose (it survives NAT, the source port does not);
    without indices on both sides, by the probe's source port, else all initiations count (one
    probe per capture, as the captures of old ran). A capture that ended at its deadline rather
    than when told that every probe was done may have ended before this probe: seeing nothing of
    it there is no evidence, so None, never 0 (a false udp_blocked_upstream)."""
    seen = listened.get("initiations")
    if seen is None:
        return None
    seen = [item for item in seen if isinstance(item, Mapping)]
    ended_early = listened.get("stopped") == "deadline"
    index = result.get("sender_index")
    if index is not None and any("sender_index" in item for item in seen):
        count = sum(int(item.get("count") or 0) for item in seen if item.get("sender_index") == index)
        return None if ended_early and not count else count
    local_port = result.get("local_port")
    port = -1 if local_port is None else local_port
    same_port = [item for item in seen if item.get("source_port") == port]
    if ended_early and not same_port:
        return None
    return sum(int(item.get("count") or 0) for item in (same_port or seen))


def _capture_key(value: Mapping) -> tuple[str, t.Any]:
    """(responder, port) a capture listens on, from a listener's item or a probe's plan item."""
    port = value.get("port") or value.get("listen_port") or _mapping(value.get("target")).get("port")
    return str(value.get("responder")), port


def _captures_by_responder_port(listen_results: t.Sequence) -> dict[tuple[str, t.Any], Mapping]:
    captures: dict[tuple[str, t.Any], Mapping] = {}
    for heard in listen_results:
        heard = _mapping(heard)
        # async_status over the listeners: its item is the listener's result, whose item is the listener's own.
        listener = _mapping(_mapping(heard.get("item")).get("item"))
        key = _capture_key(listener)
        if key not in captures or "initiations" not in captures[key]:
            captures[key] = heard
    return captures


def _probe_record(plan: Mapping, vantage: str, result: Mapping, arrived: t.Optional[int], error: t.Optional[str]) -> ProbeRecord:
    return {
        "initiator": plan.get("initiator"), "responder": plan.get("responder"), "interface": plan.get("interface"),
        "peer": plan.get("peer"), "target": plan.get("target"), "vantage": vantage,
        "outcome": result.get("outcome", "error"), "rtt_ms": result.get("rtt_ms"),
        "attempts": result.get("attempts"), "arrived": arrived, "error": error,
    }


def _same_probe(plan: Mapping) -> tuple[t.Any, ...]:
    target = _mapping(plan.get("target"))
    return (plan.get("initiator"), plan.get("responder"), plan.get("interface"), plan.get("peer"),
            target.get("host"), target.get("port"))


def probe_records(probe_results: t.Sequence, listen_results: t.Sequence = (),
                  controller_results: t.Sequence = (), planned: t.Optional[t.Sequence] = None) -> list[ProbeRecord]:
    """One record per probe the initiators sent, joined with the capture on the responder port it
    was aimed at, then one per planned probe that has no result at all (its initiator was lost in
    the middle of the run: an error record, so the report says the probe did not run), then one per
    probe the controller sent that ran."""
    records: list[ProbeRecord] = []
    captures = _captures_by_responder_port(list(listen_results or []))
    done = set()
    for result in probe_results or []:
        result = _mapping(result)
        plan = _mapping(result.get("item"))
        done.add(_same_probe(plan))
        heard = captures.get(_capture_key(plan), {})
        ran = "outcome" in result
        error = None if ran else str(result.get("msg") or "probe did not run")
        records.append(_probe_record(plan, str(plan.get("initiator")), result, _arrived(heard, result), error))
    for plan in planned or []:
        plan = _mapping(plan)
        if _same_probe(plan) not in done:
            error = "probe did not run: %s gave no result (unreachable mid-run?)" % plan.get("initiator")
            records.append(_probe_record(plan, str(plan.get("initiator")), {}, None, error))
    for result in controller_results or []:
        result = _mapping(result)
        if "outcome" in result:
            records.append(_probe_record(_mapping(result.get("item")), "controller", result, None, None))
    return records


# ---- pings --------------------------------------------------------------------------------

def _first_line(text: t.Any) -> t.Optional[str]:
    for line in str(text or "").splitlines():
        if line.strip():
            return line.strip()
    return None


def ping_record(result: Mapping) -> PingRecord:
    """The record of one ping the playbook ran (`ping -c N ... -I <interface> <address>`, registered).

    `ok` is ping's own verdict (exit status 0: at least one reply); `loss` is the share of packets
    lost, None when ping printed no statistics, and then `error` says why (e.g. no such device).
    """
    plan = _mapping(result.get("item"))
    stdout = str(result.get("stdout") or "")
    summary = parse_ping(stdout)
    lines = stdout.splitlines()
    record: dict[str, t.Any] = {
        "from": plan.get("from"), "to": plan.get("to"), "address": plan.get("address"), "interface": plan.get("interface"),
        "ok": result.get("rc") == 0,
        "transmitted": None, "received": None, "errors": None, "loss": None, "rtt_ms": None, "error": None,
        "output": " ".join(lines[-2:]),
    }
    if summary is not None:
        record.update(summary)
    else:
        record["error"] = (_first_line(result.get("stderr")) or _first_line(result.get("msg"))
                           or "ping printed no statistics (exit status %s)" % result.get("rc"))
    return t.cast(PingRecord, record)


PING_BLOCK = "\n@@wgdoctor-ping@@ "
PING_STDERR = "\n@@wgdoctor-ping-stderr@@"


def ping_batch_results(registered: t.Any, pings: t.Sequence) -> dict[str, list[dict[str, t.Any]]]:
    """The results a loop over `pings` would have registered, from the one command that ran an end's pings at
    once (diagnose_pass.yml): per ping, in plan order, a block `PING_BLOCK rc` + stdout + `PING_STDERR` + stderr.
    A ping without its block (the command itself failed) gets rc -1 and why, so ping_records says so."""
    registered = _mapping(registered)
    blocks = str(registered.get("stdout") or "").split(PING_BLOCK)[1:]
    results = []
    for index, ping in enumerate(pings or []):
        if index < len(blocks):
            output, _marker, stderr = blocks[index].partition(PING_STDERR)
            rc_text, _newline, stdout = output.partition("\n")
            try:
                rc = int(rc_text.strip())
            except ValueError:
                rc = -1
            results.append({"item": ping, "rc": rc, "stdout": stdout.strip(), "stderr": stderr.strip(), "changed": False})
        else:
            why = registered.get("stderr") or registered.get("msg") or "no output"
            results.append({"item": ping, "rc": -1, "stdout": "", "stderr": "the pings of this end gave no result: %s" % why,
                            "changed": False})
    return {"results": results}


def ping_records(results: t.Sequence) -> list[PingRecord]:
    """Records of the pings that ran; a host that could not be reached to ping from has no record
    (host_unreachable names it)."""
    return [ping_record(_mapping(result)) for result in results or [] if "rc" in _mapping(result)]


# ---- path MTU (issue #16) -----------------------------------------------------------------

_MTU_KEYS = ("mtu", "largest", "smallest_lost", "probes", "seconds", "complete", "underlay", "error")


def _no_size(result: t.Mapping[str, t.Any]) -> t.Optional[str]:
    """Why a search that was meant to run gave no size; None for one that was never meant to (skipped)."""
    if result.get("skipped"):
        start = _mapping(result.get("item"))
        # async_status skips a search whose start failed: the start's own failure is the reason.
        if "ansible_job_id" in start or not (start.get("failed") or start.get("unreachable")):
            return None
        result = start
    if result.get("failed") and result.get("finished") == 0:
        return "it had not finished when the playbook stopped waiting"
    return str(result.get("msg") or "").strip() or "the module failed"


def mtu_records(results: t.Sequence) -> list[MtuRecord]:
    """One record per DF bisection that was started (wgdoctor.wireguard.wg_path_mtu over the ping plan, registered).
    One that gave no size (the host not reached, the module failed, the wait ran out) is a record with no size and
    its reason in `error`, so the diagnosis names it unchecked instead of staying silent; one never started has none."""
    records: list[MtuRecord] = []
    for result in results or []:
        result = _mapping(result)
        plan = _mapping(result.get("item"))
        while "from" not in plan and "item" in plan:
            plan = _mapping(plan.get("item"))  # async_status over the started searches: the plan item is further down
        record: dict[str, t.Any] = {"from": plan.get("from"), "to": plan.get("to"), "address": plan.get("address"),
                                    "interface": plan.get("interface")}
        if "largest" in result:
            record.update((key, result.get(key)) for key in _MTU_KEYS)
        else:
            reason = _no_size(result)
            if reason is None or "from" not in plan:
                continue
            record.update((key, None) for key in _MTU_KEYS)
            record.update(complete=False, error="the search gave no result: %s" % reason)
        records.append(t.cast(MtuRecord, record))
    return records


# ---- the state after remediation ------------------------------------------------------------
