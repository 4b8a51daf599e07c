"""firewalld (running, default zone public: SSH allowed) blocked WireGuard; after the firewall role the
tunnel works again through the port opened in the zone the packets arrive in, runtime and permanent,
nothing of that zone was removed, the tunnel's traffic is forwarded and masqueraded out of the uplink,
and firewalld brings it all back after a reboot."""
from __future__ import annotations

import contextlib
import xml.etree.ElementTree as ET

from conftest import lab_host, tunnel_works

PORT = "51820/udp"
ZONE = "public"


def zone_setting(host, what: str, permanent: bool) -> list[str]:
    flag = "--permanent " if permanent else ""
    return host.check_output(f"firewall-cmd {flag}--zone={ZONE} --list-{what}").split()


def shipped_services(host) -> set[str]:
    """The services Debian's firewalld ships in the zone: none of them may be gone."""
    xml = host.file(f"/usr/lib/firewalld/zones/{ZONE}.xml").content_string
    return {element.get("name") for element in ET.fromstring(xml).iter("service")}


def assert_port_open_and_zone_kept(host) -> None:
    assert host.check_output("firewall-cmd --state") == "running"
    assert host.run("systemctl is-enabled firewalld").stdout.strip() == "enabled"
    # eth0 (the default route) is bound to no zone: its packets are filtered by the default zone.
    assert host.check_output("firewall-cmd --get-default-zone") == ZONE, "the default zone was changed"
    assert host.run("firewall-cmd --get-zone-of-interface=eth0").stdout.strip() == "", "eth0 was bound to a zone"
    for permanent in (False, True):
        where = "permanent" if permanent else "runtime"
        assert zone_setting(host, "ports", permanent) == [PORT], f"{where}: {PORT} is not (only) what was added"
        services = set(zone_setting(host, "services", permanent))
        assert "ssh" in services, f"{where}: the ssh service is gone from zone {ZONE}"
        assert shipped_services(host) <= services, f"{where}: a service of zone {ZONE} was removed: {services}"
        flag = "--permanent " if permanent else ""
        assert "target: default" in host.check_output(f"firewall-cmd {flag}--zone={ZONE} --list-all"), \
            f"{where}: the target of zone {ZONE} was changed"
    # What firewalld loads at boot: the zone's copy under /etc/firewalld/zones.
    saved = ET.fromstring(host.file(f"/etc/firewalld/zones/{ZONE}.xml").content_string)
    assert {(p.get("port"), p.get("protocol")) for p in saved.iter("port")} == {("51820", "udp")}


def test_client_reaches_server_through_the_tunnel():
    assert tunnel_works(), "the client cannot ping 10.99.0.1 through wg0: firewalld still rejects UDP 51820"


def test_port_is_open_in_the_default_zone_runtime_and_permanent(server):
    assert_port_open_and_zone_kept(server)


def test_ssh_still_answers_through_firewalld(server):
    """Something listening on TCP 22 of the server is reachable from the client, across the NAT router."""
    address = server.interface("eth0").addresses[0]
    server.check_output("systemd-run --collect --unit=lab-ssh-standin nc -lk -p 22")
    try:
        client = lab_host("client")
        assert any(client.run(f"nc -z -w 2 {address} 22").rc == 0 for _attempt in range(5)), "TCP 22 is not reachable"
    finally:
        server.run("systemctl stop lab-ssh-standin")


def test_wg0_is_trusted_and_masquerade_is_on_runtime_and_permanent(server):
    for flag in ("", "--permanent "):
        assert server.check_output(f"firewall-cmd {flag}--zone=trusted --list-interfaces").split() == ["wg0"]
        assert server.run(f"firewall-cmd {flag}--zone={ZONE} --query-masquerade").rc == 0


@contextlib.contextmanager
def client_routes_through_the_tunnel(destination: str):
    """The client sends traffic for destination into wg0 (its peer entry and a route), for the test only."""
    client = lab_host("client")
    peer = client.check_output("wg show wg0 peers").split()[0]
    client.check_output(f"wg set wg0 peer {peer} allowed-ips 10.99.0.1/32,{destination}/32")
    client.check_output(f"ip route add {destination}/32 dev wg0")
    try:
        yield client
    finally:
        client.run(f"ip route del {destination}/32 dev wg0")
        client.run(f"wg set wg0 peer {peer} allowed-ips 10.99.0.1/32")


def test_tunnel_traffic_is_forwarded_and_masqueraded_out_of_the_uplink(server):
    """The client pings the router's public address through wg0: the server forwards it (wg0 is in zone
    trusted) and masquerades it out of eth0, since the router has no route back to 10.99.0.0/24."""
    router = server.check_output("ip -4 route show default").split()[2]
    assert lab_host("router").run("ip route get 10.99.0.2").rc != 0, "the router must have no route to the tunnel"
    with client_routes_through_the_tunnel(router) as client:
        assert any(client.run(f"ping -c 1 -W 2 -I wg0 {router}").rc == 0 for _attempt in range(5)), \
            "the router does not answer through the tunnel: not forwarded or not masqueraded"


def test_after_a_reboot_the_port_is_open_and_the_tunnel_works(rebooted_server):
    assert_port_open_and_zone_kept(rebooted_server)
    assert rebooted_server.check_output("firewall-cmd --zone=trusted --list-interfaces").split() == ["wg0"]
    assert tunnel_works(timeout=120), "after a reboot the client cannot ping 10.99.0.1 through wg0"
