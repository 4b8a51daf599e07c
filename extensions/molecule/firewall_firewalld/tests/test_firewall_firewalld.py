"""firewalld (running, default zone public: SSH allowed) blocked WireGuard; after the firewall role the
tunnel works again through the port opened in the zone the packets arrive in, runtime and permanent,
nothing of that zone was removed, the tunnel's traffic is forwarded and masqueraded out of the uplink
(and only from the tunnel subnet), no service of the server is opened to the tunnel beyond what its zone
opened before (SSH), and firewalld brings
it all back after a reboot."""
from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from conftest import lab_host, tunnel_works

PORT = "51820/udp"
ZONE = "public"
WG_ZONE = "wgd-wg0"
WG_POLICY = "wgdfw-wg0"
TUNNEL_SUBNET = "10.99.0.0/24"
SERVER_TUNNEL_ADDRESS = "10.99.0.1"
HOST_SERVICE_PORT = 8089


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
    assert host.check_output("firewall-cmd --get-default-zone") == ZONE, "the default zone was changed"
    # eth0 (the default route) was bound to no zone, so filtered by the default zone: the role binds it to that
    # same zone, since firewalld 1.x activates a policy only for zones with a bound interface (firewalld#1205).
    for flag in ("", "--permanent "):
        assert host.run(f"firewall-cmd {flag}--get-zone-of-interface=eth0").stdout.strip() == ZONE, "eth0 left its zone"
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


def info_settings(info: str) -> dict[str, list[str]]:
    """The settings of firewall-cmd --info-zone / --info-policy: "  key: values" lines; forward ports and rich rules
    come one per line after their key (tab-indented)."""
    settings: dict[str, list[str]] = {}
    key = ""
    for line in info.splitlines()[1:]:
        if line.startswith("\t") and key:
            settings[key].append(line.strip())
        elif line.startswith("  ") and ":" in line:
            key, _sep, values = line.strip().partition(":")
            settings[key] = values.split()
    return settings


def test_wg0_has_a_zone_of_its_own_and_a_policy_scoped_to_the_tunnel_subnet(server):
    """Not zone trusted (every host service open to every peer), not masquerade for the whole uplink zone:
    wg0 in zone wgd-wg0, which opens what the default zone that filtered wg0 before opened (Debian's public:
    its shipped services, SSH included, so a peer managing the server over the tunnel keeps it) and nothing
    more, and policy wgdfw-wg0 (wgd-wg0 -> public) accepting and masquerading only what comes from the tunnel
    subnet. One --info-zone / --info-policy per configuration reads every setting at once (each firewall-cmd is a
    Python start and a D-Bus round trip)."""
    opens = ("services", "ports", "protocols", "rich rules", "forward-ports", "source-ports")
    for flag in ("", "--permanent "):
        where = "permanent" if flag else "runtime"
        assert server.check_output(f"firewall-cmd {flag}--get-zone-of-interface=wg0") == WG_ZONE, where
        assert server.check_output(f"firewall-cmd {flag}--zone=trusted --list-interfaces").split() == [], where
        assert server.run(f"firewall-cmd {flag}--zone={ZONE} --query-masquerade").rc != 0, f"{where}: zone {ZONE} masquerades all"
        zone_info = server.check_output(f"firewall-cmd {flag}--info-zone={WG_ZONE}")
        zone = info_settings(zone_info)
        assert set(opens) | {"target"} <= set(zone), f"{where}: unexpected --info-zone output: {zone_info}"
        for what in opens:
            kept = sorted(shipped_services(server)) if what == "services" else []
            assert sorted(zone[what]) == kept, f"{where}: {WG_ZONE} opens {what}: {zone[what]}"
        assert zone["target"] == ["default"], f"{where}: {zone_info}"
        policy_info = server.check_output(f"firewall-cmd {flag}--info-policy={WG_POLICY}")
        policy = info_settings(policy_info)
        assert {"ingress-zones", "egress-zones", "target", "rich rules"} <= set(policy), f"{where}: unexpected --info-policy output: {policy_info}"
        assert policy["ingress-zones"] == [WG_ZONE] and policy["egress-zones"] == [ZONE], f"{where}: {policy_info}"
        assert policy["target"] == ["CONTINUE"], f"{where}: the policy accepts more than the tunnel subnet: {policy_info}"
        assert sorted(policy["rich rules"]) == sorted([f'rule family="ipv4" source address="{TUNNEL_SUBNET}" accept',
                                                       f'rule family="ipv4" source address="{TUNNEL_SUBNET}" masquerade']), \
            f"{where}: {policy_info}"
    assert WG_POLICY in server.check_output("firewall-cmd --get-active-policies").split(), "the policy is not active"


def test_a_service_of_the_server_is_not_reachable_from_the_tunnel(server):
    """A TCP listener on the server that no zone opens: zone trusted let every peer reach it; now only
    what the finding needs (forwarding out of the uplink) is open to the tunnel."""
    server.check_output(f"systemd-run --collect --unit=lab-host-service nc -lk -p {HOST_SERVICE_PORT}")
    try:
        assert any(server.run(f"nc -z -w 2 127.0.0.1 {HOST_SERVICE_PORT}").rc == 0 for _attempt in range(5)), "the listener did not start"
        client = lab_host("client")
        assert tunnel_works(), "the tunnel itself must work for this test to mean anything"
        reached = [client.run(f"nc -z -w 2 {SERVER_TUNNEL_ADDRESS} {HOST_SERVICE_PORT}").rc == 0 for _attempt in range(2)]
        assert not any(reached), f"TCP {HOST_SERVICE_PORT} of the server is reachable from the tunnel client"
    finally:
        server.run("systemctl stop lab-host-service")


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
    """The client pings the router's public address through wg0: the server forwards it (policy wgdfw-wg0)
    and masquerades it out of eth0, since the router has no route back to 10.99.0.0/24."""
    router = server.check_output("ip -4 route show default").split()[2]
    assert lab_host("router").run("ip route get 10.99.0.2").rc != 0, "the router must have no route to the tunnel"
    with client_routes_through_the_tunnel(router) as client:
        assert any(client.run(f"ping -c 1 -W 2 -I wg0 {router}").rc == 0 for _attempt in range(5)), \
            "the router does not answer through the tunnel: not forwarded or not masqueraded"


FIREWALLD_STATE = ("firewall-cmd --list-all-zones; firewall-cmd --permanent --list-all-zones; firewall-cmd --list-all-policies; "
                   "firewall-cmd --permanent --list-all-policies; firewall-cmd --get-active-zones; "
                   "find /etc/firewalld -type f -exec md5sum {} + | sort")


def test_a_check_run_after_the_role_changes_nothing(server):
    """Once converged (and idempotent), --check --diff reports nothing to change and leaves firewalld as it was."""
    scenario = Path(__file__).resolve().parents[1]
    repo = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY") or scenario.parents[2])
    before = server.check_output(FIREWALLD_STATE)
    run = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", os.environ["MOLECULE_INVENTORY_FILE"],
                          str(scenario / "converge.yml"), "--check", "--diff"],
                         env=dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
                                  ANSIBLE_COLLECTIONS_PATH=str(repo / ".cache" / "collections")),
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stdout[-3000:]
    assert re.search(r"server\s*:.*changed=0 .*failed=0", run.stdout), run.stdout[-3000:]
    assert server.check_output(FIREWALLD_STATE) == before, "the check run changed firewalld"


def test_the_dry_run_showed_exactly_the_changes_the_real_run_made():
    """prepare.yml's --check --diff and converge's real run each kept wg_firewalld's list of changes (converge.yml)."""
    kept = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
    check = json.loads((kept / "firewalld_changes.check.json").read_text())
    real = json.loads((kept / "firewalld_changes.real.json").read_text())
    assert check == real and "firewall-cmd --reload" in real, (check, real)


def test_after_a_reboot_the_port_is_open_and_the_tunnel_works(rebooted_server):
    assert_port_open_and_zone_kept(rebooted_server)
    assert rebooted_server.check_output("firewall-cmd --get-zone-of-interface=wg0") == WG_ZONE
    assert WG_POLICY in rebooted_server.check_output("firewall-cmd --get-active-policies").split()
    assert tunnel_works(timeout=120), "after a reboot the client cannot ping 10.99.0.1 through wg0"
