"""The cloud firewall in the lab (issue #14): the lab's server stands for an EC2 instance emulated by moto.

Its host firewall is open, while the lab's upstream filter (the router's `lab_upstream` forward chain)
drops the WireGuard port, so the probe really times out before the server; moto holds the instance's
security group without the UDP rule. The emulator filters no packet: after the remedy adds the rule
there, the lab's filter still drops, which is exactly what lets the after pass prove that
udp_blocked_upstream then says the cloud firewall allows it.
"""
from __future__ import annotations

import json
import os
import sys

import pytest
import yaml

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "unit", "cloud"))

import moto_emulator  # noqa: E402

PORT = 51877
CONF = "/etc/wireguard/wg0.conf"  # the lab baseline's interface; the port is this test's own


@pytest.fixture
def emulated_server(lab, tmp_path, monkeypatch):
    pytest.importorskip("moto", reason="moto[server] is in requirements-dev.txt: the AWS emulator")
    with moto_emulator.moto_server() as env:
        for key in moto_emulator.UNSET:
            monkeypatch.delenv(key, raising=False)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        world = moto_emulator.ec2_world(env)
        router = lab.vars["lab_router_public_address"]
        extra = tmp_path / "cloud_inventory.yml"
        extra.write_text(yaml.safe_dump({"all": {"hosts": {"server": {
            "wg_cloud_provider": "aws", "wg_aws_instance_id": world["instance_id"], "wg_aws_region": env["AWS_REGION"],
            # The client is behind the router's NAT: its public address is the router's.
            "wg_cloud_allowed_cidrs": ["%s/32" % router]}}}}))
        lab.sh("server", f"sed -i 's/^ListenPort = .*/ListenPort = {PORT}/' {CONF}")
        lab.sh("client", f"sed -i 's/^\\(Endpoint = .*\\):[0-9]*$/\\1:{PORT}/' {CONF}")
        lab.sh("router", f"nft add rule inet lab_upstream forward udp dport {PORT} drop")
        for host in ("server", "client"):
            lab.sh(host, "systemctl restart wg-quick@wg0")
        try:
            yield {"world": world, "inventory": str(extra), "router": router, "env": env}
        finally:
            lab.sh("router", "nft flush chain inet lab_upstream forward", check=False)
            lab.back_to_healthy()


def _pass(report, which="before"):
    """One pass of report.json, whichever layout (the before pass at the top, or under "before")."""
    part = report.get(which)
    if isinstance(part, dict) and "findings" in part:
        return part
    assert which == "before", "report.json has no %s pass: %s" % (which, sorted(report))
    return report


def _rules(world):
    [group] = world["ec2"].describe_security_groups(GroupIds=[world["group_id"]])["SecurityGroups"]
    return group["IpPermissions"], group["IpPermissionsEgress"]


def test_the_security_group_is_named_and_fixed_narrowly(lab, tmp_path, emulated_server):
    world = emulated_server["world"]
    inbound, outbound = _rules(world)
    # One run: its before pass is the plain diagnosis (a diagnose.yml run of its own diagnosed the same state
    # once more, only to compare the group after it); the group is compared after the remedy instead, below.
    fixed = lab.diagnose(tmp_path, "-i", emulated_server["inventory"], "-e", "wg_remediate=true")
    report = _pass(fixed)
    critical = [f for f in report["findings"] if f["severity"] == "critical"]
    first = critical[0]
    assert (first["code"], first["host"]) == ("udp_blocked_cloud_firewall", "server"), [f["code"] for f in critical]
    assert any(world["group_id"] in line and "allows udp %d" % PORT in line for line in first["evidence"]), first["evidence"]
    assert first["remedy"]["vars"]["cloud_firewall_cidrs"] == ["%s/32" % emulated_server["router"]]
    upstream = [f for f in report["findings"] if f["code"] == "udp_blocked_upstream"]
    assert upstream and upstream[0]["follows_from"] == ["udp_blocked_cloud_firewall"]
    assert any(p["outcome"] == "timeout" and p["arrived"] == 0 for p in report["probes"])

    after_in, after_out = _rules(world)
    added = [p for p in after_in if p not in inbound]
    assert [(p["IpProtocol"], p["FromPort"], p["ToPort"], [r["CidrIp"] for r in p["IpRanges"]]) for p in added] == [
        ("udp", PORT, PORT, ["%s/32" % emulated_server["router"]])]
    assert sorted(json.dumps(p, sort_keys=True) for p in after_in if p not in added) == \
        sorted(json.dumps(p, sort_keys=True) for p in inbound)
    assert after_out == outbound
    # The diagnosis changes nothing: the group differs from before by the one rule, and that rule is the
    # remedy's (its role changed the group: had the diagnosis added it, the role would have found it there).
    ran = [r for r in fixed["remediation"]["remedies"] if r["role"] == first["remedy"]["role"]]
    assert [(r["changed"], r["failed"]) for r in ran] == [(True, False)], fixed["remediation"]["remedies"]
    output = lab.last_run.stdout + lab.last_run.stderr
    for secret in (emulated_server["env"]["AWS_SECRET_ACCESS_KEY"], emulated_server["env"]["AWS_ACCESS_KEY_ID"]):
        assert secret not in output
    # The rule is there; the lab's filter (which moto cannot be) still drops: the after pass says so.
    after = _pass(fixed, "after")
    assert "udp_blocked_cloud_firewall" not in [f["code"] for f in after["findings"]]
    [upstream] = [f for f in after["findings"] if f["code"] == "udp_blocked_upstream"]
    assert any(line.startswith("aws: the cloud firewall allows it: %s" % world["group_id"]) for line in upstream["evidence"]), \
        upstream["evidence"]
