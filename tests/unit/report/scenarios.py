"""Reports of the cases a person meets, built from the diagnosis' hand-written facts: each is what report.json
holds after a real run of that case (before, what remediation ran, after)."""
from __future__ import annotations

import copy
import json

from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.report import assemble
from diagnosis_facts import (
    HEALTHY_PINGS, SERVER_KEY, STRANGER_KEY, config_peer, healthy_facts, never_handshaken, probe, run, runtime_peer, wg0,
)


def _pass(facts, probes, pings=(), unreachable=None):
    report = run(facts, probes=list(probes), pings=list(pings), unreachable=unreachable)
    return dict(report, probes=list(probes), pings=list(pings))


def healthy_pass():
    return _pass(healthy_facts(), [probe("ok")], HEALTHY_PINGS)


def host_firewall_pass():
    facts = healthy_facts()
    wg0(facts, "server")["firewall"]["input"] = {
        "verdict": "drop", "backend": "nftables", "table": "inet filter", "chain": "input", "rule": "udp dport 51820 drop",
        "counter": 0}
    never_handshaken(facts)
    return _pass(facts, [probe("timeout", arrived=3)])


def upstream_pass():
    facts = healthy_facts()
    never_handshaken(facts)
    return _pass(facts, [probe("timeout", arrived=0)])


def wrong_key_pass():
    facts = healthy_facts()
    for peer in (config_peer(facts, "client"), runtime_peer(facts, "client")):
        peer["public_key"] = STRANGER_KEY
    never_handshaken(facts)
    return _pass(facts, [probe("timeout", arrived=3)])


def incomplete_pass():
    facts = healthy_facts()
    del facts["client"]
    return _pass(facts, [], unreachable={"client": "UNREACHABLE! ssh: no route to host"})


def remedy_run(role, host, variables, failed=False):
    run_record = {"host": host, "role": role, "vars": variables, "changed": None, "failed": failed}
    if failed:
        run_record.update(task="Open the WireGuard port", error="nft: Could not process rule")
    return run_record


FIREWALL_FIX = remedy_run("wgdoctor.wireguard.firewall", "server", {"firewall_port": 51820, "firewall_interface": "wg0"})
KEY_FIX = remedy_run("wgdoctor.wireguard.peer", "client", {"peer_interface": "wg0", "peer_public_key": STRANGER_KEY,
                                                           "peer_new_public_key": SERVER_KEY})

SCENARIOS = {
    "healthy": lambda: assemble(healthy_pass()),
    "host-firewall": lambda: assemble(host_firewall_pass()),
    "upstream": lambda: assemble(upstream_pass()),
    "wrong-key": lambda: assemble(wrong_key_pass()),
    "incomplete": lambda: assemble(incomplete_pass()),
    "host-firewall-remediated": lambda: assemble(host_firewall_pass(), [FIREWALL_FIX], healthy_pass()),
    "wrong-key-remediated": lambda: assemble(wrong_key_pass(), [KEY_FIX], healthy_pass()),
    "remedy-failed": lambda: assemble(host_firewall_pass(), [dict(FIREWALL_FIX, failed=True, task="Open", error="nft failed")],
                                      host_firewall_pass()),
    "check-mode": lambda: assemble(host_firewall_pass(), [FIREWALL_FIX], None, check_mode=True),
    "nothing-to-remedy": lambda: assemble(upstream_pass(), [], upstream_pass()),
    "incomplete-after": lambda: assemble(wrong_key_pass(), [KEY_FIX], incomplete_pass()),
}


def fleet(count=50, broken_every=7):
    """`count` tunnels of a hub: every `broken_every`-th spoke behind a firewall drop, the rest healthy."""
    report = copy.deepcopy(assemble(healthy_pass()))
    template = report["before"]["tunnels"][0]
    broken = host_firewall_pass()["findings"]
    report["before"]["tunnels"], report["before"]["findings"] = [], []
    for number in range(count):
        tunnel = copy.deepcopy(template)
        tunnel["a"].update(host="spoke-%02d" % number, interface="wg-hub")
        tunnel["b"].update(host="hub", interface="wg-s%02d" % number)
        report["before"]["tunnels"].append(tunnel)
        if number % broken_every == 0:
            tunnel["latest_handshake_age"], tunnel["handshake_fresh"] = None, False
            for finding in copy.deepcopy(broken):
                finding["host"] = "hub" if finding["host"] == "server" else "spoke-%02d" % number
                finding["interface"] = "wg-s%02d" % number if finding["host"] == "hub" else "wg-hub"
                report["before"]["findings"].append(finding)
    report.update(status="unhealthy", healthy=False)
    report["before"]["healthy"] = False
    return report


def report_phase_inputs(tmp_path, remediate):
    """What playbooks/phases/report.yml finds when the earlier phases ran on a server and a client: the inventory
    file (the server's recorded firewall remedy when remediation ran) and wg_reports (before, and after)."""
    inventory = {"all": {"children": {"ends": {"hosts": {
        "server": {"ansible_connection": "local", "wg_remedy_runs": [dict(FIREWALL_FIX, host="server")] if remediate else []},
        "client": {"ansible_connection": "local"}}}}}}
    path = tmp_path / "inventory.json"
    path.write_text(json.dumps(inventory))
    reports = {"before": host_firewall_pass()}
    if remediate:
        reports["after"] = healthy_pass()
    return str(path), reports
