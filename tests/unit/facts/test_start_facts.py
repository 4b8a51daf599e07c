"""Why `wg-quick up` fails: the `start` fact's readers on journals recorded in the lab (wg-quick@wg7 on a
wireguard-go host: DNS = without resolvconf, a UDP listener on the ListenPort, an Endpoint name retried
forever) and its gathering on a fake host."""
from __future__ import annotations

import json
import os
import shutil

import pytest

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.host import facts as host_facts
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.host import system as wg_system

from test_wg_facts_module import CONFIGS, FIXTURES, FakeModule, gather, read, server_outputs

KEY = "LmOC49ERWH20JwAk2V728zGNaWK3VFdEEGbro1QkTEA="


def test_dns_lines_are_the_nameserver_entries_of_the_interface_section_read_like_wg_quick():
    text = ("[Interface]\nPrivateKey = %s\n  dns = 10.99.0.53, example.test # resolver\nDNS = corp.example.test\n"
            "DNS =\n#DNS = 10.0.0.1\n[Peer]\nDNS = 10.0.0.2\n[interface]\nDns=fd00::53\n" % KEY)
    assert wg_system.dns_lines(text) == [{"line": 3, "text": "dns = 10.99.0.53, example.test"},
                                         {"line": 10, "text": "Dns=fd00::53"}]


def test_a_config_without_dns_has_no_dns_line():
    assert wg_system.dns_lines(read(CONFIGS, "healthy_server.conf")) == []


def test_the_journal_keeps_wg_quicks_last_start_without_the_daemons_debug_log():
    lines = wg_system.parse_journal(read(FIXTURES, "journal_wg7_resolvconf_missing.txt"), "wg7")
    assert len(lines) == 16 and "Starting wg-quick@wg7.service" in lines[0]
    assert not any("DEBUG: (wg7)" in line or "\u2502" in line for line in lines)
    assert "[#] resolvconf -a wg7 -m 0 -x" in " ".join(lines)
    assert lines[-1].endswith("Failed to start wg-quick@wg7.service - WireGuard via wg-quick(8) for wg7.")
    assert any(line.endswith("resolvconf: command not found") for line in lines)


def test_the_journal_of_two_starts_keeps_only_the_last():
    lines = wg_system.parse_journal(read(FIXTURES, "journal_wg7_port_in_use.txt"), "wg7")
    assert "Starting wg-quick@wg7.service" in lines[0]
    assert "resolvconf" not in " ".join(lines)
    assert any(line.endswith("Unable to modify interface: Address already in use") for line in lines)


def test_a_start_that_never_ends_shows_what_it_retries():
    lines = wg_system.parse_journal(read(FIXTURES, "journal_wg7_endpoint_retrying.txt"), "wg7")
    assert "Temporary failure in name resolution: `nosuchhost.wgdoctor.test:51907'" in lines[-1]


def test_the_outcome_of_the_last_start_is_read_from_systemds_lines():
    assert wg_system.journal_outcome(read(FIXTURES, "journal_wg7_resolvconf_missing.txt"), "wg7") == "failed"
    assert wg_system.journal_outcome(read(FIXTURES, "journal_wg7_port_in_use.txt"), "wg7") == "failed"
    assert wg_system.journal_outcome(read(FIXTURES, "journal_wg7_endpoint_retrying.txt"), "wg7") == "starting"
    assert wg_system.journal_outcome("-- No entries --\n", "wg7") is None
    assert wg_system.journal_outcome(read(FIXTURES, "journal_wg7_port_in_use.txt"), "wg70") is None


def test_a_unit_stopped_after_a_good_start_is_started_although_systemd_calls_it_failed():
    text = read(FIXTURES, "journal_wg0_stopped_after_start.txt")
    assert "Failed with result 'timeout'" in text
    assert wg_system.journal_outcome(text, "wg0") == "started"


def test_systemd_before_250_names_the_description_not_the_unit():
    text = ("Nov 29 server systemd[1]: Starting WireGuard via wg-quick(8) for wg0...\n"
            "Nov 29 server wg-quick[1]: [#] false\n"
            "Nov 29 server systemd[1]: Failed to start WireGuard via wg-quick(8) for wg0.\n")
    assert wg_system.journal_outcome(text, "wg0") == "failed"
    assert wg_system.journal_outcome(text, "wg") is None
    assert wg_system.parse_journal("old line\n" + text, "wg0")[0].endswith("Starting WireGuard via wg-quick(8) for wg0...")


def test_key_shaped_text_in_a_journal_is_redacted():
    text = "Nov 29 07:58:43 server systemd[1]: Starting wg-quick@wg7.service\nNov 29 server wg-quick[1]: echo %s\n" % KEY
    lines = wg_system.parse_journal(text, "wg7", limit=5)
    assert lines[-1] == "Nov 29 server wg-quick[1]: echo (key redacted)"
    assert wg_system.parse_journal("-- No entries --\n", "wg7") == []


def test_port_holders_name_the_process_and_the_interface_a_wireguard_daemon_serves():
    sockets = wg_system.parse_ss_udp(
        "UNCONN 0 0 0.0.0.0:51907 0.0.0.0:* users:((\"python3\",pid=170,fd=3))\n"
        "UNCONN 0 0 [::]:51907 [::]:* users:((\"wireguard-go\",pid=17,fd=17))\n"
        "UNCONN 0 0 0.0.0.0:51820 0.0.0.0:*\n")
    argv = {170: ["python3", "-c", "..."], 17: ["/usr/bin/wireguard-go", "-f", "wg3"]}
    assert wg_system.port_holders(sockets, 51907, argv.get) == [
        {"address": "0.0.0.0", "process": "python3", "pid": 170, "wireguard_interface": None},
        {"address": "::", "process": "wireguard-go", "pid": 17, "wireguard_interface": "wg3"}]
    assert wg_system.port_holders(sockets, None, argv.get) == []
    assert wg_system.port_holders(sockets, 51820, argv.get) == [
        {"address": "0.0.0.0", "process": None, "pid": None, "wireguard_interface": None}]


def test_dry_run_keeps_stderr_only_and_redacts():
    assert wg_system.dry_run_lines("Warning: `/etc/wireguard/wg7.conf' is world accessible\n\n%s\n" % KEY) == [
        "Warning: `/etc/wireguard/wg7.conf' is world accessible", "(key redacted)"]


# ---------------------------------------------------------------- gathering

@pytest.fixture
def host(tmp_path, monkeypatch):
    """A host whose wgF0 is not running: its config in a directory of its own, no kernel module, no daemon."""
    config_dir = tmp_path / "wireguard"
    config_dir.mkdir()
    shutil.copy(os.path.join(CONFIGS, "healthy_server.conf"), str(config_dir / "wgF0.conf"))
    monkeypatch.setattr(host_facts, "RUN_DIR", str(tmp_path / "run"))
    monkeypatch.setattr(host_facts, "kernel_module_present", lambda: False)
    monkeypatch.setattr(host_facts, "systemd_running", lambda: False)
    return {"config_dir": str(config_dir)}


def stopped_host(host, dns=True):
    path = os.path.join(host["config_dir"], "wgF0.conf")
    text = read(CONFIGS, "healthy_server.conf")
    if dns:
        text = text.replace("[Interface]\n", "[Interface]\nDNS = 10.99.31.53\n", 1)
    with open(path, "w") as handle:
        handle.write(text)
    outputs = server_outputs("stopped_client.dump")
    outputs["ss -H -uanp"] = (0, "UNCONN 0 0 0.0.0.0:51831 0.0.0.0:* users:((\"python3\",pid=170,fd=3))\n", "")
    return outputs


def test_a_stopped_interface_gets_the_start_fact_with_the_dry_run_without_systemd(host, monkeypatch):
    outputs = stopped_host(host)
    path = os.path.join(host["config_dir"], "wgF0.conf")
    outputs["wg-quick strip %s" % path] = (0, "[Interface]\nPrivateKey = %s\n" % KEY, "")
    monkeypatch.setattr(host_facts.os, "geteuid", lambda: 0)
    monkeypatch.setattr(host_facts, "process_argv", lambda pid: ["python3", "-m", "listener"])
    facts = gather(FakeModule(host, outputs))
    start = facts["interfaces"]["wgF0"]["start"]
    assert start["dns_lines"] == [{"line": 3, "text": "DNS = 10.99.31.53"}]
    assert start["resolvconf"] is None and start["resolvectl"] is None
    assert start["port_holders"] == [{"address": "0.0.0.0", "process": "python3", "pid": 170, "wireguard_interface": None}]
    assert start["log"] == {"source": "wg-quick strip %s" % path, "rc": 0, "outcome": None, "lines": []}
    assert KEY not in json.dumps(facts)


def test_with_systemd_the_start_fact_reads_the_units_journal(host, monkeypatch):
    outputs = stopped_host(host, dns=False)
    outputs["systemctl show wg-quick@wgF0 -p ActiveState -p UnitFileState"] = (0, "ActiveState=failed\nUnitFileState=enabled\n", "")
    outputs["journalctl -u wg-quick@wgF0 -n 200 --no-pager"] = (
        0, read(FIXTURES, "journal_wg7_port_in_use.txt").replace("wg7", "wgF0"), "")
    monkeypatch.setattr(host_facts, "systemd_running", lambda: True)
    facts = gather(FakeModule(host, outputs, tools=("wg", "wg-quick", "wireguard-go", "ip", "ss", "sysctl", "systemctl",
                                                    "journalctl", "resolvectl")))
    start = facts["interfaces"]["wgF0"]["start"]
    assert start["dns_lines"] == [] and start["resolvectl"] == "/usr/bin/resolvectl"
    assert start["log"]["source"] == "journalctl -u wg-quick@wgF0 -n 200 --no-pager"
    assert any("Address already in use" in line for line in start["log"]["lines"])
    assert start["log"]["outcome"] == "failed"


def test_without_root_the_dry_run_is_not_attempted(host, monkeypatch):
    monkeypatch.setattr(host_facts.os, "geteuid", lambda: 1000)
    module = FakeModule(host, stopped_host(host))
    assert gather(module)["interfaces"]["wgF0"]["start"]["log"] is None
    assert not any(command.startswith("wg-quick") for command in module.commands)


def test_a_running_interface_has_no_start_fact(host):
    assert gather(FakeModule(host, server_outputs()))["interfaces"]["wgF0"]["start"] is None


def test_an_interface_without_a_file_has_no_start_fact(host):
    facts = gather(FakeModule(dict(host, interfaces=["wg9"]), server_outputs()))
    assert facts["interfaces"]["wg9"]["start"] is None


def test_an_unreadable_socket_table_leaves_the_holders_unknown(host, monkeypatch):
    outputs = stopped_host(host)
    outputs["ss -H -uanp"] = (1, "", "")
    monkeypatch.setattr(host_facts.os, "geteuid", lambda: 1000)
    assert gather(FakeModule(host, outputs))["interfaces"]["wgF0"]["start"]["port_holders"] is None
