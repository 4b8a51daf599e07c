"""ufw (deny incoming, SSH allowed) blocked WireGuard; after the firewall role the tunnel works
again through ufw's own allow rule, SSH is still allowed, and ufw brings it back after a reboot."""
from __future__ import annotations

import re

from conftest import tunnel_works


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


def test_routes_in_and_out_of_wg0_are_allowed(server):
    status = server.check_output("ufw status")
    assert re.search(r"ALLOW FWD\s+Anywhere on wg0", status), status
    assert re.search(r"Anywhere on wg0\s+ALLOW FWD", status), status


def test_after_a_reboot_ufw_keeps_the_rule_and_the_tunnel_works(rebooted_server):
    assert_ufw_allows_wireguard_and_ssh(rebooted_server)
    assert tunnel_works(timeout=120), "after a reboot the client cannot ping 10.99.0.1 through wg0"
