"""wg_facts and wg_keypair_check on real lab hosts: the facts follow what was broken, and no key ever leaks.

Each test starts from the healthy tunnel, breaks one thing the way it breaks in real life,
runs the modules ad hoc (`ansible HOST -m wgdoctor.wireguard.MODULE -vvv`) as a user would,
and reads what they return. The healthy tunnel is restored after every test (Lab.back_to_healthy).
"""
from __future__ import annotations

import json
import re
import subprocess

import pytest

from conftest import lab_env
from faults import CONF, NFT_DROP, STRANGER_KEY

KEY_RE = re.compile(r"^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$")


def run_module(lab, host: str, module: str, args: dict | None = None, *extra: str) -> tuple[dict, str]:
    """(the module's result, everything ansible printed at -vvv on stdout and stderr)."""
    env = lab_env()
    env["ANSIBLE_CALLBACK_RESULT_FORMAT"] = "json"
    argv = ["ansible", "-i", lab.inventory, host, "-m", "wgdoctor.wireguard." + module, "-vvv", *extra]
    if args is not None:
        argv += ["-a", json.dumps(args)]
    proc = subprocess.run(argv, env=env, text=True, capture_output=True, check=False)
    output = proc.stdout + proc.stderr
    marker = re.search(r"^%s \| ([A-Z!]+) => " % re.escape(host), proc.stdout, re.M)
    assert marker, f"no result for {host} in:\n{output[-4000:]}"
    result, _end = json.JSONDecoder().raw_decode(proc.stdout[marker.end():])
    # The callback prints `HOST | FAILED! => {...}` and leaves `failed` out of the dict.
    result["failed"] = marker.group(1) == "FAILED!"
    return result, output


def facts(lab, host: str = "server", args: dict | None = None) -> dict:
    result, output = run_module(lab, host, "wg_facts", args)
    assert not result.get("failed"), output[-4000:]
    return result["ansible_facts"]["wireguard"]


def public_key(lab, host: str) -> str:
    return lab.sh(host, "wg pubkey < /etc/wireguard/wg0.key").stdout.strip()


# A changed file is applied live with `wg syncconf` (this test's own shortcut: wg_peer itself applies one
# peer with `wg set`); the fixture's restore restarts wg-quick afterwards, which in the lab takes a few
# seconds (the whole restore 1-5 s a test in lab slot 7).
SYNCCONF = "umask 077 && wg-quick strip wg0 > /run/wg0.strip && wg syncconf wg0 /run/wg0.strip; rc=$?; rm -f /run/wg0.strip; exit $rc"


def apply_config(lab, *hosts: str) -> None:
    for host in hosts:
        lab.sh(host, SYNCCONF)


@pytest.fixture
def healthy(lab):
    """The healthy tunnel, restored after the test whatever the test did.

    The tests change only wg0.conf and the running interface (a firewall rule is removed by the test's own
    `finally`, no key file is touched): the saved healthy configs and a restart put that back in about a
    second; back_to_healthy redeploys the baseline only when the handshake does not come back."""
    lab.wait_for_handshake()
    yield lab
    lab.back_to_healthy()


# ---------------------------------------------------------------- the healthy tunnel

def test_healthy_server_facts_show_the_running_tunnel_with_no_problem(healthy):
    wireguard = facts(healthy)
    wg0 = wireguard["interfaces"]["wg0"]
    assert wireguard["implementation"] == "wireguard-go" and wireguard["errors"] == []
    assert wg0["config"]["parse_errors"] == [] and wg0["drift"] == []
    assert wg0["runtime"]["public_key"] == wg0["config"]["public_key"] == public_key(healthy, "server")
    assert wg0["runtime"]["listen_port"] == 51820 and wg0["listening"] == {"port": 51820, "bound": True}
    assert wg0["unit"]["active"] == "active" and wg0["unit"]["enabled"] is True
    assert wg0["firewall"]["input"]["verdict"] == "accept"
    peer = wg0["runtime"]["peers"][0]
    assert peer["public_key"] == public_key(healthy, "client") and peer["latest_handshake"] is not None


def test_healthy_pairs_and_peers_check_out_on_both_ends(healthy):
    keys = {host: public_key(healthy, host) for host in ("server", "client")}
    for host, other in (("server", "client"), ("client", "server")):
        result, output = run_module(healthy, host, "wg_keypair_check",
                                    {"interface": "wg0", "public_key": keys[host], "expected_peers": {other: keys[other]}})
        assert not result.get("failed"), output[-3000:]
        assert result["match"] is True and result["derived_public_key"] == keys[host]
        assert result["private_key_source"] == "interface" and result["interface_running"] is True
        assert [o["name"] for o in result["peers"]["ok"]] == [other]
        assert result["peers"]["sources"] == ["config", "runtime"] and result["problems"] == []


# ---------------------------------------------------------------- broken, one thing at a time

def test_stopped_interface_has_no_runtime_and_an_inactive_unit(healthy):
    healthy.sh("server", "systemctl stop wg-quick@wg0")
    wg0 = facts(healthy)["interfaces"]["wg0"]
    assert wg0["runtime"] is None
    # "failed" when wireguard-go outlived `wg-quick down` and systemd had to kill it (seen in the lab).
    assert wg0["unit"]["active"] in ("inactive", "failed") and wg0["unit"]["enabled"] is True
    assert wg0["listening"]["bound"] is False
    assert wg0["config"]["exists"] is True and wg0["config"]["parse_errors"] == []


def test_invalid_config_is_reported_with_file_line_and_reason(healthy):
    healthy.sh("server", f"sed -i 's/^ListenPort = /ListenPrt = /' {CONF}")
    line = int(healthy.sh("server", f"grep -n '^ListenPrt' {CONF} | cut -d: -f1").stdout)
    wg0 = facts(healthy)["interfaces"]["wg0"]
    errors = wg0["config"]["parse_errors"]
    assert [(e["file"], e["line"]) for e in errors] == [(CONF, line)], errors
    assert "ListenPrt" in errors[0]["reason"]


def _input_verdict(lab) -> dict:
    wireguard = facts(lab)
    return wireguard, wireguard["interfaces"]["wg0"]["firewall"]["input"]


def test_nftables_drop_rule_is_named_as_the_verdict(healthy):
    healthy.sh("server", NFT_DROP)
    try:
        wireguard, verdict = _input_verdict(healthy)
    finally:
        healthy.sh("server", "nft delete table inet filter")
    assert "nftables" in wireguard["firewall"]["backends"]
    assert verdict["verdict"] == "drop" and verdict["backend"] == "nftables", verdict
    assert "udp dport 51820" in verdict["rule"] and "drop" in verdict["rule"]


def test_iptables_drop_rule_is_named_as_the_verdict(healthy):
    healthy.sh("server", "iptables -I INPUT -p udp --dport 51820 -j DROP")
    try:
        wireguard, verdict = _input_verdict(healthy)
    finally:
        healthy.sh("server", "iptables -D INPUT -p udp --dport 51820 -j DROP")
    assert verdict["verdict"] == "drop" and verdict["backend"].startswith("iptables"), verdict
    assert verdict["backend"] in wireguard["firewall"]["backends"]
    assert "--dport 51820" in verdict["rule"] and "DROP" in verdict["rule"]


def test_ufw_default_deny_without_the_port_drops_it(healthy):
    healthy.sh("server", "ufw allow 22/tcp >/dev/null && ufw default deny incoming >/dev/null && ufw --force enable")
    try:
        wireguard, verdict = _input_verdict(healthy)
    finally:
        healthy.sh("server", "ufw --force disable && ufw --force reset >/dev/null")
    assert "ufw" in wireguard["firewall"]["backends"]
    assert verdict["verdict"] in ("drop", "reject"), verdict
    assert verdict["backend"] == "ufw", verdict


def test_firewalld_without_the_port_rejects_it_in_the_uplink_zone_then_accepts_it_once_open(healthy):
    # The lab's eth0 is bound to no zone (no NetworkManager): the default zone public decides.
    healthy.sh("server", "systemctl start firewalld && firewall-cmd --state")
    try:
        wireguard, closed = _input_verdict(healthy)
        healthy.sh("server", "firewall-cmd --zone=public --add-port=51820/udp")
        dummy, opened = _input_verdict(healthy)
    finally:
        healthy.sh("server", "systemctl stop firewalld; systemctl disable firewalld 2>/dev/null; "
                             "nft list table inet firewalld >/dev/null 2>&1 && nft delete table inet firewalld; true")
    assert wireguard["firewall"]["backends"] == ["firewalld"], wireguard["firewall"]
    assert (closed["verdict"], closed["backend"], closed["table"]) == ("reject", "firewalld", "public"), closed
    assert closed["in_interface"] == "eth0" and closed["reject_with"] == "icmpx admin-prohibited", closed
    assert "interface eth0 is bound to no zone: the default zone public applies" in closed["evidence"], closed
    assert (opened["verdict"], opened["table"], opened["rule"]) == ("accept", "public", "port 51820/udp"), opened


def test_client_holding_a_stranger_key_for_the_server_is_reported_file_and_runtime(healthy):
    server_key = public_key(healthy, "server")
    healthy.sh("client", f"sed -i 's|^PublicKey = .*|PublicKey = {STRANGER_KEY}|' {CONF}")
    apply_config(healthy, "client")
    line = int(healthy.sh("client", f"grep -n '^PublicKey' {CONF} | cut -d: -f1").stdout)
    result, output = run_module(healthy, "client", "wg_keypair_check", {"interface": "wg0", "expected_peers": {"server": server_key}})
    assert not result.get("failed"), output[-3000:]
    peers = result["peers"]
    assert peers["ok"] == []
    assert peers["missing"] == [{"name": "server", "public_key": server_key, "missing_from": ["config", "runtime"]}]
    unknown = {u["source"]: u for u in peers["unknown"]}
    assert unknown["config"]["public_key"] == unknown["runtime"]["public_key"] == STRANGER_KEY
    assert unknown["config"]["instead_of"] == "server" and unknown["config"]["line"] < line
    assert any(STRANGER_KEY in problem and "wrong key for server" in problem for problem in result["problems"])

    strict = {"interface": "wg0", "expected_peers": {"server": server_key}, "fail_on_mismatch": True}
    failing, _output = run_module(healthy, "client", "wg_keypair_check", strict)
    assert failing.get("failed") is True and "wrong key for server" in failing["msg"]

    client_facts = facts(healthy, "client")["interfaces"]["wg0"]
    assert [p["public_key"] for p in client_facts["config"]["peers"]] == [STRANGER_KEY]


# ---------------------------------------------------------------- the one that matters: no key leaks

def _secrets(lab) -> dict:
    """Every private and preshared key the two ends hold, read on the hosts themselves."""
    found = {}
    for host in ("server", "client"):
        found[host + " private key"] = lab.sh(host, "cat /etc/wireguard/wg0.key").stdout.strip()
        found[host + " running private key"] = lab.sh(host, "wg show wg0 private-key").stdout.strip()
        for number, psk in enumerate(lab.sh(host, "wg show wg0 preshared-keys | cut -f2").stdout.split()):
            found["%s preshared key %d" % (host, number)] = psk
    return found


def _assert_no_secret(text: str, secrets: dict, what: str) -> None:
    for name, secret in secrets.items():
        # Halves too: a key split across a line wrap or partly masked still leaks.
        for piece in (secret, secret[:22], secret[22:43]):
            assert piece not in text, f"{name} (or part of it) appears in {what}"


def test_no_private_or_preshared_key_appears_in_results_or_vvv_output(healthy, tmp_path):
    psk = healthy.sh("server", "wg genpsk").stdout.strip()
    for host in ("server", "client"):
        healthy.sh(host, f"sed -i '/^PublicKey/a PresharedKey = {psk}' {CONF}")
    apply_config(healthy, "server", "client")
    secrets = _secrets(healthy)
    assert psk in secrets.values() and all(KEY_RE.match(value) for value in secrets.values()), sorted(secrets)

    keys = {host: public_key(healthy, host) for host in ("server", "client")}
    server_private = secrets["server private key"]
    extra_vars = tmp_path / "secret_vars.json"
    extra_vars.write_text(json.dumps({"wg_test_private_key": server_private}))
    runs = []
    for host, other in (("server", "client"), ("client", "server")):
        runs.append((host, "wg_facts", None, ()))
        runs.append((host, "wg_keypair_check", {"interface": "wg0", "public_key": keys[host],
                                                "expected_peers": {other: keys[other]}}, ()))
        runs.append((host, "wg_keypair_check", {"private_key_path": "/etc/wireguard/wg0.key",
                                                "public_key": keys[other], "fail_on_mismatch": True}, ()))
    # A private key handed in as an option, the way a provisioning playbook passes a vaulted one.
    runs.append(("server", "wg_keypair_check", {"private_key": "{{ wg_test_private_key }}", "public_key": keys["server"]},
                 ("-e", "@" + str(extra_vars))))
    runs.append(("server", "wg_keypair_check", {"private_key": "{{ wg_test_private_key }}", "public_key": keys["client"]},
                 ("-e", "@" + str(extra_vars))))
    # A failing task: Ansible prints the task's origin and arguments with the error.
    runs.append(("server", "wg_keypair_check", {"private_key": "{{ wg_test_private_key }}", "public_key": keys["client"],
                                                "fail_on_mismatch": True}, ("-e", "@" + str(extra_vars))))

    for host, module, args, extra in runs:
        result, output = run_module(healthy, host, module, args, *extra)
        what = f"{module} on {host} with {sorted(args or {})}"
        _assert_no_secret(json.dumps(result), secrets, what + " (result)")
        _assert_no_secret(output, secrets, what + " (-vvv output)")
        if module == "wg_facts":
            peer = result["ansible_facts"]["wireguard"]["interfaces"]["wg0"]["runtime"]["peers"][0]
            assert peer["has_preshared_key"] is True and len(peer["preshared_key_digest"]) == 16
        elif args.get("private_key") and args["public_key"] == keys["server"]:
            assert result["match"] is True, output[-3000:]
        elif "fail_on_mismatch" in args or args.get("private_key"):
            assert result["match"] is False and result["failed"] is (args.get("fail_on_mismatch") is True), output[-3000:]
