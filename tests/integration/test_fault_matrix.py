"""The fault matrix: every catalogued cause, injected into a real tunnel, is named by diagnose.yml.

For each fault: start from the healthy tunnel, break it the way it breaks in real life,
run the diagnose playbook as a user would, and read report.json: the expected code is
there for the right host, it is the first critical finding when it is the root cause,
and nothing critical was reported that the injection does not explain.
"""
from __future__ import annotations

import pytest

from faults import FAULTS, Fault

SYMPTOM_CODES = {"handshake_never", "handshake_stale", "tunnel_ping_fails"}
BASELINE_ADVICE = {"hostname_endpoint_not_reresolved", "dynamic_ip_bare_endpoint"}


def _public_net(lab) -> str:
    return lab.vars["lab_server_address"].rsplit(".", 1)[0]


def _run_steps(lab, steps) -> None:
    pub = _public_net(lab)
    for host, script in steps:
        script = script.replace("{pub}", pub)
        if host == "lab":
            lab.lab(*script.split())
        else:
            lab.sh(host, script)


@pytest.fixture
def healthy(lab):
    """The healthy tunnel, restored after the test whatever the test did."""
    lab.wait_for_handshake()
    yield lab
    lab.deploy_healthy()
    lab.sh("client", "systemctl restart wg-quick@wg0")
    lab.sh("server", "systemctl restart wg-quick@wg0")
    lab.wait_for_handshake()


def test_healthy_tunnel_has_no_finding_above_advice(healthy, tmp_path):
    report, _ = healthy.diagnose(tmp_path)
    above = [f for f in report["findings"] if f["severity"] in ("critical", "error")
             or (f["severity"] == "warning" and f["code"] not in BASELINE_ADVICE)]
    assert above == [], above
    assert report["healthy"] is True
    assert [p["outcome"] for p in report["probes"]] == ["ok"]
    assert all(p["ok"] for p in report["pings"]) and len(report["pings"]) == 2


@pytest.mark.parametrize("fault", FAULTS, ids=[f.code + ":" + f.name.replace(" ", "-") for f in FAULTS])
def test_fault_is_named_with_the_right_host(healthy, tmp_path, fault: Fault):
    try:
        _run_steps(healthy, fault.inject)
        for end in fault.restart:
            healthy.sh(end, "systemctl restart wg-quick@wg0", check=False)
        report, _ = healthy.diagnose(tmp_path)
    finally:
        _run_steps(healthy, fault.undo)

    findings = report["findings"]
    summary = [(f["severity"], f["code"], f["host"]) for f in findings]
    matching = [f for f in findings if f["code"] == fault.code]
    assert matching, f"{fault.code} not reported; got {summary}"
    assert fault.host in {f["host"] for f in matching}, f"{fault.code} reported on the wrong host: {summary}"
    assert matching[0]["severity"] == fault.severity
    assert matching[0]["summary"] and matching[0]["evidence"], matching[0]
    if fault.root_cause:
        critical = [f for f in findings if f["severity"] == "critical"]
        assert critical[0]["code"] == fault.code, f"root cause is not first: {summary}"
    explained = {fault.code, *fault.also, *SYMPTOM_CODES}
    unexplained = [s for s in summary if s[0] == "critical" and s[1] not in explained]
    assert not unexplained, f"critical findings the injection does not explain: {unexplained}"
    for symptom in (f for f in findings if f["code"] in SYMPTOM_CODES and f["severity"] == "critical"):
        assert symptom.get("follows_from"), f"symptom without its cause: {symptom}"
    assert report["healthy"] is (fault.severity in ("warning", "info"))
