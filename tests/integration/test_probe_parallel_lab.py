"""Many probes at once on the lab (issue 10): every capture covers every probe aimed at it, and an
end lost in the middle of the run stops nothing else.

On top of the baseline tunnel (client wg0 <-> server wg0), the server carries two more interfaces,
wgpar1 and wgpar2 (ports 42101 and 42102), each with two peers: the client's wg0 (which gets them as
two more peers) and client2's wgpar (one interface, two peers), both behind the NAT router.
diagnose.yml then plans five probes to one responder on three ports. The pass used to start one
fixed 5-second capture per probe, one after another, before the first probe: the later probes came
after their capture had ended, `arrived: 0`, and a host firewall drop on the last port read as a drop
upstream (udp_blocked_upstream).

Few wireguard-go processes on purpose: each takes an inotify instance, and this machine's labs share
the host's 128.
"""
from __future__ import annotations

import json
import os
import subprocess
import threading

import pytest

from conftest import DIAGNOSE, PREFIX, lab_env

PORTS = {"wgpar1": 42101, "wgpar2": 42102}
DROPPED = "wgpar2"  # the host firewall on the server drops this interface's port
NFT_DROP = ("nft add table inet wgpar && "
            "nft add chain inet wgpar input '{ type filter hook input priority 0; policy accept; }' && "
            f"nft add rule inet wgpar input udp dport {PORTS[DROPPED]} drop")


def _keypair(lab, host: str) -> dict:
    private = lab.sh(host, "wg genkey").stdout.strip()
    return {"private": private, "public": lab.sh(host, f"echo {private} | wg pubkey").stdout.strip()}


def _write(lab, host: str, path: str, text: str, append: bool = False) -> None:
    lab.sh(host, f"umask 077 && cat {'>>' if append else '>'} {path} <<'EOF'\n{text}EOF")


def _peers_without_allowed_ips(lab, host: str) -> list:
    dump = lab.sh(host, "wg show all dump").stdout.splitlines()
    # Peer lines have 9 fields; allowed IPs, the 5th, is "(none)" only for the probe peer.
    return [line.split("\t")[1] for line in dump if len(line.split("\t")) == 9 and line.split("\t")[4] == "(none)"]


@pytest.fixture(scope="module")
def busy_server(lab):
    """The server with two more interfaces of two peers each; the last one's port dropped by nftables."""
    server = {name: _keypair(lab, "server") for name in PORTS}
    client = lab.sh("client", "wg show wg0 private-key").stdout.strip()
    client_public = lab.sh("client", f"echo {client} | wg pubkey").stdout.strip()
    client2 = _keypair(lab, "client2")
    address = lab.vars["lab_server_address"]
    client_peers, client2_conf = "", ["[Interface]", "Address = 10.88.0.3/24", f"PrivateKey = {client2['private']}"]
    for index, (name, port) in enumerate(PORTS.items(), start=1):
        # Table = off: both interfaces route the same client addresses; the probes need no routes.
        _write(lab, "server", f"/etc/wireguard/{name}.conf", "\n".join([
            "[Interface]", f"Address = 10.88.{index}.1/24", f"ListenPort = {port}", f"PrivateKey = {server[name]['private']}",
            "Table = off", "", "[Peer]", f"PublicKey = {client_public}", "AllowedIPs = 10.99.0.2/32",
            "", "[Peer]", f"PublicKey = {client2['public']}", "AllowedIPs = 10.88.0.3/32"]) + "\n")
        peer = ["", "[Peer]", f"PublicKey = {server[name]['public']}", f"Endpoint = {address}:{port}",
                f"AllowedIPs = 10.88.{index}.1/32"]
        client_peers += "\n".join(peer) + "\n"
        client2_conf += peer
    lab.sh("server", NFT_DROP)
    for name in PORTS:
        lab.sh("server", f"systemctl start wg-quick@{name}")
    _write(lab, "client", "/etc/wireguard/wg0.conf", client_peers, append=True)
    lab.sh("client", "systemctl restart wg-quick@wg0")
    _write(lab, "client2", "/etc/wireguard/wgpar.conf", "\n".join(client2_conf) + "\n")
    lab.sh("client2", "systemctl start wg-quick@wgpar")
    lab.wait_for_handshake()
    try:
        yield lab
    finally:
        lab.sh("server", "nft delete table inet wgpar", check=False)
        for name in PORTS:
            lab.sh("server", f"systemctl stop wg-quick@{name}; rm -f /etc/wireguard/{name}.conf", check=False)
        lab.sh("client2", "systemctl stop wg-quick@wgpar; rm -f /etc/wireguard/wgpar.conf", check=False)
        lab.back_to_healthy()


def _probes_to_server(report: dict) -> list:
    return [p for p in report["before"]["probes"] if p["responder"] == "server" and p["vantage"] != "controller"]


def test_every_probe_to_a_busy_responder_is_covered_by_its_capture(busy_server, tmp_path):
    report = busy_server.diagnose(tmp_path)
    probes = _probes_to_server(report)
    assert sorted((p["initiator"], p["target"]["port"]) for p in probes) == [
        ("client", 42101), ("client", 42102), ("client", 51820), ("client2", 42101), ("client2", 42102)], probes
    # Every probe reached the server (the drop is on the server itself): every capture must have seen it.
    assert [(p["initiator"], p["target"]["port"], p["arrived"]) for p in probes if not p["arrived"]] == []
    assert {p["outcome"] for p in probes if p["target"]["port"] == PORTS[DROPPED]} == {"timeout"}
    assert {p["outcome"] for p in probes if p["target"]["port"] != PORTS[DROPPED]} == {"ok"}
    findings = [(f["code"], f["host"]) for f in report["before"]["findings"]]
    assert ("udp_blocked_host_firewall", "server") in findings, findings
    assert not [f for f in findings if f[0] == "udp_blocked_upstream"], findings
    assert _peers_without_allowed_ips(busy_server, "server") == []
    assert not busy_server.sh("server", "ls -d /run/wgdoctor-probe-* 2>/dev/null", check=False).stdout.strip()


def test_an_end_lost_mid_run_stops_nothing_else_and_leaves_no_probe_peer(busy_server, tmp_path):
    """client2 dies once the facts are in, as the per-end play starts: its probes are error records,
    the client's are judged as usual, the server is left without the probe peer, the report is written."""
    report_dir = os.path.join(str(tmp_path), "wg-report")
    process = subprocess.Popen(["ansible-playbook", "-i", busy_server.inventory, DIAGNOSE, "-e", f"wg_report_dir={report_dir}"],
                               env=lab_env(), cwd=str(tmp_path), text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = []
    stopped = threading.Event()
    assert process.stdout is not None
    try:
        for line in process.stdout:
            output.append(line)
            if "TASK [Take this end's share of the plan]" in line and not stopped.is_set():
                subprocess.run(["podman", "stop", "-t", "0", f"{PREFIX}-client2"], env=lab_env(), check=True, capture_output=True)
                stopped.set()
        process.wait(timeout=600)
        text = "".join(output)
        assert stopped.is_set(), text[-3000:]
        assert "Traceback" not in text, text[-3000:]
        with open(os.path.join(report_dir, "report.json"), encoding="utf-8") as handle:
            report = json.load(handle)
        probes = _probes_to_server(report)
        lost = [p for p in probes if p["initiator"] == "client2"]
        assert len(lost) == 2 and {p["outcome"] for p in lost} == {"error"} and all(p["error"] for p in lost), lost
        judged = [p for p in probes if p["initiator"] == "client"]
        assert len(judged) == 3 and all(p["arrived"] for p in judged), judged
        assert {p["outcome"] for p in judged if p["target"]["port"] != PORTS[DROPPED]} == {"ok"}
        assert ("udp_blocked_host_firewall", "server") in [(f["code"], f["host"]) for f in report["before"]["findings"]]
        assert _peers_without_allowed_ips(busy_server, "server") == []
    finally:
        if process.poll() is None:
            process.kill()
        busy_server.lab("restart", "client2")
