"""Build and run the wgdoctor lab: systemd test hosts on internal podman networks.

    lab.py image              build the test-host image unless one with the same inputs exists
    lab.py up [--client2]     start router, server and client (docs/lab.md has the topology)
    lab.py down               remove every container and network of the lab
    lab.py inventory          print an Ansible inventory for the running lab
    lab.py restart HOST       reboot one host (systemd starts again, sysctls stay writable)
    lab.py stop HOST          stop one host (a dead host); `restart` brings it back
    lab.py dns NAME ADDRESS   point NAME at ADDRESS in the router's DNS

Every name carries the prefix from WGD_LAB_PREFIX (default "wgd") so two checkouts can
run side by side. All networks are --internal: no test traffic leaves the machine.
"""
from __future__ import annotations

import argparse
import hashlib
import ipaddress
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PREFIX = os.environ.get("WGD_LAB_PREFIX", "wgd")
# Several labs may run side by side (one per developer or suite): each index takes
# its own subnets. Public ranges: RFC 5737 documentation net 198.51.100 for the first,
# then the RFC 2544 benchmarking range. 192.0.2 and 203.0.113 are NOT used: on this kind
# of machine the host itself and the package-registry proxy live there.
INDEX = int(os.environ.get("WGD_LAB_INDEX", "0"))
PUBLIC_NETS = ["198.51.100"] + [f"198.18.{n}" for n in range(1, 10)]
if not 0 <= INDEX < len(PUBLIC_NETS):
    raise SystemExit(f"WGD_LAB_INDEX must be 0..{len(PUBLIC_NETS) - 1}")
PUB = PUBLIC_NETS[INDEX]
SITE = f"10.77.{INDEX}"
# IPv6 beside every IPv4 network, per index: 2001:db8::/32 (RFC 3849, documentation) never leaves
# a machine, and the diagnosis counts it as public, as it does 198.51.100 and 198.18 (a ULA would
# read as "behind NAT", and this machine's own uplink sits in fd00::/64). The interface ids repeat
# the IPv4 last octets: server PUB.10 is PUB6::10.
PUB6 = f"2001:db8:{INDEX}:100"
SITE6 = f"2001:db8:{INDEX}:77"
BASE_IMAGE = "localhost/wgdoctor-lab-base:bookworm"
IMAGE_REPO = "localhost/wgdoctor-lab"
SERVER_NAME = "vpn.wgdoctor.test"

# Documentation ranges stand in for "the internet"; the site network is RFC 1918 so the
# client looks NATed, as a laptop behind a home router does.
NETWORKS = {
    "public": {"subnet": f"{PUB}.0/24", "gateway": f"{PUB}.1", "subnet6": f"{PUB6}::/64", "gateway6": f"{PUB6}::1"},
    "site": {"subnet": f"{SITE}.0/24", "gateway": f"{SITE}.1", "subnet6": f"{SITE6}::/64", "gateway6": f"{SITE6}::1"},
}
HOSTS = {
    "router": {"networks": {"public": f"{PUB}.2", "site": f"{SITE}.2"}, "forward": True},
    "server": {"networks": {"public": f"{PUB}.10"}, "forward": False},
    "client": {"networks": {"site": f"{SITE}.10"}, "forward": False, "behind": "router"},
    "client2": {"networks": {"site": f"{SITE}.11"}, "forward": False, "behind": "router", "optional": True},
}
# No NAT for IPv6: the site's hosts have global addresses, and the router only forwards, as home
# routers do (its filter still lets nothing from outside open a connection into the site).
for _spec in HOSTS.values():
    _spec["networks6"] = {net: "%s::%s" % (PUB6 if net == "public" else SITE6, address.rsplit(".", 1)[1])
                          for net, address in _spec["networks"].items()}


def log(msg: str) -> None:
    print(f"[lab] {msg}", file=sys.stderr, flush=True)


def podman(*args: str, check: bool = True, capture: bool = True, input_text: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, CONTAINERS_CONF=os.path.join(HERE, "containers.conf"))
    proc = subprocess.run(["podman", *args], env=env, text=True, input=input_text, check=False,
                          stdout=subprocess.PIPE if capture else None,
                          stderr=subprocess.PIPE if capture else None)
    if check and proc.returncode != 0:
        raise SystemExit(f"podman {' '.join(args)} failed ({proc.returncode}): {proc.stderr or ''}")
    return proc


def name(role: str) -> str:
    return f"{PREFIX}-{role}"


def exec_in(host: str, script: str, check: bool = True) -> subprocess.CompletedProcess:
    return podman("exec", name(host), "sh", "-ec", script, check=check)


# ---------------------------------------------------------------- image
def image_tag() -> str:
    """The image is named after its inputs, so a changed Containerfile rebuilds it."""
    digest = hashlib.sha256()
    for part in ("Containerfile", "containers.conf"):
        with open(os.path.join(HERE, part), "rb") as handle:
            digest.update(handle.read())
    return f"{IMAGE_REPO}:{digest.hexdigest()[:12]}"


def image_exists(ref: str) -> bool:
    return podman("image", "exists", ref, check=False).returncode == 0


def debian_mirror() -> str:
    """Use the mirror this machine's apt already uses: no other host is reachable."""
    for path in ("/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list"):
        try:
            with open(path, encoding="utf-8") as handle:
                for line in handle:
                    words = line.split()
                    if words[:1] == ["URIs:"] and "security" not in words[1]:
                        return words[1]
                    if words[:1] == ["deb"] and "security" not in line:
                        return words[1] if not words[1].startswith("[") else words[2]
        except OSError:
            continue
    return "http://deb.debian.org/debian"


def build_base() -> None:
    root = tempfile.mkdtemp(prefix="wgd-debootstrap-")
    try:
        mirror = debian_mirror()
        log(f"debootstrap bookworm from {mirror}")
        subprocess.run(["debootstrap", "--variant=minbase", "bookworm", root, mirror], check=True,
                       stdout=subprocess.DEVNULL)
        tar = subprocess.Popen(["tar", "-C", root, "-c", "."], stdout=subprocess.PIPE)
        env = dict(os.environ, CONTAINERS_CONF=os.path.join(HERE, "containers.conf"))
        subprocess.run(["podman", "import", "-", BASE_IMAGE], stdin=tar.stdout, check=True, env=env,
                       stdout=subprocess.DEVNULL)
        tar.wait()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def build_image() -> str:
    tag = image_tag()
    if image_exists(tag):
        log(f"image {tag} is up to date")
        return tag
    if not image_exists(BASE_IMAGE):
        build_base()
    log(f"building {tag}")
    podman("build", "--network", "host", "-t", tag, "-f", os.path.join(HERE, "Containerfile"), HERE, capture=False)
    podman("tag", tag, f"{IMAGE_REPO}:latest")
    return tag


# ---------------------------------------------------------------- up / down
# Hosts the machine must keep reaching while a lab runs: a lab subnet that contains one
# of their addresses would capture its traffic on a local bridge.
KEEP_REACHABLE = ("pypi.org", "files.pythonhosted.org", "deb.debian.org")


def check_subnets_free() -> None:
    for hostname in KEEP_REACHABLE:
        try:
            addresses = {info[4][0].split("%", 1)[0] for info in socket.getaddrinfo(hostname, 443, 0, socket.SOCK_STREAM)}
        except OSError:
            continue
        for net, spec in NETWORKS.items():
            for subnet in (ipaddress.ip_network(spec["subnet"]), ipaddress.ip_network(spec["subnet6"])):
                clash = [a for a in addresses if ipaddress.ip_address(a) in subnet]
                if clash:
                    raise SystemExit(f"lab network {net} {subnet} would capture {hostname} ({clash[0]}): choose another WGD_LAB_INDEX")


def create_networks() -> None:
    check_subnets_free()
    for net, spec in NETWORKS.items():
        if podman("network", "exists", name(net), check=False).returncode == 0:
            continue
        # --internal: podman gives the machine's bridge no address in either family, so the machine
        # neither routes into the lab nor out of it.
        podman("network", "create", "--internal", "--disable-dns", "--subnet", spec["subnet"],
               "--gateway", spec["gateway"], "--ipv6", "--subnet", spec["subnet6"], "--gateway", spec["gateway6"], name(net))


def start_host(role: str, tag: str) -> None:
    spec = HOSTS[role]
    args = ["run", "-d", "--name", name(role), "--hostname", role, "--systemd=always",
            "--cap-add", "NET_ADMIN,NET_RAW", "--device", "/dev/net/tun",
            "--stop-timeout", "5", "--label", f"wgdoctor-lab={PREFIX}",
            "--sysctl", f"net.ipv4.ip_forward={1 if spec['forward'] else 0}",
            "--sysctl", f"net.ipv6.conf.all.forwarding={1 if spec['forward'] else 0}"]
    for net, address in spec["networks"].items():
        args += ["--network", f"{name(net)}:ip={address},ip6={spec['networks6'][net]}"]
    if spec.get("behind"):
        args += ["--dns", HOSTS[spec["behind"]]["networks"]["site"], "--dns-search", "wgdoctor.test"]
    else:
        args += ["--dns", "none"]
    podman(*args, tag, "/sbin/init")


def writable_net_sysctls(role: str) -> None:
    """Make only this host's network-namespace sysctls writable (never --privileged: that exposes host-wide ones)."""
    pid = podman("inspect", "-f", "{{.State.Pid}}", name(role)).stdout.strip()
    subprocess.run(["nsenter", "-t", pid, "-m", "sh", "-c",
                    "mount --bind /proc/sys/net /proc/sys/net && mount -o remount,bind,rw /proc/sys/net"],
                   check=True)


def wait_for_systemd(role: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        proc = podman("exec", name(role), "systemctl", "is-system-running", check=False)
        state = proc.stdout.strip()
        if state in ("running", "degraded"):
            return
        time.sleep(0.5)
    raise SystemExit(f"{name(role)}: systemd did not finish booting within {timeout:.0f} s")


def configure_router() -> None:
    site = NETWORKS["site"]["subnet"]
    site6 = NETWORKS["site"]["subnet6"]
    exec_in("router", f"""
cat > /etc/nftables.conf <<'EOF'
#!/usr/sbin/nft -f
flush ruleset
table ip lab_nat {{
  chain postrouting {{
    type nat hook postrouting priority srcnat; policy accept;
    ip saddr {site} ip daddr != {site} masquerade
  }}
}}
# A home router: nothing from outside opens a connection into the site network.
table inet lab_router {{
  chain forward {{
    type filter hook forward priority filter; policy accept;
    ip daddr {site} ct state new drop
    ip6 daddr {site6} ct state new drop
  }}
}}
# The upstream filter stands in for a cloud security group; lab.py faults fill it.
table inet lab_upstream {{
  chain forward {{
    type filter hook forward priority filter; policy accept;
  }}
}}
EOF
nft -f /etc/nftables.conf
systemctl enable --quiet nftables.service
""")
    set_dns(SERVER_NAME, HOSTS["server"]["networks"]["public"])


def set_dns(hostname: str, address: str) -> None:
    """dnsmasq answers for the lab's zone only; --local makes an unknown name NXDOMAIN at once,
    as a real authoritative server does, instead of REFUSED (which resolvers retry)."""
    site_ip = HOSTS["router"]["networks"]["site"]
    exec_in("router", f"""
cat > /etc/systemd/system/lab-dns.service <<'EOF'
[Unit]
Description=Lab DNS for the test hosts
After=network.target
[Service]
ExecStart=/usr/sbin/dnsmasq --keep-in-foreground --no-resolv --no-hosts --listen-address={site_ip} \\
  --bind-interfaces --address=/{hostname}/{address} --local=/wgdoctor.test/ --local-ttl=1 --log-queries
[Install]
WantedBy=multi-user.target
EOF
systemctl daemon-reload
systemctl enable --quiet lab-dns.service
systemctl restart lab-dns.service
""")


def route_via_router(role: str) -> None:
    """Default route through the router: from the site net for clients, from the public net for
    the server (its "uplink", as a real server has; the router itself has no way further out)."""
    network = "site" if HOSTS[role].get("behind") else "public"
    router_site = HOSTS["router"]["networks"][network]
    router_site6 = HOSTS["router"]["networks6"][network]
    exec_in(role, f"ip route replace default via {router_site} && ip -6 route replace default via {router_site6}")
    # Persist the route across a restart of the host (systemd brings it back).
    exec_in(role, f"""
cat > /etc/systemd/system/lab-route.service <<'EOF'
[Unit]
Description=Default route through the lab router
After=network.target
[Service]
Type=oneshot
ExecStart=/sbin/ip route replace default via {router_site}
ExecStart=/sbin/ip -6 route replace default via {router_site6}
RemainAfterExit=yes
[Install]
WantedBy=multi-user.target
EOF
systemctl enable --quiet lab-route.service
""")


def up(with_client2: bool) -> None:
    tag = build_image()
    down(quiet=True)
    create_networks()
    roles = [r for r, s in HOSTS.items() if not s.get("optional") or with_client2]
    for role in roles:
        start_host(role, tag)
    for role in roles:
        writable_net_sysctls(role)
    for role in roles:
        wait_for_systemd(role)
    configure_router()
    for role in roles:
        if role != "router":
            route_via_router(role)
    log(f"lab up: {', '.join(name(r) for r in roles)}")


def restart(role: str) -> None:
    """Reboot one test host, as a reboot-persistence test needs, and redo what podman forgets."""
    podman("restart", "-t", "3", name(role))
    writable_net_sysctls(role)
    wait_for_systemd(role)
    # systemd-sysctl ran at boot while /proc/sys/net was still read-only: replay it, as a real boot would have applied it.
    exec_in(role, "systemctl restart systemd-sysctl.service", check=False)
    log(f"{name(role)} restarted")


def stop(role: str) -> None:
    """A dead host: the container stops, its addresses stop answering."""
    podman("stop", "-t", "3", name(role))


def down(quiet: bool = False) -> None:
    listed = podman("ps", "-a", "--filter", f"label=wgdoctor-lab={PREFIX}", "--format", "{{.Names}}").stdout.split()
    if listed:
        podman("rm", "-f", "-t", "3", *listed)
    for net in NETWORKS:
        podman("network", "rm", "-f", name(net), check=False)
    if not quiet:
        log("lab down")


def running_hosts() -> list[str]:
    listed = podman("ps", "--filter", f"label=wgdoctor-lab={PREFIX}", "--format", "{{.Names}}").stdout.split()
    return [role for role in HOSTS if name(role) in listed]


def inventory() -> str:
    hosts = running_hosts()
    ends = [h for h in hosts if h != "router"]

    def host_vars(role: str) -> dict:
        # Connection settings per host, not in all:vars, so the implicit localhost stays local.
        return {"ansible_host": name(role), "ansible_connection": "containers.podman.podman",
                "ansible_python_interpreter": "/usr/bin/python3", "lab_addresses": HOSTS[role]["networks"],
                "lab_addresses6": HOSTS[role]["networks6"]}

    data = {
        "all": {
            "vars": {"lab_server_name": SERVER_NAME,
                     "lab_server_address": HOSTS["server"]["networks"]["public"],
                     "lab_server_address6": HOSTS["server"]["networks6"]["public"],
                     "lab_router_public_address": HOSTS["router"]["networks"]["public"]},
            "children": {
                "wireguard": {"hosts": {h: host_vars(h) for h in ends}},
                "lab_routers": {"hosts": {h: host_vars(h) for h in hosts if h == "router"}},
            },
        }
    }
    return json.dumps(data, indent=2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("image")
    up_parser = sub.add_parser("up")
    up_parser.add_argument("--client2", action="store_true", help="also start a second client behind the router")
    sub.add_parser("down")
    sub.add_parser("inventory")
    restart_parser = sub.add_parser("restart")
    restart_parser.add_argument("host", choices=sorted(HOSTS))
    stop_parser = sub.add_parser("stop")
    stop_parser.add_argument("host", choices=sorted(HOSTS))
    dns_parser = sub.add_parser("dns")
    dns_parser.add_argument("hostname")
    dns_parser.add_argument("address")
    args = parser.parse_args()
    if args.command == "image":
        print(build_image())
    elif args.command == "up":
        up(args.client2)
    elif args.command == "down":
        down()
    elif args.command == "inventory":
        print(inventory())
    elif args.command == "restart":
        restart(args.host)
    elif args.command == "stop":
        stop(args.host)
    elif args.command == "dns":
        set_dns(args.hostname, args.address)


if __name__ == "__main__":
    main()
