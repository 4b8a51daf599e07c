"""The cloud firewall end to end against the AWS API emulator (moto, conftest.py): the facts tasks of
diagnose_pass.yml read the instance's group and ACL, the diagnosis names the group, the remedy runs through
apply_remedy.yml and adds exactly the narrow rule (issue #14)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import typing as t

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "diagnosis"))

from diagnosis_facts import codes, healthy_facts, never_handshaken, only, probe, run  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
PHASES = os.path.join(REPO, "playbooks", "phases")
PORT = 51871  # the fixture's ListenPort is rewritten to it: nothing may lean on a default port
INITIATOR = "198.51.100.20"  # the client's public address in the diagnosis fixture


def _playbook(tmp_path, plays: list, inventory: dict, extra: dict, *args: str) -> subprocess.CompletedProcess:
    book = tmp_path / "play.yml"
    book.write_text(yaml.safe_dump(plays, sort_keys=False))
    inv = tmp_path / "inventory.yml"
    inv.write_text(yaml.safe_dump(inventory))
    extra_file = tmp_path / "extra.json"
    extra_file.write_text(json.dumps(extra))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".cache", "collections"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"))
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return subprocess.run(["ansible-playbook", "-i", str(inv), str(book), "-e", "@%s" % extra_file, *args],
                          env=env, text=True, capture_output=True, timeout=300, check=False, cwd=str(tmp_path))


def _inventory(**server_vars: t.Any) -> dict:
    local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    return {"all": {"hosts": {"localhost": dict(local), "server": dict(local, **server_vars)}}}


def _diagnose_pass_task(name: str) -> dict:
    with open(os.path.join(PHASES, "diagnose_pass.yml")) as handle:
        plays = yaml.safe_load(handle)
    [task] = [task for play in plays for task in play.get("tasks", []) if task.get("name") == name]
    return task


def _server_facts() -> dict:
    facts = never_handshaken(healthy_facts())
    iface = facts["server"]["interfaces"]["wg0"]
    iface["config"]["listen_port"] = iface["runtime"]["listen_port"] = iface["listening"]["port"] = PORT
    for peer in facts["client"]["interfaces"]["wg0"]["config"]["peers"]:
        peer["endpoint"].update(raw="198.51.100.10:%d" % PORT, port=PORT)
    return facts


def read_cloud_facts(tmp_path, facts: dict, *args: str, **server_vars: t.Any) -> tuple[dict, subprocess.CompletedProcess]:
    """diagnose_pass.yml's own include of cloud_facts.yml, run on localhost as the pass runs it."""
    include = _diagnose_pass_task("Read the cloud firewall in front of the ends that run on EC2")
    include["ansible.builtin.include_tasks"] = os.path.join(PHASES, include["ansible.builtin.include_tasks"])
    out = tmp_path / "facts.json"
    plays = [{"name": "Read the cloud facts", "hosts": "localhost", "gather_facts": False,
              "vars": {"wg_end_hosts": ["server", "client"]},
              # As the pass has it: set_fact (an extra var would outrank the include's set_fact).
              "tasks": [{"name": "Take the facts", "ansible.builtin.set_fact": {"wg_facts_by_host": "{{ wg_test_facts }}"}},
                        include, {"name": "Save the facts", "ansible.builtin.copy": {
                            "content": "{{ wg_facts_by_host | to_json }}", "dest": str(out), "mode": "0600"}}]}]
    inventory = _inventory(**server_vars)
    inventory["all"]["hosts"]["client"] = {"ansible_connection": "local"}
    proc = _playbook(tmp_path, plays, inventory, {"wg_test_facts": facts}, *args)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return json.loads(out.read_text()), proc


def apply_remedies(tmp_path, findings: list, *args: str) -> subprocess.CompletedProcess:
    """remediate.yml's loop over apply_remedy.yml for the server."""
    plays = [{"name": "Apply the remedies", "hosts": "server", "gather_facts": False, "tasks": [
        {"name": "Apply each remedy", "ansible.builtin.include_tasks": os.path.join(PHASES, "apply_remedy.yml"),
         "loop": "{{ wg_findings | wgdoctor.wireguard.wg_remedies(inventory_hostname) }}",
         "loop_control": {"loop_var": "wg_remedy", "label": "{{ wg_remedy.role }}"}},
        {"name": "No remedy failed", "ansible.builtin.assert": {
            "that": "wg_remedy_failures is not defined", "fail_msg": "{{ wg_remedy_failures | default([]) | to_json }}"}}]}]
    proc = _playbook(tmp_path, plays, _inventory(), {"wg_findings": findings}, *args)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return proc


def _rules(world: dict) -> tuple[list, list]:
    [group] = world["ec2"].describe_security_groups(GroupIds=[world["group_id"]])["SecurityGroups"]
    return group["IpPermissions"], group["IpPermissionsEgress"]


def _canonical(permissions: list) -> list[str]:
    return sorted(json.dumps(p, sort_keys=True) for p in permissions)


def test_facts_from_the_emulator_name_the_group_and_the_missing_rule(tmp_path, ec2_world):
    facts, proc = read_cloud_facts(tmp_path, _server_facts(), "-vvv", wg_cloud_provider="aws",
                                   wg_aws_instance_id=ec2_world["instance_id"], wg_aws_region="us-east-1")
    output = proc.stdout + proc.stderr + json.dumps(facts)
    assert ec2_world["instance_id"] in output
    for secret in (os.environ["AWS_SECRET_ACCESS_KEY"], os.environ["AWS_ACCESS_KEY_ID"]):
        assert secret not in output, "a credential in the output at -vvv"
    cloud = facts["server"]["cloud"]
    assert cloud["error"] is None and cloud["instance_id"] == ec2_world["instance_id"]
    assert [g["group_id"] for g in cloud["security_groups"]] == [ec2_world["group_id"]]
    assert cloud["network_acl"]["nacl_id"] == ec2_world["acl_id"]
    assert "cloud" not in facts["client"]  # not opted in
    report = run(facts, probes=[dict(probe("timeout", arrived=0), target={"host": "198.51.100.10", "port": PORT})])
    finding = report["findings"][0]
    assert finding["code"] == "udp_blocked_cloud_firewall", codes(report)
    assert any("no inbound rule of %s allows udp %d" % (ec2_world["group_id"], PORT) in line for line in finding["evidence"])
    assert finding["remedy"]["vars"] == {"cloud_firewall_region": "us-east-1", "cloud_firewall_group_id": ec2_world["group_id"],
                                         "cloud_firewall_port": PORT, "cloud_firewall_cidrs": [INITIATOR + "/32"]}
    assert only(report, "udp_blocked_upstream")["follows_from"] == ["udp_blocked_cloud_firewall"]


def test_the_instance_is_found_by_its_address_without_an_id(tmp_path, ec2_world):
    facts = _server_facts()
    facts["server"]["addresses"] = [{"interface": "eth0", "address": ec2_world["private_ip"], "prefixlen": 24, "family": 4}]
    found, _proc = read_cloud_facts(tmp_path, facts, wg_cloud_provider="aws")
    assert found["server"]["cloud"]["instance_id"] == ec2_world["instance_id"]


def test_an_instance_that_does_not_exist_makes_the_report_incomplete(tmp_path, ec2_world):
    facts, _proc = read_cloud_facts(tmp_path, _server_facts(), wg_cloud_provider="aws", wg_aws_instance_id="i-0000000000000dead")
    report = run(facts, probes=[])
    assert report["incomplete"] and any(u["host"] == "server" and u["what"].startswith("the cloud firewall (aws: ")
                                        for u in report["unchecked"])


def test_the_remedy_adds_exactly_the_narrow_rule_once_and_check_mode_adds_nothing(tmp_path, ec2_world):
    facts, _proc = read_cloud_facts(tmp_path, _server_facts(), wg_cloud_provider="aws",
                                    wg_aws_instance_id=ec2_world["instance_id"])
    report = run(facts, probes=[dict(probe("timeout", arrived=0), target={"host": "198.51.100.10", "port": PORT})])
    findings = [f for f in report["findings"] if f["code"] == "udp_blocked_cloud_firewall"]
    inbound, outbound = _rules(ec2_world)

    checked = apply_remedies(tmp_path, findings, "--check", "--diff")
    assert "changed=1" in checked.stdout.split("PLAY RECAP")[-1], checked.stdout[-3000:]
    assert "+" in checked.stdout and INITIATOR + "/32" in checked.stdout.split("PLAY RECAP")[0], checked.stdout[-3000:]
    assert _rules(ec2_world) == (inbound, outbound)

    applied = apply_remedies(tmp_path, findings)
    assert "changed=1" in applied.stdout.split("PLAY RECAP")[-1]
    after_in, after_out = _rules(ec2_world)
    added = [p for p in after_in if json.dumps(p, sort_keys=True) not in _canonical(inbound)]
    assert len(added) == 1
    assert (added[0]["IpProtocol"], added[0]["FromPort"], added[0]["ToPort"]) == ("udp", PORT, PORT)
    assert [r["CidrIp"] for r in added[0]["IpRanges"]] == [INITIATOR + "/32"] and not added[0].get("Ipv6Ranges")
    assert _canonical([p for p in after_in if p is not added[0]]) == _canonical(inbound)  # the others byte-identical
    assert after_out == outbound

    again = apply_remedies(tmp_path, findings)
    assert "changed=0" in again.stdout.split("PLAY RECAP")[-1]
    assert _rules(ec2_world) == (after_in, after_out)

    facts, _proc = read_cloud_facts(tmp_path, _server_facts(), wg_cloud_provider="aws",
                                    wg_aws_instance_id=ec2_world["instance_id"])
    report = run(facts, probes=[dict(probe("timeout", arrived=0), target={"host": "198.51.100.10", "port": PORT})])
    assert "udp_blocked_cloud_firewall" not in codes(report)
    assert any(line.startswith("aws: the cloud firewall allows it") for line in only(report, "udp_blocked_upstream")["evidence"])


def test_the_role_refuses_the_whole_internet_unless_asked(tmp_path, ec2_world):
    remedy = {"role": "wgdoctor.wireguard.cloud_firewall", "host": "server", "vars": {
        "cloud_firewall_group_id": ec2_world["group_id"], "cloud_firewall_port": PORT, "cloud_firewall_cidrs": ["0.0.0.0/0"]}}
    before = _rules(ec2_world)
    plays = [{"name": "Apply", "hosts": "server", "gather_facts": False, "tasks": [
        {"name": "Apply each remedy", "ansible.builtin.include_tasks": os.path.join(PHASES, "apply_remedy.yml"),
         "loop": "{{ wg_findings | wgdoctor.wireguard.wg_remedies(inventory_hostname) }}",
         "loop_control": {"loop_var": "wg_remedy"}},
        {"name": "Show the failures", "ansible.builtin.debug": {"msg": "FAILURES {{ wg_remedy_failures | to_json }}"}}]}]
    proc = _playbook(tmp_path, plays, _inventory(), {"wg_findings": [{"remedy": remedy}]})
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "0.0.0.0/0 or ::/0 only with cloud_firewall_allow_anywhere=true" in proc.stdout
    assert _rules(ec2_world) == before


def test_a_rule_from_a_managed_prefix_list_is_judged_by_its_entries(tmp_path, ec2_world):
    ec2 = ec2_world["ec2"]
    listed = ec2.create_managed_prefix_list(PrefixListName="wg-initiators", MaxEntries=5, AddressFamily="IPv4",
                                            Entries=[{"Cidr": INITIATOR + "/32"}])["PrefixList"]["PrefixListId"]
    ec2.authorize_security_group_ingress(GroupId=ec2_world["group_id"], IpPermissions=[
        {"IpProtocol": "udp", "FromPort": PORT, "ToPort": PORT, "PrefixListIds": [{"PrefixListId": listed}]}])
    facts, _proc = read_cloud_facts(tmp_path, _server_facts(), wg_cloud_provider="aws",
                                    wg_aws_instance_id=ec2_world["instance_id"])
    assert facts["server"]["cloud"]["prefix_lists"] == {listed: [INITIATOR + "/32"]}
    report = run(facts, probes=[dict(probe("timeout", arrived=0), target={"host": "198.51.100.10", "port": PORT})])
    assert "udp_blocked_cloud_firewall" not in codes(report)
    assert any("prefix list %s covers %s" % (listed, INITIATOR) in line for line in only(report, "udp_blocked_upstream")["evidence"])
