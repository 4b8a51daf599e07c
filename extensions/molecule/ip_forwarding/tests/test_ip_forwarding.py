"""The server started with forwarding off; the ip_forwarding role turns it on now and for good."""
from __future__ import annotations

CONF = "/etc/sysctl.d/90-wgdoctor-forwarding.conf"


def test_forwarding_is_on_live(server):
    assert server.check_output("cat /proc/sys/net/ipv4/ip_forward").strip() == "1"


def test_setting_is_in_its_own_sysctl_file(server):
    assert "net.ipv4.ip_forward=1" in server.file(CONF).content_string.replace(" ", "")


def test_ipv6_forwarding_was_left_alone(server):
    assert "net.ipv6.conf.all.forwarding" not in server.file(CONF).content_string


def test_forwarding_is_still_on_after_a_reboot(rebooted_server):
    # systemd-sysctl skips a read-only /proc/sys/net, and the lab makes it writable only once the
    # container has booted: replay that boot step, as a real host's boot runs it.
    rebooted_server.run("systemctl restart systemd-sysctl.service")
    assert rebooted_server.check_output("cat /proc/sys/net/ipv4/ip_forward").strip() == "1"
