"""ufw (deny incoming, SSH allowed) blocked WireGuard; after the firewall role the tunnel works
again through ufw's own allow rule, SSH is still allowed, and ufw brings it back after a reboot."""
from __future__ import annotations

import re

from conftest import tunnel_works
from forward_paths import (
    packets_forwarded_into_the_tunnel_from_the_uplink, server_routes_between_tunnel_and_uplink, tunnel_client_reaches_the_uplink)


def assert_ufw_allows_wireguard_and_ssh(host) -> None:
    status = host.check_output("ufw status verbose")
    assert "Status: active" in status, "ufw is no longer active"
    assert "Default: deny (incoming)" in status, "the default incoming policy was changed"
    assert re.search(r"^51820/udp\s+ALLOW IN\s+Anywhere\s+# wgdoctor", status, re.M), f"no allow for 51820/udp:\n{status}"
    assert re.search(r"^22/tcp\s+ALLOW IN\s+Anywhere", status, re.M), "the SSH allow is gone"


def test_client_reaches_server_through_the_tunnel():
    assert tunnel_works(), "the client cannot ping 10.99.0.1 through wg0: ufw still denies UDP 51820"


def test_ufw_allows_wireguard_and_ssh(server):
    assert_ufw_allows_wireguard_and_ssh(server)


def test_only_the_tunnel_subnet_is_routed_out_of_the_uplink(server):
    status = server.check_output("ufw status")
    assert re.search(r"^Anywhere on eth0\s+ALLOW FWD\s+10\.99\.0\.0/24 on wg0\s+# wgdoctor", status, re.M), status
    # ufw's own before.rules accept the replies (RELATED,ESTABLISHED) in ufw-before-forward.
    into_the_tunnel = [line for line in status.splitlines() if re.search(r"^\S+ on wg0\s+ALLOW FWD", line)]
    assert not into_the_tunnel, f"routing into the tunnel is allowed: {into_the_tunnel}"
    from_anywhere_in_the_tunnel = [line for line in status.splitlines() if re.search(r"ALLOW FWD\s+Anywhere on wg0", line)]
    assert not from_anywhere_in_the_tunnel, f"routing from any source in the tunnel is allowed: {from_anywhere_in_the_tunnel}"


def test_tunnel_client_gets_out_through_the_uplink_but_the_uplink_cannot_reach_into_the_tunnel():
    with server_routes_between_tunnel_and_uplink():
        assert tunnel_client_reaches_the_uplink(), "the client's traffic is not forwarded out of eth0 (or the reply not back)"
        forwarded = packets_forwarded_into_the_tunnel_from_the_uplink("udp")
        assert forwarded == 0, f"the server forwarded {forwarded} new packet(s) from a neighbour on eth0 into wg0"


def test_ufw_speaks_french_to_the_session_the_role_ran_in(server):
    """The converge ran with LANGUAGE=fr: ufw's status is translated there, so only the C locale the role asks
    in found ufw active (and the rules above are ufw's, not iptables rules added around it)."""
    translated = server.check_output("LANGUAGE=fr ufw status")
    assert "Status: active" not in translated and "actif" in translated, translated
    assert "wgdoctor" not in server.check_output("iptables -S INPUT"), "the role changed iptables instead of ufw"


def test_masquerade_block_is_in_before_rules_and_loaded(server):
    before_rules = server.file("/etc/ufw/before.rules").content_string
    assert "-A POSTROUTING -s 10.99.0.0/24 -o eth0 -j MASQUERADE" in before_rules
    assert before_rules.startswith("# BEGIN wgdoctor masquerade wg0"), "the *nat block is not at the top of before.rules"
    assert "-A POSTROUTING -s 10.99.0.0/24 -o eth0 -j MASQUERADE" in server.check_output("iptables -t nat -S POSTROUTING")


def test_after_a_reboot_ufw_keeps_the_rule_and_the_tunnel_works(rebooted_server):
    assert_ufw_allows_wireguard_and_ssh(rebooted_server)
    assert tunnel_works(timeout=120), "after a reboot the client cannot ping 10.99.0.1 through wg0"
