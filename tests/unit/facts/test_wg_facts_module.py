"""wg_facts' gathering (module_utils/host/facts.py) end to end on recorded outputs: a fake module answers
run_command from the fixtures."""
from __future__ import annotations

import json
import os
import shutil
import socket
import time

import pytest

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.host import facts as host_facts
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.host import resolve
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.host import runner as host_runner
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard.config import parse_config
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard.derive import public_key_from_private
from ansible_collections.wgdoctor.wireguard.plugins.modules import wg_facts
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils import firewall_facts
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.firewall_facts import attach_firewall

HERE = os.path.dirname(__file__)
FIXTURES = os.path.join(HERE, "fixtures")
DUMPS = os.path.join(HERE, "..", "dump", "fixtures")
CONFIGS = os.path.join(HERE, "..", "config", "fixtures")
CLIENT_PUB = "WW2tzky9Mlq3Db+kEnbbRYtKQ2BSL4wzDLJ/T+B2rSw="
ALL_TOOLS = ("wg", "wg-quick", "wireguard-go", "ip", "ss", "sysctl")


def read(directory: str, name: str) -> str:
    with open(os.path.join(directory, name)) as handle:
        return handle.read()


def secrets() -> list:
    return [line for line in read(FIXTURES, "secrets.txt").splitlines() if line]


def server_outputs(dump: str = "healthy_server.dump", addr: str = "ip_addr_server.json") -> dict:
    return {
        "wg show all dump": (0, read(DUMPS, dump), ""),
        "wg --version": (0, read(FIXTURES, "wg_version.txt"), ""),
        "wireguard-go --version": (0, "wireguard-go v0.0.20220316\n\nUserspace WireGuard daemon for linux-amd64.\n", ""),
        "ip -j addr show": (0, read(FIXTURES, addr), ""),
        "ip -j -4 route show table all": (0, read(FIXTURES, "ip_route_all_server.json"), ""),
        "ip -j -6 route show table all": (0, "[]\n", ""),
        "ss -H -uanp": (0, read(FIXTURES, "ss_uanp_server.txt"), ""),
        "sysctl net.ipv4.ip_forward net.ipv6.conf.all.forwarding": (0, read(FIXTURES, "sysctl_forwarding.txt"), ""),
    }


def gather(module: "FakeModule") -> dict:
    """What wg_facts' main() and its action plugin do together: the gathering on the host with the module's
    parameters, then the firewall verdicts on the controller from `firewall_input` as it crossed the wire (JSON)."""
    params = module.params
    facts, firewall_input = host_facts.gather(module, params["config_dir"], params["interfaces"], params["resolve_endpoints"],
                                              params["resolve_timeout"])
    return attach_firewall(facts, json.loads(json.dumps(firewall_input)))


class FakeModule:
    """Just what wg_facts touches of AnsibleModule: params, get_bin_path, run_command."""

    check_mode = True

    def __init__(self, params: dict, outputs: dict, tools=ALL_TOOLS) -> None:
        self.params = dict({"interfaces": None, "resolve_endpoints": False, "resolve_timeout": 1.0}, **params)
        self.outputs = outputs
        self.tools = tools
        self.commands = []

    def get_bin_path(self, name):
        return "/usr/bin/" + name if name in self.tools else None

    def run_command(self, argv, data=None, environ_update=None):
        command = " ".join([os.path.basename(argv[0])] + list(argv[1:]))
        self.commands.append(command)
        if command == "wg pubkey" and "wg" in self.tools:
            # wg-tools' own answer, reproduced: the derivation is wg's, the module only asks.
            return 0, public_key_from_private(data.strip()) + "\n", ""
        return self.outputs.get(command, (127, "", "%s: not recorded" % command))


class FakeFirewall:
    FIREWALL_COMMANDS = {"nft": ["nft", "-j", "list", "ruleset"]}

    def __init__(self) -> None:
        self.calls = []

    def firewall_facts(self, outputs, listen_ports, wg_interfaces, uplinks, tunnel_sources=None):
        self.calls.append((outputs, listen_ports, wg_interfaces, uplinks))
        self.tunnel_sources = tunnel_sources
        verdict = {"verdict": "drop", "backend": "nftables", "table": "inet filter", "chain": "input",
                   "rule": "udp dport 51831 drop", "counter": 6}
        return {"backends": ["nftables"], "forward": {"policy": "accept", "backend": "nftables", "rule": None},
                "masquerade": [], "errors": ["nft: a rule we could not read"],
                "interfaces": {name: {"input": verdict, "forward": None} for name in wg_interfaces}}


@pytest.fixture
def host(tmp_path, monkeypatch):
    """A server host: /etc/wireguard/wgF0.conf, wireguard-go running wgF0, no systemd, no kernel module."""
    config_dir = tmp_path / "wireguard"
    config_dir.mkdir()
    shutil.copy(os.path.join(CONFIGS, "healthy_server.conf"), str(config_dir / "wgF0.conf"))
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "wgF0.sock").write_text("")
    monkeypatch.setattr(host_facts, "RUN_DIR", str(run_dir))
    monkeypatch.setattr(host_facts, "userspace_processes", lambda: [["wireguard-go", "wgF0"]])
    monkeypatch.setattr(host_facts, "kernel_module_present", lambda: False)
    monkeypatch.setattr(host_facts, "systemd_running", lambda: False)
    return {"config_dir": str(config_dir)}


def test_healthy_server_facts_tell_the_whole_story(host):
    facts = gather(FakeModule(host, server_outputs()))
    assert facts["schema"] == 1
    assert facts["implementation"] == "wireguard-go"
    assert facts["tools"] == {"wg": "v1.0.20210914", "wg_quick": True, "wireguard_go": "0.0.20220316"}
    assert facts["forwarding"] == {"ipv4": True, "ipv6": False}
    assert facts["clock"]["ntp_synchronized"] is None and abs(facts["clock"]["epoch"] - time.time()) < 60
    wg = facts["interfaces"]["wgF0"]
    assert wg["config"]["exists"] and wg["config"]["parse_errors"] == []
    assert wg["runtime"]["up"] is True
    assert wg["runtime"]["public_key"] == wg["config"]["public_key"]
    assert wg["drift"] == []
    assert wg["listening"] == {"port": 51831, "bound": True}
    assert wg["routes"] == {"10.99.31.2/32": {"dev": "wgF0", "via": None, "table": "main"}}
    assert wg["unit"] is None
    assert {"interface": "wgF0", "address": "10.99.31.1", "prefixlen": 24, "family": 4, "dynamic": False} in facts["addresses"]
    assert wg["reresolve"] is None


def fake_reach(monkeypatch, firewall) -> None:
    """The readers answered by a fake: the runner runs its FIREWALL_COMMANDS, the controller asks it the question."""
    monkeypatch.setattr(firewall_facts, "reach", firewall)
    monkeypatch.setattr(host_runner, "FIREWALL_COMMANDS", firewall.FIREWALL_COMMANDS)


def test_firewall_drop_reaches_the_interface_and_its_errors_the_error_list(host, monkeypatch):
    firewall = FakeFirewall()
    fake_reach(monkeypatch, firewall)
    outputs = server_outputs()
    outputs["nft -j list ruleset"] = (0, '{"nftables": []}', "")
    facts = gather(FakeModule(host, outputs, ALL_TOOLS + ("nft",)))
    [(fw_outputs, listen_ports, names, uplinks)] = firewall.calls
    assert fw_outputs == {"nft": [0, '{"nftables": []}', ""]}
    assert listen_ports == {"wgF0": 51831} and names == ["wgF0"] and uplinks == []
    assert facts["interfaces"]["wgF0"]["firewall"]["input"]["verdict"] == "drop"
    assert facts["firewall"] == {"backends": ["nftables"], "masquerade": [],
                                 "forward": {"policy": "accept", "backend": "nftables", "rule": None}}
    assert "firewall: nft: a rule we could not read" in facts["errors"]


def test_absent_firewall_commands_are_passed_as_none(host, monkeypatch):
    firewall = FakeFirewall()
    fake_reach(monkeypatch, firewall)
    gather(FakeModule(host, server_outputs()))
    assert firewall.calls[0][0] == {"nft": None}


def test_no_private_or_preshared_key_in_the_module_result(host, monkeypatch):
    fake_reach(monkeypatch, FakeFirewall())
    for dump in ("healthy_server.dump", "many_peers_server.dump", "link_down_server.dump"):
        out = json.dumps(gather(FakeModule(host, server_outputs(dump))))
        for secret in secrets():
            assert secret not in out


def test_link_down_is_reported_although_wireguard_go_still_answers(host):
    facts = gather(FakeModule(host, server_outputs("link_down_server.dump", "ip_addr_link_down_server.json")))
    wg = facts["interfaces"]["wgF0"]
    assert wg["runtime"]["up"] is False
    assert wg["listening"]["bound"] is True


def test_peers_added_live_but_not_in_the_file_are_drift(host):
    facts = gather(FakeModule(host, server_outputs("many_peers_server.dump")))
    drift = facts["interfaces"]["wgF0"]["drift"]
    assert len(drift) == 1000
    assert all(entry["field"] == "peer" and entry["config"] == "absent" for entry in drift)
    assert CLIENT_PUB not in {entry["peer"] for entry in drift}


def test_stopped_interface_has_a_config_and_no_runtime(host):
    outputs = server_outputs("stopped_client.dump")
    outputs["ss -H -uanp"] = (0, read(FIXTURES, "ss_uanp_client_stopped.txt"), "")
    facts = gather(FakeModule(host, outputs))
    wg = facts["interfaces"]["wgF0"]
    assert wg["runtime"] is None and wg["drift"] == []
    assert wg["listening"] == {"port": 51831, "bound": False}


def test_host_without_wireguard_succeeds_and_says_none(host, tmp_path):
    params = dict(host, config_dir=str(tmp_path / "absent"))
    outputs = {key: value for key, value in server_outputs().items() if not key.startswith("w")}
    facts = gather(FakeModule(params, outputs, tools=("ip", "ss", "sysctl")))
    assert facts["implementation"] == "none"
    assert facts["tools"] == {"wg": None, "wg_quick": False, "wireguard_go": None}
    assert facts["interfaces"] == {}


def test_every_failing_command_becomes_an_error_entry(host):
    outputs = server_outputs()
    outputs["wg show all dump"] = (1, "", "Unable to access interface: Operation not permitted\n")
    outputs["ip -j addr show"] = (0, "garbage", "")
    outputs["ss -H -uanp"] = (1, "", "")
    facts = gather(FakeModule(host, outputs))
    assert "wg show all dump: command failed (rc 1): Unable to access interface: Operation not permitted" in facts["errors"]
    assert "ip -j addr show: ip -j addr show: output is not JSON" in facts["errors"]
    assert "ss -H -uanp: command failed (rc 1): no output" in facts["errors"]
    wg = facts["interfaces"]["wgF0"]
    assert wg["runtime"] is None and wg["listening"]["bound"] is None


def test_garbage_dump_names_the_line_and_not_the_content(host):
    outputs = server_outputs()
    outputs["wg show all dump"] = (0, read(DUMPS, "healthy_server.dump") + "wgF0\t%s\n" % secrets()[2], "")
    facts = gather(FakeModule(host, outputs))
    assert "wg show all dump, line 3: expected 5 or 9 tab-separated fields, got 2" in facts["errors"]
    assert secrets()[2] not in json.dumps(facts)


def test_invalid_config_is_reported_with_file_and_line(host):
    shutil.copy(os.path.join(CONFIGS, "errors_server.conf"), os.path.join(host["config_dir"], "wgF0.conf"))
    facts = gather(FakeModule(host, server_outputs()))
    errors = facts["interfaces"]["wgF0"]["config"]["parse_errors"]
    assert [(os.path.basename(error["file"]), error["line"]) for error in errors] == [
        ("wgF0.conf", 4), ("wgF0.conf", 11), ("wgF0.conf", 12)]


def test_requested_interface_without_a_file_or_runtime(host):
    facts = gather(FakeModule(dict(host, interfaces=["wg9"]), server_outputs()))
    assert list(facts["interfaces"]) == ["wg9"]
    wg9 = facts["interfaces"]["wg9"]
    assert wg9["config"]["exists"] is False and wg9["runtime"] is None


def test_hostname_endpoints_are_resolved_and_dns_failure_is_not_a_failure(monkeypatch):
    answers = {"vpn.example.test": ["198.51.100.10"]}

    def fake_resolve(host, port):
        if host == "slow.example.test":
            time.sleep(2)
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return answers[host]

    monkeypatch.setattr(resolve, "resolve_name", fake_resolve)
    config = parse_config(
        "[Peer]\nPublicKey = %s\nEndpoint = vpn.example.test:51820\n"
        "[Peer]\nPublicKey = 1ZgvesEc2l9Ri5pLlv1teiXRCdBRh5/1Zw5bE1bsxHM=\nEndpoint = gone.example.test:51820\n"
        "[Peer]\nPublicKey = AwiSblqzEwyizDT/gwjNvOuRbKecp1qT2+/a5eyMRg4=\nEndpoint = slow.example.test:51820\n"
        "[Peer]\nPublicKey = aOsbIOed6pNEAdTzgqkM3K+n6eOLPY6GHjvathviwUg=\nEndpoint = 192.0.2.7:51820\n" % CLIENT_PUB)
    started = time.time()
    host_facts.resolve_endpoints([config], timeout=0.5)
    assert time.time() - started < 1.5
    endpoints = [peer["endpoint"] for peer in config["peers"]]
    assert (endpoints[0]["resolved"], endpoints[0]["resolve_error"]) == (["198.51.100.10"], None)
    assert (endpoints[1]["resolved"], endpoints[1]["resolve_error"]) == (None, "Name or service not known")
    assert endpoints[2]["resolved"] is None and "no answer within 0.5 s" == endpoints[2]["resolve_error"]
    assert endpoints[3]["resolved"] == ["192.0.2.7"]


# ---- the uplink: one home, the default routes, published as `uplinks`

FULL_TUNNEL_ROUTES_V4 = json.dumps([
    {"dst": "default", "gateway": "198.51.100.1", "dev": "eth0", "protocol": "dhcp", "flags": []},
    {"dst": "198.51.100.0/24", "dev": "eth0", "protocol": "kernel", "scope": "link", "flags": []},
    # wg-quick's full tunnel: the default route into wgF0 sits in table 51820 behind its fwmark rule.
    {"dst": "default", "dev": "wgF0", "table": "51820", "flags": []},
])
ROUTES_V6_INTO_THE_TUNNEL = json.dumps([{"dst": "default", "dev": "wgF0", "metric": 1024, "flags": []}])


def test_uplinks_are_the_default_routes_that_do_not_enter_the_tunnel(host, monkeypatch):
    firewall = FakeFirewall()
    fake_reach(monkeypatch, firewall)
    outputs = server_outputs()
    outputs["ip -j -4 route show table all"] = (0, FULL_TUNNEL_ROUTES_V4, "")
    outputs["ip -j -6 route show table all"] = (0, ROUTES_V6_INTO_THE_TUNNEL, "")
    facts = gather(FakeModule(host, outputs))
    assert facts["uplinks"] == [{"interface": "eth0", "family": 4, "via": "198.51.100.1"}]
    # The firewall readers are told the same uplink: one answer for both.
    assert firewall.calls[0][3] == ["eth0"]


def test_an_uplink_of_both_families_is_listed_per_family_and_named_once_for_the_firewall(host, monkeypatch):
    firewall = FakeFirewall()
    fake_reach(monkeypatch, firewall)
    outputs = server_outputs()
    outputs["ip -j -4 route show table all"] = (0, FULL_TUNNEL_ROUTES_V4, "")
    outputs["ip -j -6 route show table all"] = (0, json.dumps([{"dst": "default", "gateway": "fe80::1", "dev": "eth0",
                                                                "flags": []}]), "")
    facts = gather(FakeModule(host, outputs))
    assert facts["uplinks"] == [{"interface": "eth0", "family": 4, "via": "198.51.100.1"},
                                {"interface": "eth0", "family": 6, "via": "fe80::1"}]
    assert firewall.calls[0][3] == ["eth0"]


def test_without_a_default_route_there_is_no_uplink(host):
    assert gather(FakeModule(host, server_outputs()))["uplinks"] == []


# ---- the firewall reader and the module shell

def test_the_firewall_is_read_by_the_collections_reader_without_an_error(host):
    facts = gather(FakeModule(host, server_outputs()))
    assert facts["errors"] == []
    assert facts["firewall"] == {"backends": [], "forward": {"policy": "accept", "backend": None, "rule": None},
                                 "masquerade": []}
    assert facts["interfaces"]["wgF0"]["firewall"]["input"] is not None


def test_the_module_passes_its_options_to_the_gathering_and_returns_the_facts(monkeypatch, tmp_path):
    from ansible.module_utils.testing import patch_module_args

    calls = []

    def fake_gather(module, config_dir, interfaces, resolve_endpoints, resolve_timeout):
        calls.append((config_dir, interfaces, resolve_endpoints, resolve_timeout))
        return {"schema": 1}, {"outputs": {}}

    monkeypatch.setattr(host_facts, "gather", fake_gather)
    with patch_module_args({"interfaces": ["wgF0"], "config_dir": str(tmp_path), "resolve_timeout": 0.5}):
        with pytest.raises(SystemExit) as exited:
            wg_facts.main()
    assert exited.value.code == 0
    assert calls == [(str(tmp_path), ["wgF0"], True, 0.5)]


def test_the_module_refuses_a_name_that_cannot_be_an_interface(monkeypatch, capsys):
    from ansible.module_utils.testing import patch_module_args

    monkeypatch.setattr(host_facts, "gather", lambda *args: pytest.fail("gathered despite a bad name"))
    with patch_module_args({"interfaces": ["wg0; rm -rf /"]}):
        with pytest.raises(SystemExit) as exited:
            wg_facts.main()
    assert exited.value.code == 1
    assert "not a WireGuard interface name" in capsys.readouterr().out


def test_the_config_public_key_is_derived_by_wg_pubkey_on_the_host_not_by_python(host):
    module = FakeModule(host, server_outputs())
    facts = gather(module)
    assert "wg pubkey" in module.commands
    assert facts["interfaces"]["wgF0"]["config"]["public_key"] == facts["interfaces"]["wgF0"]["runtime"]["public_key"]


def test_without_wg_the_config_public_key_is_unknown_not_computed(host):
    tools = [tool for tool in ALL_TOOLS if tool != "wg"]
    facts = gather(FakeModule(host, server_outputs(), tools=tools))
    config = facts["interfaces"]["wgF0"]["config"]
    assert config["has_private_key"] is True and config["public_key"] is None


def test_forwarded_traffic_is_judged_from_the_tunnels_own_subnet(host, monkeypatch):
    # The firewall role opens forwarding for the tunnel's subnet only: the reader must ask with such a source.
    firewall = FakeFirewall()
    fake_reach(monkeypatch, firewall)
    gather(FakeModule(host, server_outputs()))
    assert firewall.tunnel_sources == {"wgF0": "10.99.31.1"}
