"""An initiator whose own firewall drops its listen port (issue #10), on the fleet (tests/lab/fleet.py).

A spoke that dials the hub sends its initiations from its own listen port, so the hub's responses come
back to that port. A STATELESS drop of the port (no `ct state` rule before it) discards every response:
the spoke's probe, sent from an ephemeral port, is answered, and the handshake never completes. The
diagnosis must name the spoke's firewall (udp_blocked_host_firewall on the spoke, with the rule) and
nothing on the hub or the other spokes, no udp_blocked_upstream anywhere; `-e wg_remediate=true` opens
the port through the firewall role and the tunnel handshakes. The STATEFUL variant of the same drop
(`ct state established,related accept` before it) lets the responses in: no finding for that spoke.

Nothing here is wg0 or 51820: the hub is `corpnet` on UDP 47111 with three spokes, two peers of no
inventory host and one runtime-only peer; spoke01 is `wg-corp` on UDP 40101, spoke03 `branch` on 40103
(it reaches the hub by name).
"""
from __future__ import annotations

import time

from test_fleet_lab import (  # noqa: F401  pylint: disable=unused-import
    Fleet, _summary, assert_causes_only, assert_named_only_on, assert_no_false_upstream, assert_spoke_healthy, fleet,
    running_fleet)

SPOKES = 3
STATELESS_SPOKE = "spoke01"          # initiates to the hub from its own port, 40101
STATEFUL_SPOKE = fleet.HOSTNAME_SPOKE  # spoke03: initiates from 40103, by the hub's name
ABOVE_INFO = ("critical", "error", "warning")


def own_port(spoke: str) -> int:
    port = fleet.spoke_spec(spoke)["listen_port"]
    assert port and port != 51820 and not fleet.spoke_spec(spoke)["dialed"], f"{spoke} must initiate from a port of its own"
    return port


def drop_statefully(the_fleet: Fleet, spoke: str, port: int) -> None:
    """The same drop, behind the rule every stateful ruleset starts with."""
    the_fleet.drop_port(spoke, port)
    the_fleet.sh(spoke, "nft insert rule inet filter input ct state established,related counter accept")


def handshake_again(the_fleet: Fleet, spoke: str) -> None:
    """The spoke restarts and the hub forgets it: the next handshake has to cross the spoke's firewall."""
    fleet.restart(spoke)
    the_fleet.forget_on_hub(spoke)


def wait_for_tunnel(the_fleet: Fleet, spoke: str, timeout: float = 25) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if the_fleet.sh(spoke, f"ping -c 1 -W 1 {fleet.TUNNEL4}.1", check=False).returncode == 0:
            return True
    return False


def findings_about(section: dict, the_fleet: Fleet, spoke: str) -> list[dict]:
    key = the_fleet.public_key(spoke)
    return [f for f in section["findings"] if f["severity"] in ABOVE_INFO and (f["host"] == spoke or f["peer"] == key)]


def test_stateless_drop_on_an_initiator_is_named_there_and_fixed(tmp_path_factory, tmp_path):
    """spoke01's stateless drop is named on spoke01 only and remediated; spoke03's stateful one is not named."""
    started = time.monotonic()
    with running_fleet(tmp_path_factory, SPOKES, tag="initiator firewall") as the_fleet:
        port = own_port(STATELESS_SPOKE)
        the_fleet.drop_port(STATELESS_SPOKE, port)
        drop_statefully(the_fleet, STATEFUL_SPOKE, own_port(STATEFUL_SPOKE))
        for spoke in (STATELESS_SPOKE, STATEFUL_SPOKE):
            handshake_again(the_fleet, spoke)
        assert wait_for_tunnel(the_fleet, STATEFUL_SPOKE), "the stateful spoke's responses must get in"
        assert not wait_for_tunnel(the_fleet, STATELESS_SPOKE, timeout=6), "the stateless drop must cut the spoke"

        diagnosed = time.monotonic()
        report = the_fleet.diagnose(tmp_path, "-e", "wg_remediate=true", "--diff")
        print(f"\n[initiator firewall] diagnose.yml -e wg_remediate=true: {time.monotonic() - diagnosed:.0f} s")
        before = report["before"]
        named = assert_named_only_on(before, "udp_blocked_host_firewall", STATELESS_SPOKE)
        assert len(named) == 1, _summary(named)
        finding = named[0]
        interface = the_fleet.interface(STATELESS_SPOKE)
        assert finding["interface"] == interface and str(port) in finding["summary"], finding
        assert f"udp dport {port}" in finding["evidence"][0] and finding["evidence"][0].startswith("nftables: inet filter/input"), \
            finding["evidence"]
        remedy = finding["remedy"]
        assert remedy["role"] == "wgdoctor.wireguard.firewall" and remedy["host"] == STATELESS_SPOKE, remedy
        assert (remedy["vars"]["firewall_port"], remedy["vars"]["firewall_interface"], remedy["vars"]["firewall_backend"]) == (
            port, interface, "nftables"), remedy
        assert_causes_only(before, {STATELESS_SPOKE: {"udp_blocked_host_firewall"}})
        assert_no_false_upstream(before)
        assert not findings_about(before, the_fleet, STATEFUL_SPOKE), _summary(findings_about(before, the_fleet, STATEFUL_SPOKE))
        for spoke in set(the_fleet.spokes()) - {STATELESS_SPOKE}:
            assert_spoke_healthy(the_fleet, before, spoke)

        assert "after" in report, "wg_remediate=true must diagnose again after the remedies"
        after = report["after"]
        assert report["healthy"] is True and after["healthy"] is True, _summary(after["findings"])
        assert all(t_["handshake_fresh"] for t_ in after["tunnels"]), after["tunnels"]
        assert_no_false_upstream(after)
        assert wait_for_tunnel(the_fleet, STATELESS_SPOKE), "the remediated spoke does not reach the hub through the tunnel"
        rules = [line.strip() for line in the_fleet.sh(STATELESS_SPOKE, "nft list ruleset").stdout.splitlines()
                 if f"udp dport {port}" in line]
        # The role adds its accept before the user's drop, which it never removes.
        assert any(line.endswith("drop") for line in rules) and any("accept" in line for line in rules), rules
    print(f"\n[initiator firewall] stateless + stateful on hub + {SPOKES} spokes: {time.monotonic() - started:.0f} s")


def test_stateful_drop_on_the_same_initiator_is_not_named(tmp_path_factory, tmp_path):
    """spoke01 again, this time with established accepted before the drop: its tunnel is up, no finding."""
    started = time.monotonic()
    with running_fleet(tmp_path_factory, SPOKES, tag="initiator firewall, stateful") as the_fleet:
        drop_statefully(the_fleet, STATELESS_SPOKE, own_port(STATELESS_SPOKE))
        handshake_again(the_fleet, STATELESS_SPOKE)
        assert wait_for_tunnel(the_fleet, STATELESS_SPOKE), "a stateful firewall lets the responses in"
        report = the_fleet.timed_diagnose(tmp_path, "initiator firewall, stateful")
        before = report["before"]
        assert not findings_about(before, the_fleet, STATELESS_SPOKE), _summary(findings_about(before, the_fleet, STATELESS_SPOKE))
        assert not [f for f in before["findings"] if f["code"] == "udp_blocked_host_firewall"], _summary(before["findings"])
        assert_no_false_upstream(before)
        for spoke in the_fleet.spokes():
            assert_spoke_healthy(the_fleet, before, spoke)
    print(f"\n[initiator firewall] stateful only: {time.monotonic() - started:.0f} s")
