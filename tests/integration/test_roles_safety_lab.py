"""Roles that must not harm the host they fix: a router-advertised IPv6 default route survives the
ip_forwarding role, and the service role brings a tunnel up on a host that has no systemd.

Each test starts its own throw-away host on the lab's site network (PID 1 is `sleep`, not systemd)
and removes it afterwards; the lab's client, server and router are left as they were.
"""
from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import time

import pytest

from conftest import LAB, PREFIX, lab_env


def lab_topology():
    """tests/lab/lab.py as a module, for the addresses of the lab this run uses."""
    spec = importlib.util.spec_from_file_location("lab_topology", LAB)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def podman(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(["podman", *args], env=lab_env(), text=True, capture_output=True, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"podman {' '.join(args[:3])}... failed ({proc.returncode}): {proc.stderr}")
    return proc


class PlainHost:
    """A lab host without systemd, reached by Ansible through podman."""

    def __init__(self, container: str, inventory: str):
        self.container = container
        self.inventory = inventory

    def sh(self, script: str, check: bool = True) -> str:
        return podman("exec", self.container, "sh", "-ec", script, check=check).stdout

    def playbook(self, play: str, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["ansible-playbook", "-i", self.inventory, play, *args], env=lab_env(),
                              text=True, capture_output=True, check=False)


def start_plain_host(tmp_path, name: str, last_octet: int) -> PlainHost:
    """A container on the site network whose PID 1 is `sleep`; its own network sysctls writable, as lab.py does."""
    topology = lab_topology()
    container = f"{PREFIX}-{name}"
    podman("rm", "-f", "-t", "0", container, check=False)
    tag = subprocess.run([sys.executable, LAB, "image"], env=lab_env(), check=True, capture_output=True, text=True).stdout.strip()
    podman("run", "-d", "--name", container, "--hostname", name, "--label", f"wgdoctor-lab={PREFIX}",
           "--cap-add", "NET_ADMIN,NET_RAW", "--device", "/dev/net/tun",
           "--network", f"{PREFIX}-site:ip={topology.SITE}.{last_octet}", "--dns", "none",
           tag, "sleep", "infinity")
    pid = podman("inspect", "-f", "{{.State.Pid}}", container).stdout.strip()
    subprocess.run(["nsenter", "-t", pid, "-m", "sh", "-c",
                    "mount --bind /proc/sys/net /proc/sys/net && mount -o remount,bind,rw /proc/sys/net"], check=True)
    inventory = tmp_path / f"{name}_inventory.json"
    inventory.write_text(json.dumps({"all": {"hosts": {name: {"ansible_connection": "containers.podman.podman",
                                                              "ansible_host": container,
                                                              "ansible_python_interpreter": "/usr/bin/python3"}}}}))
    return PlainHost(container, str(inventory))


def changed_count(run: subprocess.CompletedProcess, host: str) -> int:
    match = re.search(rf"^{host}\s*:.*changed=(\d+).*failed=0", run.stdout, re.MULTILINE)
    assert match, f"the run failed on {host}:\n{run.stdout[-5000:]}\n{run.stderr[-2000:]}"
    return int(match.group(1))


# ---------------------------------------------------------------- IPv6 forwarding and router advertisements
RA_LIFETIME = 20  # seconds: a default route that no advertisement refreshes is gone after this long
RA_SENDER = """\
import os, socket, struct, sys, time
target, ifname, lifetime = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open("/run/wgd-ra-sender.pid", "w") as handle:
    handle.write(str(os.getpid()))
sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 255)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ifname.encode())
# Router Advertisement (RFC 4861 4.2): type 134, hop limit 64, no flags, router lifetime; the kernel fills the checksum.
advertisement = struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, lifetime, 0, 0)
while True:
    sock.sendto(advertisement, (target, 0, 0, socket.if_nametoindex(ifname)))
    time.sleep(2)
"""
FORWARD_V6_PLAY = """\
- name: Turn on IPv6 forwarding
  hosts: ra6host
  gather_facts: false
  roles:
    - role: wgdoctor.wireguard.ip_forwarding
      vars:
        ip_forwarding_ipv4: false
        ip_forwarding_ipv6: true
"""
SYSCTL_FILE = "/etc/sysctl.d/90-wgdoctor-forwarding.conf"


def ra_default_route(host: PlainHost) -> str:
    return host.sh("ip -6 route show default proto ra").strip()


def wait_for_ra_default_route(host: PlainHost, timeout: float = 15) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        route = ra_default_route(host)
        if route:
            return route
        time.sleep(0.5)
    raise AssertionError(f"no router advertisement reached {host.container} within {timeout:.0f} s")


@pytest.fixture
def ra_host(lab, tmp_path):
    """A host whose IPv6 default route is learned from real router advertisements (accept_ra=1, forwarding off).

    The lab has no IPv6 router, so the lab router sends one: a minimal RA every 2 s with a 20 s router
    lifetime, unicast to this host's link-local address (the other site hosts, and the machine's bridge,
    never see it). Only real RAs show the kernel's behaviour: turning on forwarding deletes the default
    routes it learned from RAs and ignores new RAs, except on interfaces with accept_ra=2. A route added by
    hand with `proto ra` is not one the kernel learned, and survives either way."""
    host = start_plain_host(tmp_path, "ra6host", 13)
    router = f"{PREFIX}-router"
    try:
        assert host.sh("sysctl -n net.ipv6.conf.all.forwarding net.ipv6.conf.eth0.accept_ra").split() == ["0", "1"]
        link_local = host.sh("ip -6 -o addr show dev eth0 scope link").split()[3].split("/")[0]
        site_address = host.sh("ip -4 -o addr show dev eth0").split()[3].split("/")[0]
        router_if = podman("exec", router, "ip", "-o", "route", "get", site_address).stdout.split(" dev ")[1].split()[0]
        subprocess.run(["podman", "exec", "-i", router, "sh", "-c", "cat > /run/wgd-ra-sender.py"], input=RA_SENDER,
                       env=lab_env(), text=True, check=True)
        podman("exec", "-d", router, "python3", "/run/wgd-ra-sender.py", link_local, router_if, str(RA_LIFETIME))
        wait_for_ra_default_route(host)
        play = tmp_path / "forward_v6.yml"
        play.write_text(FORWARD_V6_PLAY)
        yield host, str(play)
    finally:
        podman("exec", router, "sh", "-c", "test -f /run/wgd-ra-sender.pid && kill $(cat /run/wgd-ra-sender.pid); "
                                           "rm -f /run/wgd-ra-sender.pid /run/wgd-ra-sender.py", check=False)
        podman("rm", "-f", "-t", "0", host.container, check=False)


def test_ipv6_forwarding_keeps_the_default_route_learned_from_router_advertisements(ra_host):
    host, play = ra_host
    route = wait_for_ra_default_route(host)

    run = host.playbook(play)
    assert changed_count(run, "ra6host") > 0
    assert ra_default_route(host), f"turning on IPv6 forwarding deleted the default route ({route})"
    assert changed_count(run, "ra6host") == 2
    assert host.sh("sysctl -n net.ipv6.conf.all.forwarding net.ipv6.conf.eth0.accept_ra").split() == ["1", "2"]
    persisted = [line.replace(" ", "") for line in host.sh(f"cat {SYSCTL_FILE}").splitlines() if line.strip()]
    assert "net.ipv6.conf.eth0.accept_ra=2" in persisted and "net.ipv6.conf.all.forwarding=1" in persisted
    # At boot the file is applied in order: accept_ra=2 must already hold when forwarding comes on.
    assert persisted.index("net.ipv6.conf.eth0.accept_ra=2") < persisted.index("net.ipv6.conf.all.forwarding=1")

    # Still there once its first lifetime is over: new advertisements keep refreshing it.
    time.sleep(RA_LIFETIME + 4)
    assert ra_default_route(host), f"the RA default route expired: forwarding made the kernel ignore new advertisements ({route})"

    again = host.playbook(play)
    assert changed_count(again, "ra6host") == 0, again.stdout[-3000:]


def test_ipv6_forwarding_check_mode_names_the_accept_ra_it_would_set_and_changes_nothing(ra_host):
    host, play = ra_host
    check = host.playbook(play, "--check", "--diff")
    assert changed_count(check, "ra6host") == 2, check.stdout[-3000:]
    assert "net.ipv6.conf.eth0.accept_ra" in check.stdout, "check mode does not say which accept_ra it would set"
    assert host.sh("sysctl -n net.ipv6.conf.all.forwarding net.ipv6.conf.eth0.accept_ra").split() == ["0", "1"]
    assert host.sh(f"test -e {SYSCTL_FILE} && echo present || echo absent").strip() == "absent"
    assert ra_default_route(host)


def test_ip_forwarding_refuses_rather_than_lose_the_ra_default_route_when_told_not_to_touch_accept_ra(ra_host):
    host, play = ra_host
    gateway = wait_for_ra_default_route(host).split()[2]
    run = host.playbook(play, "-e", "ip_forwarding_ipv6_keep_ra_default_route=false")
    assert run.returncode != 0
    assert f"default via {gateway} dev eth0 proto ra" in run.stdout, run.stdout[-3000:]
    assert host.sh("sysctl -n net.ipv6.conf.all.forwarding net.ipv6.conf.eth0.accept_ra").split() == ["0", "1"]
    assert ra_default_route(host)


def test_ip_forwarding_leaves_accept_ra_alone_on_a_host_without_an_ra_default_route(lab, tmp_path):
    host = start_plain_host(tmp_path, "ra6host", 13)
    try:
        play = tmp_path / "forward_v6.yml"
        play.write_text(FORWARD_V6_PLAY)
        assert changed_count(host.playbook(play), "ra6host") == 1
        assert host.sh("sysctl -n net.ipv6.conf.all.forwarding net.ipv6.conf.eth0.accept_ra").split() == ["1", "1"]
        assert "accept_ra" not in host.sh(f"cat {SYSCTL_FILE}")
    finally:
        podman("rm", "-f", "-t", "0", host.container, check=False)


# ---------------------------------------------------------------- the service role without systemd
TUNNEL = "wgsite7"
LISTEN_PORT = 51877
SERVICE_PLAY = f"""\
- name: Bring up a WireGuard interface on a host without systemd
  hosts: plainhost
  gather_facts: false
  # No kernel module on the lab machine: wg-quick falls back to wireguard-go, as the lab's systemd drop-in says.
  environment:
    WG_QUICK_USERSPACE_IMPLEMENTATION: wireguard-go
  roles:
    - role: wgdoctor.wireguard.service
      vars:
        service_interface: {TUNNEL}
  post_tasks:
    - name: Show what the role found out
      ansible.builtin.debug:
        var: service_result
"""


@pytest.fixture
def plain_host(lab, tmp_path):
    host = start_plain_host(tmp_path, "plainhost", 14)
    try:
        peer = host.sh("wg genkey | wg pubkey").strip()
        host.sh(f"""
umask 077
cat > /etc/wireguard/{TUNNEL}.conf <<CONF
[Interface]
Address = 10.98.7.1/24
ListenPort = {LISTEN_PORT}
PrivateKey = $(wg genkey)

[Peer]
PublicKey = {peer}
AllowedIPs = 10.98.7.2/32
CONF
""")
        play = tmp_path / "service.yml"
        play.write_text(SERVICE_PLAY)
        yield host, str(play), peer
    finally:
        podman("rm", "-f", "-t", "0", host.container, check=False)


def test_service_role_brings_the_interface_up_with_wg_quick_on_a_host_without_systemd(plain_host):
    host, play, peer = plain_host
    assert host.sh("cat /proc/1/comm").strip() == "sleep"

    check = host.playbook(play, "--check")
    assert changed_count(check, "plainhost") == 1, check.stdout[-3000:]
    assert host.sh(f"ip link show dev {TUNNEL} >/dev/null 2>&1 && echo up || echo absent").strip() == "absent", "check mode brought the interface up"

    run = host.playbook(play)
    assert changed_count(run, "plainhost") == 1
    assert host.sh(f"wg show {TUNNEL} peers").split() == [peer]
    assert host.sh(f"wg show {TUNNEL} listen-port").strip() == str(LISTEN_PORT)
    assert "10.98.7.1/24" in host.sh(f"ip -4 -o addr show dev {TUNNEL}")
    # Said plainly, in the output and as a fact: nothing will start it again after a reboot.
    assert "cannot be enabled at boot" in run.stdout, run.stdout[-3000:]
    assert re.search(r'"?enabled_at_boot"?: false', run.stdout), run.stdout[-3000:]

    again = host.playbook(play)
    assert changed_count(again, "plainhost") == 0, again.stdout[-3000:]
    assert host.sh(f"wg show {TUNNEL} peers").split() == [peer]


# ---------------------------------------------------------------- the firewall role's nftables plan (wg_firewall)
FW_TUNNEL = "wgfw7"
FW_PORT = 51907
FW_SUBNET = "10.97.7.0/24"
FW_BOOT_CONF = """\
#!/usr/sbin/nft -f
flush ruleset
table inet filter {
\tchain input {
\t\ttype filter hook input priority 0; policy drop;
\t\tct state established,related accept
\t\ttcp dport 22 accept
\t}
\tchain forward {
\t\ttype filter hook forward priority 0; policy drop;
\t}
}
"""
# Another tool's table, made at runtime (Docker, libvirt, fail2ban do so): in no boot config, and it could drop.
FOREIGN_TABLE = """\
table inet foreign_tool {
\tchain input {
\t\ttype filter hook input priority -5; policy accept;
\t\tip saddr 10.255.255.254 counter drop
\t}
}
"""
FIREWALL_PLAY = """\
- name: Open a tunnel in the host's nftables ruleset
  hosts: fwhost
  gather_facts: false
  roles:
    - role: wgdoctor.wireguard.firewall
      vars:
        firewall_interface: {tunnel}
        firewall_port: {port}
        firewall_forward: true
        firewall_forward_sources: [{subnet}]
        firewall_forward_uplinks: [eth0]
        firewall_masquerade_source: {subnet}
        firewall_masquerade_interface: eth0
        firewall_nftables_chains: [inet filter input]
  post_tasks:
    - name: Keep what the module planned, for the test to compare
      ansible.builtin.copy:
        content: "{{{{ firewall_nft_result | to_json }}}}"
        dest: "{{{{ result_file }}}}"
        mode: "0600"
      delegate_to: localhost
      check_mode: false
      changed_when: false
"""


@pytest.fixture
def nft_host(lab, tmp_path):
    host = start_plain_host(tmp_path, "fwhost", 17)
    try:
        host.sh(f"cat > /etc/nftables.conf <<'CONF'\n{FW_BOOT_CONF}CONF\nnft -f /etc/nftables.conf")
        host.sh(f"nft -f - <<'NFT'\n{FOREIGN_TABLE}NFT")
        play = tmp_path / "firewall.yml"
        play.write_text(FIREWALL_PLAY.format(tunnel=FW_TUNNEL, port=FW_PORT, subnet=FW_SUBNET))
        yield host, str(play)
    finally:
        podman("rm", "-f", "-t", "0", host.container, check=False)


def role_rules(host: PlainHost) -> list[str]:
    """The rules commented wgdoctor in the host's chains and our masquerade table, as the module's diff names them."""
    lines = []
    for chain in ("input", "forward"):
        for line in host.sh(f"nft list chain inet filter {chain}").splitlines():
            if line.strip().endswith('comment "wgdoctor"'):
                lines.append(f"inet filter {chain}: {line.strip()}")
    for line in host.sh(f"nft list table ip wgdoctor_nat_{FW_TUNNEL} 2>/dev/null || true").splitlines():
        if line.strip().endswith('comment "wgdoctor"'):
            lines.append(f"ip wgdoctor_nat_{FW_TUNNEL} postrouting: {line.strip()}")
    return sorted(lines)


def lines_of(text: str) -> list[str]:
    return sorted(line for line in text.splitlines() if line)


def test_firewall_check_diff_shows_exactly_what_the_real_run_does_and_leaves_a_foreign_table_alone(nft_host, tmp_path):
    host, play = nft_host
    drop_in = f"/etc/nftables.d/wgdoctor-{FW_TUNNEL}.nft"
    foreign_before = host.sh("nft -a list table inet foreign_tool")
    ruleset_before = host.sh("nft -s list ruleset")
    conf_before = host.sh("cat /etc/nftables.conf")

    check = host.playbook(play, "--check", "--diff", "-e", f"result_file={tmp_path / 'check.json'}")
    assert changed_count(check, "fwhost") == 1, check.stdout[-4000:]
    shown = json.loads((tmp_path / "check.json").read_text())
    assert host.sh("nft -s list ruleset") == ruleset_before, "check mode changed the ruleset"
    assert host.sh("cat /etc/nftables.conf") == conf_before, "check mode changed the boot config"
    assert host.sh(f"test -e {drop_in} && echo present || echo absent").strip() == "absent"
    assert f"udp dport {FW_PORT} accept" in check.stdout, "--diff does not show the rule"
    said = check.stdout + check.stderr
    assert "foreign_tool" in said and "runtime" in said, "the runtime-only table is not named"
    assert shown["chains"] == ["inet filter input", "inet filter forward"]
    assert shown["runtime_only"] == ["inet foreign_tool input"]

    run = host.playbook(play, "--diff", "-e", f"result_file={tmp_path / 'run.json'}")
    assert changed_count(run, "fwhost") == 1, run.stdout[-4000:]
    done = json.loads((tmp_path / "run.json").read_text())
    assert done["diff"] == shown["diff"], "the real run's change differs from what --check --diff showed"
    assert done["inserted"] == shown["inserted"] and done["removed"] == shown["removed"]
    live, drop_in_diff, conf_diff = shown["diff"]
    # What the diff said, the host now holds: the live rules, the drop-in and the boot config.
    assert lines_of(live["before"]) == [] and lines_of(live["after"]) == role_rules(host)
    assert drop_in_diff["before_header"] == drop_in and drop_in_diff["before"] == ""
    assert host.sh(f"cat {drop_in}") == drop_in_diff["after"]
    assert conf_diff["before"] == conf_before and host.sh("cat /etc/nftables.conf") == conf_diff["after"]
    assert f'inet filter forward: iifname "{FW_TUNNEL}" oifname "eth0" ip saddr {FW_SUBNET} accept comment "wgdoctor"' \
        in role_rules(host)

    again = host.playbook(play, "--diff", "-e", f"result_file={tmp_path / 'again.json'}")
    assert changed_count(again, "fwhost") == 0, again.stdout[-4000:]
    assert json.loads((tmp_path / "again.json").read_text())["diff"] == []

    assert host.sh("nft -a list table inet foreign_tool") == foreign_before, "another tool's table changed"
    assert "foreign_tool" not in host.sh("cat /etc/nftables.conf /etc/nftables.d/*.nft")
    assert host.sh("unshare -Urn nft -c -f /etc/nftables.conf && echo loads").strip() == "loads"
