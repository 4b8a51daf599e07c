"""Remediation on the fleet (tests/lab/fleet.py) never harms a neighbour (issue #11, "Lab proof").

The hub `corpnet` on UDP 47111 answers six spokes (`wg-corp` / `branch`, none on 51820), two peers of no
inventory host and one peer that exists only at runtime. Several spokes are broken at once, each by a fault
whose remedy is another role (spoke01 on both ends: the hub's AllowedIPs for it and its own Endpoint port), and
beside the faults another tool's nftables table (`inet dockerlike`, created at runtime, absent from the boot
config) and iptables chain (`DOCKER-LIKE`, jumped to from FORWARD) live on the hub and on the firewalled spoke.
Each host has its own /etc/nftables.conf and /etc/nftables.d (fleet.py binds /etc/netns/HOST/* over /etc), as a
real host has.

`diagnose.yml -e wg_remediate=true --check --diff` runs first and changes nothing; the real run with
`--diff` then makes exactly the changes the check run showed (the same tasks changed on the same hosts, the
same diffs). After it: every injected fault is gone, every tunnel is healthy, the untouched spokes' sessions
kept going (their handshakes advanced, pings through them answer), the hub still holds its strangers and its
runtime-only peer, the foreign table and chain are byte-identical, every boot config the remedy wrote loads
in an empty network namespace, and the same remedies applied again through their roles change nothing.
A second test gives every hub <-> spoke pair a PresharedKey of its own and breaks two pairs' keys, one on the
spoke the hub dials (the hub copies the spoke's key) and one on a spoke whose interface is also down (started
first, then it copies the hub's key), beside a second peer remedy on the hub that copies no key (issue #11,
defect 1 and item 4): every other PresharedKey on the hub is the one it was (sha256 digests, computed on the
host) and no key appears in any output, diff or report. A third test breaks the hub (its boot firewall drops
UDP 47111, every spoke cut, and drops everything forwarded), once per backend the hub may use (nftables, iptables
loaded at boot from rules.v4, ufw), while the hub is also one spoke's full-tunnel gateway with IP forwarding off and
no masquerade: fixed on the hub only (the firewall and ip_forwarding roles), persisted the hub's way in the hub's own
files (rules.v4 takes the role's lines and nothing of the foreign chain, the sysctl goes to the hub's /etc/sysctl.d),
none of the container's shared files touched, and the spoke reaches beyond the hub through its tunnel.

Left out of the fleet, on purpose:
- hostname_endpoint_not_reresolved: no cron daemon and no systemd run in the fleet container, so the job the
  keepalive role installs could be written but never shown to run (test_roles_lab.py runs it under cron).
- firewalld: it needs its daemon (D-Bus, one per host), which a network namespace in one container does not give
  (test_firewalld_hub_lab.py proves it on the main lab's server, answering three peers).
"""
from __future__ import annotations

import re
import time
import typing as t
from collections import Counter

import pytest

from remedies import assert_second_run_changes_nothing
from test_fleet_lab import STRANGER_KEY, Fleet, assert_no_secret_leaked, fleet, fleet_lab  # noqa: F401  pylint: disable=unused-import
from test_fleet_lab import _assert_hub_fault, assert_causes_only, assert_named_only_on, assert_no_false_upstream, assert_spoke_healthy

FIREWALLED_SPOKE = fleet.DIALED_SPOKE          # spoke05: the hub dials it, its nftables drops its port
KEEPALIVE_SPOKE = fleet.NAT_SPOKE              # spoke02: behind NAT, PersistentKeepalive removed
WRONG_KEY_SPOKE = "spoke06"                    # holds a stranger's key as the hub's
NARROWED_SPOKE = "spoke01"                     # the hub's AllowedIPs for it miss its address
WRONG_PORT_SPOKE = NARROWED_SPOKE              # and its Endpoint names the hub's port + 1: both ends of one pair broken
WRONG_ALLOWED = f"{fleet.TUNNEL4}.99/32"
UNTOUCHED = (fleet.HOSTNAME_SPOKE, fleet.IPV6_SPOKE)
FOREIGN_HOSTS = (fleet.HUB, FIREWALLED_SPOKE)

# Another tool's state: a table created at runtime (not in the boot config) with a base chain on the input
# hook and a rule, and an iptables chain with a rule and a jump from FORWARD.
FOREIGN = """nft -f - <<'EOF'
table inet dockerlike {
  chain input { type filter hook input priority filter - 5; policy accept; tcp dport 9998 counter accept; }
  chain isolate { ip saddr 172.30.0.0/16 counter return; }
}
EOF
iptables -N DOCKER-LIKE && iptables -A DOCKER-LIKE -s 172.30.0.0/16 -j RETURN && iptables -I FORWARD -j DOCKER-LIKE"""
# FORWARD without the role's own lines (a forwarding remedy puts its accepts on top): every other line, in its order.
FOREIGN_SNAPSHOT = "nft list table inet dockerlike; echo ---; iptables -S DOCKER-LIKE; iptables -S FORWARD | grep -v -e '--comment \"\\?wgdoctor'"


def _firewall_in_boot_config(port: int) -> str:
    """The host's own boot config drops the WireGuard port in the table it declares, and it is loaded."""
    # Written in place (cat >): the host's /etc/nftables.conf is a bind mount, which sed -i cannot rename over.
    return ("sed 's|^\\(\\s*type filter hook input priority filter;\\)$|\\1\\n\\t\\tudp dport %d counter drop|' "
            "/etc/nftables.conf > /tmp/nftables.conf.new && cat /tmp/nftables.conf.new > /etc/nftables.conf && "
            "grep -q 'udp dport %d counter drop' /etc/nftables.conf && nft -f /etc/nftables.conf" % (port, port))


def inject(the_fleet: Fleet) -> None:
    spoke05_port = fleet.spoke_spec(FIREWALLED_SPOKE)["listen_port"]
    the_fleet.sh(FIREWALLED_SPOKE, _firewall_in_boot_config(spoke05_port))
    for host in FOREIGN_HOSTS:
        the_fleet.sh(host, FOREIGN)
    the_fleet.sh(KEEPALIVE_SPOKE, f"sed -i '/^PersistentKeepalive/d' {the_fleet.config(KEEPALIVE_SPOKE)} && "
                                  f"wg set {the_fleet.interface(KEEPALIVE_SPOKE)} peer "
                                  f"$(wg show {the_fleet.interface(KEEPALIVE_SPOKE)} peers) persistent-keepalive 0")
    the_fleet.sh(WRONG_KEY_SPOKE, f"sed -i 's|^PublicKey = .*|PublicKey = {STRANGER_KEY}|' {the_fleet.config(WRONG_KEY_SPOKE)}")
    narrow_on_hub(the_fleet, NARROWED_SPOKE)
    wrong_port = fleet.HUB_PORT + 1
    the_fleet.sh(WRONG_PORT_SPOKE, f"sed -i 's|^\\(Endpoint = .*\\):{fleet.HUB_PORT}$|\\1:{wrong_port}|' {the_fleet.config(WRONG_PORT_SPOKE)} && "
                                   f"grep -q '^Endpoint = .*:{wrong_port}$' {the_fleet.config(WRONG_PORT_SPOKE)}")
    for spoke in (WRONG_KEY_SPOKE, FIREWALLED_SPOKE, WRONG_PORT_SPOKE):
        fleet.restart(spoke)
        the_fleet.forget_on_hub(spoke)


def narrow_on_hub(the_fleet: Fleet, spoke: str) -> None:
    """The hub's AllowedIPs for `spoke` miss its address, in the file and live (before any PresharedKey line:
    the edit takes the line after PublicKey)."""
    narrowed_key = the_fleet.public_key(spoke)
    # A key's characters (A-Za-z0-9+/=) are all literal in a basic regular expression; % delimits it.
    the_fleet.sh(fleet.HUB, f"sed -i '\\%^PublicKey = {narrowed_key}$%{{n;s|^AllowedIPs = .*|AllowedIPs = {WRONG_ALLOWED}|}}' "
                            f"{the_fleet.config(fleet.HUB)} && grep -q '^AllowedIPs = {WRONG_ALLOWED}$' {the_fleet.config(fleet.HUB)} && "
                            f"wg set {fleet.HUB_INTERFACE} peer {narrowed_key} allowed-ips {WRONG_ALLOWED}")


# ---------------------------------------------------------------- what a run changed, from its --diff output
# A handler that runs is a task of its own, with its own result.
TASK = re.compile(r"^(?:TASK|RUNNING HANDLER) \[(?P<task>.*)\] \**$")
RESULT = re.compile(r"^(?P<status>changed|ok|skipping|fatal|failed): \[(?P<host>[^\]]+)\]")


def changes(output: str) -> Counter:
    """(task, host, diff text) of every change a run reports: the diff lines printed before a host's
    `changed:` line belong to that host (the default callback prints each result's diff just before it)."""
    found: Counter = Counter()
    task, pending = "", []
    for line in output.splitlines():
        header = TASK.match(line)
        if header:
            task, pending = header.group("task"), []
            continue
        result = RESULT.match(line)
        if result:
            if result.group("status") == "changed":
                found[(task, result.group("host"), "\n".join(pending))] += 1
            pending = []
        elif task and line and not line.startswith(("PLAY", "included:", "skipping:", "ok:", "[WARNING]", "[DEPRECATION")):
            pending.append(line)
    return found


def remediation_changes(output: str) -> Counter:
    """The changes of the remediation phase: from the play that applies the remedies to the verification pass."""
    start = output.find("PLAY [Apply the remedies on each end]")
    end = output.find("PLAY [Wait for a fresh handshake and ping through every tunnel]")
    assert start >= 0 and end > start, "the run has no remediation phase"
    return changes(output[start:end])


# ---------------------------------------------------------------- the state neighbours care about
def hub_handshakes(the_fleet: Fleet) -> dict[str, int]:
    lines = the_fleet.sh(fleet.HUB, f"wg show {fleet.HUB_INTERFACE} latest-handshakes").stdout.split("\n")
    return {words[0]: int(words[1]) for words in (line.split() for line in lines) if len(words) == 2}


def hub_peers(the_fleet: Fleet) -> dict[str, str]:
    lines = the_fleet.sh(fleet.HUB, f"wg show {fleet.HUB_INTERFACE} allowed-ips").stdout.split("\n")
    return {words[0]: " ".join(words[1:]) for words in (line.split() for line in lines) if words}


def pings_through(the_fleet: Fleet, spoke: str) -> bool:
    address = fleet.tunnel_address(fleet.spoke_spec(spoke))
    return the_fleet.sh(fleet.HUB, f"ping -c 1 -W 2 {address}", check=False).returncode == 0


def boot_config_written(output: str) -> set[str]:
    """Hosts on which the remediation changed a file under /etc/nftables*."""
    return {host for task, host, diff in remediation_changes(output) if "/etc/nftables" in diff}


def strangers_on_hub(the_fleet: Fleet) -> dict[str, str]:
    """The hub's peers of no inventory host (two in the file, one runtime-only), by key."""
    strangers = {key: ips for key, ips in hub_peers(the_fleet).items()
                 if ips in fleet.STRANGER_ADDRESSES + (fleet.RUNTIME_ONLY_ADDRESS,)}
    assert len(strangers) == 3, strangers
    return strangers


def check_then_real(the_fleet: Fleet, tmp_path) -> tuple[dict, str, dict, str]:
    """`--check --diff`, then the real run with `--diff`: (check report, its output, real report, its output). The
    check run shows exactly the changes the real run then makes."""
    started = time.monotonic()
    (tmp_path / "check").mkdir()
    (tmp_path / "real").mkdir()
    check = the_fleet.diagnose(tmp_path / "check", "-e", "wg_remediate=true", "--check", "--diff")
    check_run = the_fleet.last_run.stdout
    (tmp_path / "check.out").write_text(check_run)
    assert "after" not in check
    print(f"\n[fleet] check run after {time.monotonic() - started:.0f} s")
    report = the_fleet.diagnose(tmp_path / "real", "-e", "wg_remediate=true", "--diff")
    real_run = the_fleet.last_run.stdout
    (tmp_path / "real.out").write_text(real_run)
    print(f"[fleet] real run after {time.monotonic() - started:.0f} s")
    shown, made = remediation_changes(check_run), remediation_changes(real_run)
    assert made, "the real run changed nothing"
    assert shown == made, f"shown by --check only: {sorted(shown - made)}\nmade by the real run only: {sorted(made - shown)}"
    return check, check_run, report, real_run


def assert_found(section: dict, injected: set[tuple[str, str]]) -> None:
    found = {(f["code"], f["host"]) for f in section["findings"]}
    assert injected <= found, f"missing: {injected - found}; found {sorted(found)}"


def assert_fleet_healthy_after(the_fleet: Fleet, report: dict, injected: set[tuple[str, str]]) -> None:
    """Every injected fault gone, every tunnel fresh and pinging, nothing unchecked, no remedy failed."""
    after = report["after"]
    remaining = {(f["code"], f["host"]) for f in after["findings"]}
    assert not injected & remaining, f"still there: {injected & remaining}"
    assert after["healthy"] is True and report["healthy"] is True, sorted(remaining)
    assert not after["unchecked"], after["unchecked"]
    assert len(after["tunnels"]) == len(the_fleet.spokes()) and all(t_["handshake_fresh"] for t_ in after["tunnels"])
    assert all(p["ok"] for p in after["pings"]), after["pings"]
    assert not [r for r in report["remediation"]["remedies"] if r["failed"]], report["remediation"]["remedies"]


def assert_neighbours_kept(the_fleet: Fleet, strangers: dict[str, str], untouched_keys: dict[str, str],
                           handshakes_before: dict[str, int], foreign: dict[str, str]) -> None:
    """Strangers and the runtime-only peer still on the hub, untouched sessions kept going, foreign state identical."""
    peers = hub_peers(the_fleet)
    assert {key: peers.get(key) for key in strangers} == strangers, "the hub lost a peer of no inventory host"
    handshakes_after = hub_handshakes(the_fleet)
    for spoke, key in untouched_keys.items():
        assert handshakes_after[key] > handshakes_before[key] > 0, f"{spoke}'s session did not keep going"
        assert pings_through(the_fleet, spoke), f"{spoke} does not answer through the tunnel"
    for host, text in foreign.items():
        assert the_fleet.sh(host, FOREIGN_SNAPSHOT).stdout == text, f"the foreign table or chain on {host} changed"


def assert_nft_boot_configs_load(the_fleet: Fleet, hosts: t.Iterable[str]) -> None:
    for host in hosts:
        loaded = the_fleet.sh(host, "unshare -n nft -c -f /etc/nftables.conf", check=False)
        assert loaded.returncode == 0, f"{host}'s boot config does not load in an empty namespace: {loaded.stderr}"


def test_spoke_faults_fixed_at_once_and_no_neighbour_harmed(fleet_lab, tmp_path):
    the_fleet = fleet_lab
    started = time.monotonic()
    strangers = strangers_on_hub(the_fleet)
    inject(the_fleet)
    foreign = {host: the_fleet.sh(host, FOREIGN_SNAPSHOT).stdout for host in FOREIGN_HOSTS}
    assert all("DOCKER-LIKE" in text and "tcp dport 9998" in text for text in foreign.values()), foreign
    untouched_keys = {spoke: the_fleet.public_key(spoke) for spoke in UNTOUCHED}
    handshakes_before = hub_handshakes(the_fleet)

    injected = {("udp_blocked_host_firewall", FIREWALLED_SPOKE), ("nat_without_keepalive", KEEPALIVE_SPOKE),
                ("peer_public_key_mismatch", WRONG_KEY_SPOKE), ("allowed_ips_missing_peer_address", fleet.HUB),
                ("listen_port_mismatch", WRONG_PORT_SPOKE)}
    check, check_run, report, real_run = check_then_real(the_fleet, tmp_path)
    assert_found(check["before"], injected)
    # What the check run diagnosed, read as the fleet fault matrix reads a report: each fault named on its host only,
    # nothing the injection does not explain, the untouched spokes healthy by every measure.
    for code, host in injected:
        assert_named_only_on(check["before"], code, host)
    assert_causes_only(check["before"], {host: {code for code, on in injected if on == host} for _code, host in injected})
    for spoke in UNTOUCHED:
        assert_spoke_healthy(the_fleet, check["before"], spoke)
    assert_no_false_upstream(check["before"])
    assert_fleet_healthy_after(the_fleet, report, injected)
    assert_neighbours_kept(the_fleet, strangers, untouched_keys, handshakes_before, foreign)
    assert_nft_boot_configs_load(the_fleet, boot_config_written(real_run) | {FIREWALLED_SPOKE})

    again = assert_second_run_changes_nothing(the_fleet, report, tmp_path, [fleet.HUB] + the_fleet.spokes())
    assert_no_secret_leaked(the_fleet.private_keys(), check_run, real_run, again,
                            *[(tmp_path / run / "wg-report" / "report.json").read_text() for run in ("check", "real")])
    print(f"[fleet] spoke faults: {time.monotonic() - started:.0f} s")


# ---------------------------------------------------------------- preshared keys, and a spoke that is down
PSK_DIALED_SPOKE = fleet.DIALED_SPOKE   # the hub initiates to it: the hub copies the spoke's PresharedKey
PSK_DOWN_SPOKE = "spoke06"              # initiates to the hub and is down: started first, then copies the hub's
PSK_NARROWED_SPOKE = "spoke01"          # the hub's second peer remedy, one that copies no key
PSK_UNTOUCHED = (fleet.NAT_SPOKE, fleet.HOSTNAME_SPOKE, fleet.IPV6_SPOKE)


def give_preshared_keys(the_fleet: Fleet, mismatched: t.Iterable[str]) -> None:
    """Every hub <-> spoke pair gets a PresharedKey of its own, in both files and live; a `mismatched` spoke then
    holds another one. Keys are made by wg genpsk in the container and moved there by file, never read out."""
    mismatched = set(mismatched)
    for spoke in the_fleet.spokes():
        key_file = f"{fleet.STATE}/psk.{spoke}"
        fleet.container_exec(f"umask 077 && wg genpsk > {key_file} && wg genpsk > {key_file}.other")
        spoke_key = the_fleet.public_key(spoke)
        the_fleet.sh(fleet.HUB, f"sed -i \"\\\\%^PublicKey = {spoke_key}$%a PresharedKey = $(cat {key_file})\" {the_fleet.config(fleet.HUB)} && "
                                f"wg set {fleet.HUB_INTERFACE} peer {spoke_key} preshared-key {key_file}")
        spoke_file = f"{key_file}.other" if spoke in mismatched else key_file
        the_fleet.sh(spoke, f"sed -i \"/^PublicKey = /a PresharedKey = $(cat {spoke_file})\" {the_fleet.config(spoke)} && "
                            f"wg set {the_fleet.interface(spoke)} peer $(wg show {the_fleet.interface(spoke)} peers) "
                            f"preshared-key {spoke_file}")
        fleet.container_exec(f"rm -f {key_file} {key_file}.other")
    count = the_fleet.sh(fleet.HUB, f"grep -c '^PresharedKey = ' {the_fleet.config(fleet.HUB)}").stdout.strip()
    assert int(count) == len(the_fleet.spokes()), "the hub's file did not take a PresharedKey per spoke"


def test_preshared_keys_of_two_spokes_fixed_and_no_key_carried_to_another_peer(fleet_lab, tmp_path):
    """Defect 1 and item 4 of issue #11 on the fleet, every hub <-> spoke pair with a PresharedKey of its own:
    spoke05 (the hub dials it) and spoke06 hold another PresharedKey than the hub, spoke06's interface is down too,
    and the hub's AllowedIPs for spoke01 miss its address. The hub gets two peer remedies (copy spoke05's key; widen
    spoke01's AllowedIPs, which copies none), spoke06 a service remedy and then a peer remedy (copy the hub's key),
    in one run. After: both tunnels work, every other PresharedKey on the hub is the one it was (digests), the key of
    each repaired pair is the same on both ends, and no key appears in any output, diff or report."""
    the_fleet = fleet_lab
    started = time.monotonic()
    strangers = strangers_on_hub(the_fleet)
    narrow_on_hub(the_fleet, PSK_NARROWED_SPOKE)
    give_preshared_keys(the_fleet, mismatched=(PSK_DIALED_SPOKE, PSK_DOWN_SPOKE))
    for host in (fleet.HUB, PSK_DOWN_SPOKE):
        the_fleet.sh(host, FOREIGN)
    foreign = {host: the_fleet.sh(host, FOREIGN_SNAPSHOT).stdout for host in (fleet.HUB, PSK_DOWN_SPOKE)}
    fleet.restart(PSK_DIALED_SPOKE)
    the_fleet.forget_on_hub(PSK_DIALED_SPOKE)
    the_fleet.forget_on_hub(PSK_DOWN_SPOKE)
    spoke_keys = {host: the_fleet.public_key(host) for host in [fleet.HUB] + the_fleet.spokes()}
    # Read while every interface runs (the down spoke's key is in its file, and in the hub's runtime for the pair).
    secrets = dict(the_fleet.private_keys(), **the_fleet.preshared_keys())
    the_fleet.sh(PSK_DOWN_SPOKE, f"wg-quick down {the_fleet.interface(PSK_DOWN_SPOKE)} >/dev/null 2>&1")
    hub_psk_before = the_fleet.preshared_key_digests(fleet.HUB)
    assert len(set(hub_psk_before[spoke_keys[spoke]] for spoke in the_fleet.spokes())) == len(the_fleet.spokes())
    dialed_psk = the_fleet.preshared_key_digests(PSK_DIALED_SPOKE)[spoke_keys[fleet.HUB]]
    assert dialed_psk != hub_psk_before[spoke_keys[PSK_DIALED_SPOKE]]
    untouched_keys = {spoke: spoke_keys[spoke] for spoke in PSK_UNTOUCHED}
    handshakes_before = hub_handshakes(the_fleet)

    injected = {("preshared_key_mismatch", fleet.HUB), ("preshared_key_mismatch", PSK_DOWN_SPOKE),
                ("interface_down", PSK_DOWN_SPOKE), ("allowed_ips_missing_peer_address", fleet.HUB)}
    check, check_run, report, real_run = check_then_real(the_fleet, tmp_path)
    assert_found(check["before"], injected)
    remedies = [(r["host"], r["role"].split(".")[-1], r["vars"].get("peer_public_key")) for r in report["remediation"]["remedies"]]
    on_hub = [(role, key) for host, role, key in remedies if host == fleet.HUB]
    # In this order, or the run would not show that a copied key stays with its own peer (defect 1).
    assert on_hub == [("peer", spoke_keys[PSK_DIALED_SPOKE]), ("peer", spoke_keys[PSK_NARROWED_SPOKE])], \
        f"the hub's remedies are not the key copy, then one that copies none: {remedies}"
    assert [role for host, role, _key in remedies if host == PSK_DOWN_SPOKE] == ["service", "peer"], \
        f"the down spoke's remedies are not root cause first: {remedies}"
    assert_fleet_healthy_after(the_fleet, report, injected)
    assert_neighbours_kept(the_fleet, strangers, untouched_keys, handshakes_before, foreign)

    # The hub took spoke05's key for spoke05 and changed no other peer's; spoke06 took the hub's key for it.
    hub_psk_after = the_fleet.preshared_key_digests(fleet.HUB)
    assert hub_psk_after[spoke_keys[PSK_DIALED_SPOKE]] == dialed_psk
    changed = sorted(key[:8] for key in hub_psk_before if hub_psk_after.get(key) != hub_psk_before[key])
    assert changed == [spoke_keys[PSK_DIALED_SPOKE][:8]], f"PresharedKeys of other peers changed on the hub: {changed}"
    assert the_fleet.preshared_key_digests(PSK_DOWN_SPOKE)[spoke_keys[fleet.HUB]] == hub_psk_before[spoke_keys[PSK_DOWN_SPOKE]]
    for spoke in (PSK_DIALED_SPOKE, PSK_DOWN_SPOKE, PSK_NARROWED_SPOKE):
        assert pings_through(the_fleet, spoke), f"{spoke} does not answer through the repaired tunnel"
    assert_nft_boot_configs_load(the_fleet, boot_config_written(real_run))

    again = assert_second_run_changes_nothing(the_fleet, report, tmp_path, [fleet.HUB] + the_fleet.spokes())
    assert_no_secret_leaked(secrets, check_run, real_run, again,
                            *[(tmp_path / run / "wg-report" / name).read_text()
                              for run in ("check", "real") for name in ("report.json", "report.md")])
    print(f"[fleet] preshared keys and a spoke down: {time.monotonic() - started:.0f} s")


# ---------------------------------------------------------------- the hub's firewall, per backend
# The hub is also one spoke's gateway: spoke06 sends everything but the fleet's own "internet" (0.0.0.0/1 and
# 128.0.0.0/1: a full tunnel to the diagnosis, while the hub's address stays on the link) into the tunnel, and the hub
# reaches the world through its uplink, a default route via natgw. natgw's site address stands for the Internet:
# nothing routes it back to the tunnel, so it answers only what the hub masquerades.
GATEWAY_SPOKE = "spoke06"
BEYOND_HUB = f"{fleet.NAT_SITE}.1"
FULL_TUNNEL = "0.0.0.0/1, 128.0.0.0/1"


def _forward_dropped_in_boot_config() -> str:
    """The host's boot config (the image's `inet filter`) drops what it forwards, and it is loaded."""
    return ("sed 's|^\\(\\s*type filter hook forward priority filter;\\)$|\\1 policy drop;|' "
            "/etc/nftables.conf > /tmp/nftables.conf.new && cat /tmp/nftables.conf.new > /etc/nftables.conf && "
            "grep -q 'hook forward priority filter; policy drop;' /etc/nftables.conf && nft -f /etc/nftables.conf")


# How each backend is the hub's boot firewall, dropping UDP 47111 and everything forwarded (live and in the host's own
# files); what loads those files at boot, run in an empty network namespace, printing the rules it loaded; and what
# of ours must be in that (regexes: the port, forwarding for the tunnel, the masquerade of its subnet).
HUB_FIREWALLS = {
    "nftables": {"break": _firewall_in_boot_config(fleet.HUB_PORT) + " && " + _forward_dropped_in_boot_config(),
                 "boot": "unshare -n nft -c -f /etc/nftables.conf && cat /etc/nftables.d/*.nft",
                 "persisted": [rf"udp dport {fleet.HUB_PORT} accept", rf"iifname \"?{fleet.HUB_INTERFACE}\"? .*accept",
                               rf"ip saddr {fleet.TUNNEL4}\.0/24 .*masquerade"]},
    # No netfilter-persistent in the image: a loader in if-pre-up.d, the Debian way without it (the role looks there).
    "iptables": {"break": ("printf '*filter\\n:INPUT ACCEPT [0:0]\\n:FORWARD DROP [0:0]\\n:OUTPUT ACCEPT [0:0]\\n"
                           f"-A INPUT -p udp -m udp --dport {fleet.HUB_PORT} -j DROP\\nCOMMIT\\n' > /etc/iptables/rules.v4 && "
                           "printf '#!/bin/sh\\n/usr/sbin/iptables-restore < /etc/iptables/rules.v4\\n' > /etc/network/if-pre-up.d/iptables && "
                           "chmod 755 /etc/network/if-pre-up.d/iptables && /etc/network/if-pre-up.d/iptables"),
                 "boot": "unshare -n sh -c '/etc/network/if-pre-up.d/iptables && iptables -S && iptables -t nat -S'",
                 # Found by this test: the rules file was planned from the live rules only, which a check run never
                 # changed, so --check --diff showed the live insert but not the rules.v4 line (fixed in the role).
                 "persisted": [rf"^-A INPUT -p udp .*--dport {fleet.HUB_PORT} .*--comment \"?wgdoctor\"? -j ACCEPT$",
                               rf"^-A FORWARD .*-i {fleet.HUB_INTERFACE} .*-j ACCEPT$",
                               rf"^-A POSTROUTING -s {fleet.TUNNEL4}\.0/24 .*-j MASQUERADE$"]},
    # ufw's defaults deny what comes in and what is forwarded; its files are the hub's own (/etc/netns/hub/ufw and default).
    "ufw": {"break": "LC_ALL=C ufw --force enable",
            "boot": "unshare -n sh -c 'LC_ALL=C ufw --force enable >/dev/null && iptables -S && iptables -t nat -S'",
            "persisted": [rf"^-A ufw-user-input .*--dport {fleet.HUB_PORT} -j ACCEPT$",
                          rf"^-A ufw-user-forward .*-i {fleet.HUB_INTERFACE} .*-j ACCEPT$",
                          rf"^-A POSTROUTING -s {fleet.TUNNEL4}\.0/24 .*-j MASQUERADE$"]},
}
# The container's own firewall and sysctl files, which no fleet host's remedy may write.
SHARED_FIREWALL_FILES = ("cat /etc/nftables.conf /etc/ufw/user.rules /etc/ufw/before.rules /etc/ufw/ufw.conf /etc/default/ufw; "
                         "ls -A /etc/nftables.d /etc/iptables /etc/network /etc/sysctl.d")
HUB_GATEWAY_FAULTS = {("udp_blocked_host_firewall", fleet.HUB), ("ip_forward_disabled", fleet.HUB),
                      ("forward_chain_blocks", fleet.HUB), ("nat_masquerade_missing", fleet.HUB)}


def reaches_beyond_hub(the_fleet: Fleet) -> bool:
    return the_fleet.sh(GATEWAY_SPOKE, f"ping -c 2 -W 2 {BEYOND_HUB}", check=False).returncode == 0


@pytest.mark.parametrize("backend", sorted(HUB_FIREWALLS))
def test_hub_firewall_drop_fixed_on_the_hub_only(fleet_lab, tmp_path, backend):
    """The hub's own boot firewall (nftables, iptables or ufw) drops UDP 47111 and everything forwarded, beside another
    tool's table and chain: every spoke is cut. The hub is also spoke06's full-tunnel gateway, with IP forwarding off and
    no masquerade. The remedies act on the hub only and persist the hub's way, in the hub's own files (iptables: only the
    role's own lines are added to rules.v4, never the foreign chain); --check --diff showed them; every spoke is healthy
    after, spoke06 reaches beyond the hub, the foreign state is untouched, the boot config loads in an empty namespace."""
    the_fleet = fleet_lab
    firewall = HUB_FIREWALLS[backend]
    started = time.monotonic()
    strangers = strangers_on_hub(the_fleet)
    shared_files = fleet.container_exec(SHARED_FIREWALL_FILES).stdout
    the_fleet.sh(fleet.HUB, firewall["break"])
    rules_v4_before = the_fleet.sh(fleet.HUB, "cat /etc/iptables/rules.v4", check=False).stdout
    the_fleet.sh(fleet.HUB, FOREIGN)
    foreign = {fleet.HUB: the_fleet.sh(fleet.HUB, FOREIGN_SNAPSHOT).stdout}
    the_fleet.sh(fleet.HUB, f"ip route replace default via {fleet.PUB}.3 && sysctl -qw net.ipv4.ip_forward=0")
    the_fleet.sh(GATEWAY_SPOKE, f"sed -i 's|^AllowedIPs = .*|&, {FULL_TUNNEL}|' {the_fleet.config(GATEWAY_SPOKE)}")
    the_fleet.restart_all()   # the hub's restart puts its runtime-only peer back, as fleet.py's up does
    secrets = the_fleet.private_keys()

    check, check_run, report, real_run = check_then_real(the_fleet, tmp_path)
    print(f"[fleet] hub firewall ({backend}) remediated in {time.monotonic() - started:.0f} s")
    assert_found(check["before"], HUB_GATEWAY_FAULTS)
    # The check run's diagnosis, per backend: one finding on the hub naming every spoke it cuts, the spokes' symptoms
    # follow from it, no false upstream block. A stronger form (three backends, the hub's own boot firewall) of what
    # test_fleet_lab.py's test_hub_firewall_drop_is_one_finding_on_the_hub proves with a diagnose run of its own.
    _assert_hub_fault(the_fleet, check["before"], "udp_blocked_host_firewall", {code for code, _host in HUB_GATEWAY_FAULTS})
    gateway = [f for f in check["before"]["findings"] if (f["code"], f["host"]) in HUB_GATEWAY_FAULTS]
    assert {f["interface"] for f in gateway} == {fleet.HUB_INTERFACE}, [(f["code"], f["interface"]) for f in gateway]
    remedies = [(r["host"], r["role"].split(".")[-1], r["changed"], r["failed"]) for r in report["remediation"]["remedies"]]
    assert sorted(remedies) == [(fleet.HUB, "firewall", True, False), (fleet.HUB, "ip_forwarding", True, False)], remedies
    assert {host for _task, host, _diff in remediation_changes(real_run)} == {fleet.HUB}
    assert_fleet_healthy_after(the_fleet, report, HUB_GATEWAY_FAULTS)
    assert_neighbours_kept(the_fleet, strangers, {}, {}, foreign)
    assert reaches_beyond_hub(the_fleet), f"{GATEWAY_SPOKE} does not reach beyond the hub through its full tunnel"

    booted = the_fleet.sh(fleet.HUB, firewall["boot"], check=False)
    assert booted.returncode == 0, f"the hub's boot firewall ({backend}) does not load in an empty namespace: {booted.stderr}"
    for persisted in firewall["persisted"]:
        assert re.search(persisted, booted.stdout, re.MULTILINE), f"{persisted!r} is not in what the hub loads at boot:\n{booted.stdout}"
    if backend == "iptables":
        rules_v4 = the_fleet.sh(fleet.HUB, "cat /etc/iptables/rules.v4").stdout
        added = [line for line in rules_v4.splitlines() if line not in rules_v4_before.splitlines()]
        ours = [line for line in added if re.search(r"--comment \"?wgdoctor", line)]
        # A new table's header and COMMIT are the file's frame; every rule line added is the role's own.
        assert ours and all(line in ours or line in ("*nat", "COMMIT") or line.startswith(":") for line in added), \
            f"rules.v4 took more than the role's own lines: {added}"
        assert "DOCKER-LIKE" not in rules_v4, "the foreign chain was persisted into rules.v4"
    assert the_fleet.sh(fleet.HUB, "cat /etc/sysctl.d/90-wgdoctor-forwarding.conf").stdout.split() == ["net.ipv4.ip_forward=1"]
    assert fleet.container_exec(SHARED_FIREWALL_FILES).stdout == shared_files, "a remedy wrote the container's shared files"

    again = assert_second_run_changes_nothing(the_fleet, report, tmp_path, [fleet.HUB] + the_fleet.spokes())
    assert_no_secret_leaked(secrets, check_run, real_run, again)
    print(f"[fleet] hub firewall drop ({backend}): {time.monotonic() - started:.0f} s")
