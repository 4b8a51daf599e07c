"""The fleet fault matrix: a hub and six spokes (tests/lab/fleet.py), broken and diagnosed.

Nothing here is wg0 or 51820: the hub runs `corpnet` on UDP 47111, the spokes `wg-corp` or
`branch`; one spoke is behind NAT, one reaches the hub by name, one has an IPv6 tunnel address
first, one is dialed by the hub (it is the responder of its tunnel). The hub also carries two
peers of no inventory host and one peer that exists only at runtime.

What every test asserts on report.json: a fault is named on the host it was put on and on no
other; a hub fault that cuts every spoke is one finding on the hub that names the spokes, and
the spokes' symptoms follow from it; every tunnel the fault does not touch is healthy (fresh
handshake, probe answered, pings both ways, no finding); no udp_blocked_upstream anywhere.
Each test gets a freshly built fleet (about 10 s): no test inherits another's leftovers.
"""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import typing as t

import pytest

from conftest import REPO, Lab, lab_env

sys.path.insert(0, os.path.join(REPO, "tests", "lab"))
import fleet  # noqa: E402  pylint: disable=wrong-import-position,wrong-import-order

SPOKES = 6
# A valid public key nobody in the fleet owns.
STRANGER_KEY = "YJxs/Xv1rk/q7NfjD0vQzHPvYQzHLYgqFoW6E2X0sFQ="
SYMPTOM_CODES = {"handshake_never", "handshake_stale", "tunnel_ping_fails"}
ABOVE_INFO = ("critical", "error", "warning")
WRONG_KEY_SPOKE = "spoke06"
FIREWALLED_SPOKE = fleet.DIALED_SPOKE


class Fleet(Lab):
    """The running fleet: Lab's playbook and diagnose, commands run inside one host's namespaces."""

    def __init__(self, inventory_path: str, spec: dict):
        super().__init__(inventory_path)
        self.spec = spec
        self.durations: dict[str, float] = {}

    def sh(self, host: str, script: str, check: bool = True) -> subprocess.CompletedProcess:
        proc = fleet.host_exec(host, script, check=False)
        if check and proc.returncode != 0:
            raise AssertionError(f"{host}: `{script}` failed ({proc.returncode}): {proc.stdout}{proc.stderr}")
        return proc

    def spokes(self) -> list[str]:
        return [spoke["name"] for spoke in self.spec["spokes"]]

    def interface(self, host: str) -> str:
        return self.inventory_data["all"]["children"]["wireguard"]["hosts"][host]["fleet_interface"]

    def public_key(self, host: str) -> str:
        return self.sh(host, f"wg show {self.interface(host)} public-key").stdout.strip()

    def config(self, host: str) -> str:
        return f"/etc/wireguard/{self.interface(host)}.conf"

    def forget_on_hub(self, spoke: str) -> None:
        """The hub drops its session with one spoke (as after the spoke's reboot) and takes the peer back
        from its file: that tunnel's handshake is `(none)` on both sides, the others keep theirs."""
        key = self.public_key(spoke)
        self.sh(fleet.HUB, f"wg set {fleet.HUB_INTERFACE} peer {key} remove && "
                           f"wg-quick strip {fleet.HUB_INTERFACE} | wg addconf {fleet.HUB_INTERFACE} /dev/stdin")

    def drop_port(self, host: str, port: int) -> None:
        """The host's nftables drops UDP to `port` (a table `filter` of its own, as a user's firewall would)."""
        self.sh(host, "nft add table inet filter && "
                      "nft add chain inet filter input '{ type filter hook input priority 0; policy accept; }' && "
                      f"nft add rule inet filter input udp dport {port} counter drop")

    def restart_all(self) -> None:
        for host in [fleet.HUB] + self.spokes():
            fleet.restart(host)

    def timed_diagnose(self, tmp_path, what: str) -> dict:
        started = time.monotonic()
        report = self.diagnose(tmp_path)
        self.durations[what] = time.monotonic() - started
        print(f"\n[fleet] diagnose.yml on hub + {len(self.spokes())} spokes, {what}: {self.durations[what]:.1f} s")
        return report

    def private_keys(self) -> dict[str, str]:
        """Each host's private key, by host (compared against outputs, never printed)."""
        return {host: self.sh(host, f"wg show {self.interface(host)} private-key").stdout.strip()
                for host in [fleet.HUB] + self.spokes()}

    def preshared_keys(self) -> dict[str, str]:
        """Every PresharedKey the running hosts hold, by host and peer (compared against outputs, never printed)."""
        found = {}
        for host in [fleet.HUB] + self.spokes():
            for line in self.sh(host, f"wg show {self.interface(host)} preshared-keys", check=False).stdout.splitlines():
                peer, _tab, key = line.partition("\t")
                if key and key != "(none)":
                    found[f"{host}'s PresharedKey for {peer[:8]}"] = key
        return found

    def preshared_key_digests(self, host: str) -> dict[str, str]:
        """sha256 of the PresharedKey `host` holds for each peer, by peer, computed on the host (no key leaves it)."""
        lines = self.sh(host, f"wg show {self.interface(host)} preshared-keys | while read -r peer key; do "
                              "printf '%s %s\\n' \"$peer\" \"$(printf %s \"$key\" | sha256sum | cut -d' ' -f1)\"; done").stdout
        return dict(line.split() for line in lines.splitlines() if line.strip())


@contextlib.contextmanager
def running_fleet(tmp_path_factory, spokes: int = SPOKES, tag: str = "fleet") -> t.Iterator[Fleet]:
    """A freshly built hub + `spokes` and its inventory, removed afterwards (kept with WGD_KEEP_LAB)."""
    os.environ.setdefault("CONTAINERS_CONF", lab_env()["CONTAINERS_CONF"])
    started = time.monotonic()
    spec = fleet.up(spokes)
    print(f"\n[{tag}] hub + {spokes} spokes up in {time.monotonic() - started:.1f} s")
    inventory = tmp_path_factory.mktemp("fleet") / "inventory.json"
    inventory.write_text(subprocess.run([sys.executable, fleet.__file__, "inventory"], env=lab_env(), check=True,
                                        capture_output=True, text=True).stdout)
    try:
        yield Fleet(str(inventory), spec)
    finally:
        if not os.environ.get("WGD_KEEP_LAB"):
            fleet.down(quiet=True)


@pytest.fixture
def fleet_lab(tmp_path_factory):
    """A freshly built fleet per test (building one takes seconds; a leftover fault could take minutes)."""
    with running_fleet(tmp_path_factory) as the_fleet:
        yield the_fleet


# ---------------------------------------------------------------- what the report must say
def _summary(findings: list[dict]) -> list[tuple]:
    return [(f["severity"], f["code"], f["host"]) for f in findings]


def _tunnel_of(section: dict, spoke: str) -> dict:
    tunnels = [t for t in section["tunnels"] if {t["a"]["host"], t["b"]["host"]} == {fleet.HUB, spoke}]
    assert len(tunnels) == 1, f"expected one hub <-> {spoke} tunnel, got {tunnels}"
    return tunnels[0]


def assert_spoke_healthy(the_fleet: Fleet, section: dict, spoke: str) -> None:
    """The spoke's tunnel is up by every measure the report has, and nothing is said about it."""
    tunnel = _tunnel_of(section, spoke)
    assert tunnel["handshake_fresh"], f"{spoke}: handshake not fresh: {tunnel}"
    probes = [p for p in section["probes"] if spoke in (p["initiator"], p["responder"])]
    assert probes and all(p["outcome"] == "ok" for p in probes), f"{spoke}: probes {probes}"
    pings = [p for p in section["pings"] if spoke in (p["from"], p["to"])]
    assert len(pings) == 2 and all(p["ok"] for p in pings), f"{spoke}: pings {pings}"
    key = the_fleet.public_key(spoke)
    about = [f for f in section["findings"] if f["severity"] in ABOVE_INFO and (f["host"] == spoke or f["peer"] == key)]
    assert not about, f"findings about the healthy {spoke}: {_summary(about)}"


def assert_no_false_upstream(section: dict, injected_on: tuple[str, ...] = ()) -> None:
    upstream = [f for f in section["findings"] if f["code"] == "udp_blocked_upstream" and f["host"] not in injected_on]
    assert not upstream, f"udp_blocked_upstream where nothing was injected: {upstream}"


def assert_named_only_on(section: dict, code: str, host: str) -> list[dict]:
    findings = section["findings"]
    named = [f for f in findings if f["code"] == code]
    assert named, f"{code} not reported; got {_summary(findings)}"
    assert {f["host"] for f in named} == {host}, f"{code} reported elsewhere than on {host}: {_summary(named)}"
    return named


def assert_causes_only(section: dict, allowed: dict[str, set[str]]) -> None:
    """Every finding above info that is not a symptom is one the injection explains, on its host."""
    unexplained = [(f["severity"], f["code"], f["host"]) for f in section["findings"]
                   if f["severity"] in ABOVE_INFO and f["code"] not in SYMPTOM_CODES
                   and f["code"] not in allowed.get(f["host"], set())]
    assert not unexplained, f"findings the injection does not explain: {unexplained}"
    for symptom in (f for f in section["findings"] if f["code"] in SYMPTOM_CODES and f["severity"] in ABOVE_INFO):
        assert symptom.get("follows_from"), f"symptom without its cause: {symptom['host']} {symptom['summary']}"


def assert_no_secret_leaked(secrets: dict[str, str], *texts: str) -> None:
    for host, secret in secrets.items():
        assert secret, f"no key read for {host}"
        for text in texts:
            assert secret not in text, f"{host}: a key (private or preshared) appears in the playbook output or the report"


# ---------------------------------------------------------------- the tests
def test_fleet_hosts_are_separate_network_stacks(fleet_lab):
    """Each host sees only its own interface (its own /run/wireguard), its own addresses and names."""
    for host in [fleet.HUB] + fleet_lab.spokes():
        assert fleet_lab.sh(host, "wg show interfaces").stdout.split() == [fleet_lab.interface(host)], host
    interfaces = {fleet_lab.interface(host) for host in fleet_lab.spokes()}
    assert interfaces == set(fleet.SPOKE_INTERFACES) and "wg0" not in interfaces | {fleet.HUB_INTERFACE}
    assert fleet_lab.sh(fleet.HUB, f"wg show {fleet.HUB_INTERFACE} listen-port").stdout.strip() == str(fleet.HUB_PORT)
    assert fleet.HUB_PORT != 51820
    assert fleet.HUB_NAME in fleet_lab.sh(fleet.HOSTNAME_SPOKE, "cat /etc/hosts").stdout
    assert fleet.HUB_NAME not in fleet_lab.sh(fleet.HUB, "cat /etc/hosts").stdout
    # The NATed spoke reaches the hub from the router's address, not its own.
    endpoints = fleet_lab.sh(fleet.HUB, f"wg show {fleet.HUB_INTERFACE} endpoints").stdout
    assert f"{fleet.PUB}.3:" in endpoints, endpoints


def test_healthy_fleet_every_tunnel_healthy_and_strangers_quiet(fleet_lab, tmp_path):
    """Healthy: every tunnel healthy, no finding above info, and the hub's peers of no inventory host
    (two in the file, one runtime-only) are listed as outside, with no finding about them."""
    secrets = fleet_lab.private_keys()
    report = fleet_lab.timed_diagnose(tmp_path, "healthy")
    before = report["before"]
    assert [s for s in _summary(before["findings"]) if s[0] != "info"] == []
    assert report["healthy"] is True and before["healthy"] is True and not before["unchecked"]
    assert len(before["tunnels"]) == SPOKES
    for spoke in fleet_lab.spokes():
        assert_spoke_healthy(fleet_lab, before, spoke)
    assert_no_false_upstream(before)

    allowed = fleet_lab.sh(fleet.HUB, f"wg show {fleet.HUB_INTERFACE} allowed-ips").stdout
    strangers = {line.split()[0] for line in allowed.splitlines()
                 if line.split()[1:] and line.split()[1] in fleet.STRANGER_ADDRESSES + (fleet.RUNTIME_ONLY_ADDRESS,)}
    assert len(strangers) == 3
    outside = {(p["host"], p["interface"], p["public_key"]) for p in before["outside_peers"]}
    assert outside == {(fleet.HUB, fleet.HUB_INTERFACE, key) for key in strangers}
    config = fleet_lab.sh(fleet.HUB, f"grep -c '^PublicKey' {fleet_lab.config(fleet.HUB)}").stdout.strip()
    assert int(config) == SPOKES + 2, "one of the three strangers must exist only at runtime"
    about_strangers = [f for f in before["findings"] if f["peer"] in strangers]
    assert not about_strangers, _summary(about_strangers)

    run = fleet_lab.last_run
    report_files = [(tmp_path / "wg-report" / name).read_text() for name in ("report.json", "report.md")]
    assert_no_secret_leaked(secrets, run.stdout, run.stderr, *report_files)


def test_spoke_faults_are_named_on_their_spoke_only(fleet_lab, tmp_path):
    """Two spokes broken at once, each its own way: a wrong hub key on one, a firewall that drops its
    WireGuard port on the spoke the hub dials. Each is named on its spoke; the other four are healthy."""
    fleet_lab.sh(WRONG_KEY_SPOKE, f"sed -i 's|^PublicKey = .*|PublicKey = {STRANGER_KEY}|' {fleet_lab.config(WRONG_KEY_SPOKE)}")
    fleet_lab.drop_port(FIREWALLED_SPOKE, fleet.spoke_spec(FIREWALLED_SPOKE)["listen_port"])
    for spoke in (WRONG_KEY_SPOKE, FIREWALLED_SPOKE):
        fleet.restart(spoke)
        fleet_lab.forget_on_hub(spoke)
    report = fleet_lab.timed_diagnose(tmp_path, "two spoke faults")
    before = report["before"]
    assert report["healthy"] is False

    assert_named_only_on(before, "peer_public_key_mismatch", WRONG_KEY_SPOKE)
    assert_named_only_on(before, "udp_blocked_host_firewall", FIREWALLED_SPOKE)
    assert_causes_only(before, {WRONG_KEY_SPOKE: {"peer_public_key_mismatch"},
                                FIREWALLED_SPOKE: {"udp_blocked_host_firewall"}})
    for spoke in set(fleet_lab.spokes()) - {WRONG_KEY_SPOKE, FIREWALLED_SPOKE}:
        assert_spoke_healthy(fleet_lab, before, spoke)
    assert_no_false_upstream(before)


def _assert_hub_fault(the_fleet: Fleet, section: dict, code: str, allowed_with_it: set[str]) -> None:
    """One finding on the hub, naming every spoke it cuts; on the spokes, only symptoms that follow from it."""
    named = assert_named_only_on(section, code, fleet.HUB)
    assert len(named) == 1, f"{code} named {len(named)} times on the hub: {_summary(named)}"
    text = " ".join([named[0]["summary"]] + named[0]["evidence"])
    unnamed = [spoke for spoke in the_fleet.spokes() if spoke not in text]
    assert not unnamed, f"{code} on the hub does not name the spokes it cuts: {unnamed}\n{named[0]}"
    assert_causes_only(section, {fleet.HUB: {code} | allowed_with_it})
    for symptom in (f for f in section["findings"] if f["code"] in SYMPTOM_CODES and f["severity"] in ABOVE_INFO):
        assert code in symptom["follows_from"], f"{symptom['host']}'s {symptom['code']} does not follow from {code}: {symptom}"
    assert_no_false_upstream(section)


# The hub's firewall dropping its port (every spoke cut, the cause named once on the hub) is asserted on the check run of
# test_fleet_remediation_lab.test_hub_firewall_drop_fixed_on_the_hub_only, for nftables, iptables and ufw.


def test_hub_service_down_is_one_finding_on_the_hub(fleet_lab, tmp_path):
    """wg-quick down on the hub: every spoke is cut, the cause is on the hub, once."""
    fleet_lab.sh(fleet.HUB, f"wg-quick down {fleet.HUB_INTERFACE} >/dev/null 2>&1")
    for spoke in fleet_lab.spokes():
        fleet.restart(spoke)
    report = fleet_lab.timed_diagnose(tmp_path, "hub service down")
    assert report["healthy"] is False
    _assert_hub_fault(fleet_lab, report["before"], "interface_down", {"port_not_listening"})
