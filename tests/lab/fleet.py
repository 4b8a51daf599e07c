"""A WireGuard fleet in one container: a hub and N spokes, each a network namespace.

    fleet.py up --spokes N     build (or rebuild) the fleet and wait until every tunnel answers
    fleet.py down              remove the fleet's container (every namespace and process goes with it)
    fleet.py inventory         print an Ansible inventory (JSON) for the running fleet
    fleet.py sh HOST SCRIPT    run a shell script on one fleet host (its network and mount namespaces)
    fleet.py restart HOST      wg-quick down/up of the host's interface (the hub gets its runtime peer back)

Every host is a real network stack of its own: a network namespace with its own addresses,
routes, nftables and wireguard-go, and its own /etc/wireguard, /etc/hosts, /etc/cron.d
(ip netns exec binds /etc/netns/HOST/* over /etc) and its own /run/wireguard (bound over the
shared one by fleet-enter), so `wg show` on one host lists only that host's interface.
Ansible reaches a host through the podman connection into the container with an
ansible_python_interpreter that enters the host's namespaces before it starts python3.
docs/lab.md has the topology and the measurements.

The container is named after WGD_LAB_PREFIX ("<prefix>-fleet") and labelled with it, and has
no podman network at all (--network none): its "internet" is a bridge inside it, so fleets of
several lab slots never share a subnet with each other or with the machine.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import typing as t

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
# The image build, the podman wrapper and the sysctl remount are lab.py's.
import lab  # noqa: E402  pylint: disable=wrong-import-position

PREFIX = lab.PREFIX
CONTAINER = f"{PREFIX}-fleet"
LABEL = f"wgdoctor-fleet={PREFIX}"
PUB = lab.PUB  # the fleet's "internet" (inside the container only)
NAT_SITE = f"10.78.{lab.INDEX}"
TUNNEL4 = "10.66.0"
TUNNEL6 = "fd66::"
HUB = "hub"
HUB_INTERFACE = "corpnet"
HUB_PORT = 47111
HUB_NAME = "hub.fleet.wgdoctor.test"
SPOKE_INTERFACES = ("wg-corp", "branch")
# Peers on the hub that belong to no inventory host: two in the file, one added at runtime only.
STRANGER_ADDRESSES = (f"{TUNNEL4}.200/32", f"{TUNNEL4}.201/32")
RUNTIME_ONLY_ADDRESS = f"{TUNNEL4}.210/32"
# The roles of the first five spokes (docs/lab.md); further spokes are plain, a smaller fleet has fewer roles.
NAT_SPOKE = "spoke02"
HOSTNAME_SPOKE = "spoke03"
IPV6_SPOKE = "spoke04"
DIALED_SPOKE = "spoke05"   # the hub initiates to it: the spoke is the responder of its tunnel
ENTER = "/usr/local/sbin/fleet-enter"
STATE = "/run/fleet"


def log(msg: str) -> None:
    print(f"[fleet] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- the shape of the fleet
def spoke_names(count: int) -> list[str]:
    return [f"spoke{i:02d}" for i in range(1, count + 1)]


def spoke_spec(name: str) -> dict[str, t.Any]:
    number = int(name[len("spoke"):])
    spec: dict[str, t.Any] = {
        "name": name,
        "interface": SPOKE_INTERFACES[(number - 1) % 2],
        # Odd spokes listen on a port of their own, even ones on whatever the kernel gives them.
        "listen_port": 40100 + number if number % 2 else None,
        "public": f"{PUB}.{10 + number}",
        "addresses": [f"{TUNNEL4}.{10 + number}/32"],
        "endpoint": f"{PUB}.2:{HUB_PORT}",
        "behind_nat": False,
        "dialed": False,
    }
    if name == NAT_SPOKE:
        spec.update(public=None, behind_nat=True, site=f"{NAT_SITE}.10")
    elif name == HOSTNAME_SPOKE:
        spec["endpoint"] = f"{HUB_NAME}:{HUB_PORT}"
    elif name == IPV6_SPOKE:
        # The IPv6 address first: it is the one the hub pings.
        spec["addresses"] = [f"{TUNNEL6}{10 + number}/128", f"{TUNNEL4}.{10 + number}/32"]
    elif name == DIALED_SPOKE:
        spec.update(endpoint=None, dialed=True, listen_port=40100 + number)
    return spec


def fleet_spec(count: int) -> dict[str, t.Any]:
    return {"hub": {"name": HUB, "interface": HUB_INTERFACE, "listen_port": HUB_PORT, "public": f"{PUB}.2",
                    "addresses": [f"{TUNNEL4}.1/24", f"{TUNNEL6}1/64"]},
            "spokes": [spoke_spec(name) for name in spoke_names(count)]}


def tunnel_address(spec: dict[str, t.Any]) -> str:
    """The address a ping to this end goes to (its first tunnel address, as the diagnosis picks it)."""
    return spec["addresses"][0].split("/")[0]


# ---------------------------------------------------------------- podman
def container_exec(script: str, check: bool = True) -> subprocess.CompletedProcess:
    return lab.podman("exec", CONTAINER, "sh", "-ec", script, check=check)


def host_exec(host: str, script: str, check: bool = True) -> subprocess.CompletedProcess:
    return lab.podman("exec", CONTAINER, ENTER, host, "sh", "-ec", script, check=check)


def running_spokes() -> int | None:
    """The spoke count of the running fleet, or None when there is none."""
    proc = lab.podman("ps", "--filter", f"label={LABEL}", "--format", '{{index .Labels "wgdoctor-fleet-spokes"}}', check=False)
    words = proc.stdout.split()
    return int(words[0]) if words and words[0].isdigit() else None


# ---------------------------------------------------------------- building
ENTER_SCRIPT = f"""#!/bin/sh
# fleet-enter HOST CMD...: CMD on one fleet host. ip netns exec gives each command a private mount
# namespace with /etc/netns/HOST/* over /etc; the bind below gives it the host's own /run/wireguard,
# where wireguard-go puts its UAPI sockets (shared by every namespace otherwise).
host=$1; shift
exec ip netns exec "$host" /bin/sh -c 'mount --bind "{STATE}/$0/wireguard" /run/wireguard && exec "$@"' "$host" "$@"
"""

# PID 1 of the container: reaps the wireguard-go daemons that wg-quick leaves behind when it exits.
REAPER = ("import os, signal, time\n"
          "signal.signal(signal.SIGTERM, lambda *_: os._exit(0))\n"
          "while True:\n"
          "    try:\n"
          "        os.wait()\n"
          "    except ChildProcessError:\n"
          "        time.sleep(1)\n")


def start_container(tag: str, count: int) -> None:
    lab.podman("run", "-d", "--name", CONTAINER, "--hostname", "fleet", "--network", "none",
               # SYS_ADMIN for ip netns (mount, unshare); the namespaces' sysctls are made writable from
               # outside as lab.py does, never with --privileged.
               "--cap-add", "NET_ADMIN,NET_RAW,SYS_ADMIN", "--device", "/dev/net/tun",
               # podman's default of 2048 tasks is short of 50 wireguard-go starting at once (threads count):
               # measured, the later ones died with "Connection reset by peer" on their UAPI socket.
               "--pids-limit", "16384",
               "--label", LABEL, "--label", f"wgdoctor-fleet-spokes={count}",
               "-e", "WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go",
               "-e", "WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1",
               tag, "python3", "-c", REAPER)
    lab.writable_net_sysctls("fleet")


def add_namespace_script(host: str, public: str | None) -> str:
    """The namespace, its state directories, and its leg on the "internet" bridge."""
    lines = [f"ip netns add {host}", f"mkdir -p {STATE}/{host}/wireguard /etc/netns/{host}/wireguard /etc/netns/{host}/cron.d",
             f"chmod 700 /etc/netns/{host}/wireguard",
             # Its own boot firewall config (the image's, which declares an empty `inet filter`, including a
             # drop-in directory) and drop-in directory, as a real host has: a remedy that persists rules must not
             # write the container's. The include is there from the start because the file is a bind mount,
             # which no rename can replace (EBUSY): only files inside a bound directory can be replaced atomically.
             f"mkdir -p /etc/netns/{host}/nftables.d",
             f"{{ cat /etc/nftables.conf; echo 'include \"/etc/nftables.d/*.nft\"'; }} > /etc/netns/{host}/nftables.conf",
             # Likewise the other firewalls' files: iptables' rules files and what loads them at boot (no
             # netfilter-persistent in the image: an if-pre-up.d script, the Debian way without it), and ufw's
             # config and /etc/default/ufw. Empty or the image's until a test makes the host use them.
             f"mkdir -p /etc/netns/{host}/iptables /etc/netns/{host}/network/if-pre-up.d",
             f"cp -a /etc/ufw /etc/netns/{host}/ufw && cp -a /etc/default /etc/netns/{host}/default",
             # And its own /etc/sysctl.d: a remedy that persists IP forwarding writes there, never the container's.
             f"cp -a /etc/sysctl.d /etc/netns/{host}/sysctl.d",
             f"printf '127.0.0.1 localhost\\n::1 localhost\\n' > /etc/netns/{host}/hosts",
             f"ip -n {host} link set lo up"]
    if public:
        veth = f"v-{host}"[:15]
        lines += [f"ip link add {veth} type veth peer name eth0 netns {host}",
                  f"ip link set {veth} master fleet-pub up",
                  f"ip -n {host} addr add {public}/24 dev eth0", f"ip -n {host} link set eth0 up"]
    return "\n".join(lines)


def network_script(spec: dict[str, t.Any]) -> str:
    hub = spec["hub"]
    parts = ["ip link add fleet-pub type bridge", "ip link set fleet-pub up",
             # ip netns exec binds /etc/netns/HOST/X over /etc/X only where /etc/X exists.
             f"mkdir -p /run/wireguard {STATE} /etc/nftables.d /etc/iptables /etc/network", f"cat > {ENTER} <<'EOF'\n{ENTER_SCRIPT}EOF", f"chmod 755 {ENTER}",
             add_namespace_script(HUB, hub["public"])]
    for spoke in spec["spokes"]:
        parts.append(add_namespace_script(spoke["name"], spoke["public"]))
        if spoke["behind_nat"]:
            parts.append(nat_script(spoke))
        if spoke["endpoint"] and spoke["endpoint"].startswith(HUB_NAME):
            parts.append(f"echo '{hub['public']} {HUB_NAME}' >> /etc/netns/{spoke['name']}/hosts")
            # What re-resolves the name (the wgdoctor keepalive role's cron form); the lab never moves the hub.
            parts.append(f"echo '*/2 * * * * root /usr/local/sbin/wgdoctor-reresolve {spoke['interface']}' "
                         f"> /etc/netns/{spoke['name']}/cron.d/wgdoctor-reresolve")
    return "\n".join(parts)


def nat_script(spoke: dict[str, t.Any]) -> str:
    """A home router in front of the spoke: masquerade, nothing opens a connection inward."""
    name = spoke["name"]
    return "\n".join([
        add_namespace_script("natgw", f"{PUB}.3"),
        f"ip link add site0 netns natgw type veth peer name eth0 netns {name}",
        f"ip -n natgw addr add {NAT_SITE}.1/24 dev site0", "ip -n natgw link set site0 up",
        f"ip -n {name} addr add {spoke['site']}/24 dev eth0", f"ip -n {name} link set eth0 up",
        f"ip -n {name} route add default via {NAT_SITE}.1",
        "ip netns exec natgw sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward'",
        "ip netns exec natgw nft -f - <<'EOF'\n"
        "table ip lab_nat {\n"
        f"  chain postrouting {{ type nat hook postrouting priority srcnat; policy accept; oifname \"eth0\" masquerade; }}\n"
        "}\n"
        "table inet lab_router {\n"
        f"  chain forward {{ type filter hook forward priority filter; policy accept; ip daddr {NAT_SITE}.0/24 ct state new drop; }}\n"
        "}\n"
        "EOF",
    ])


def generate_keys(hosts: list[str], strangers: int) -> dict[str, str]:
    """A key pair per host, kept on the host (never read back); the public keys, and strangers' public keys."""
    script = ["umask 077"]
    for host in hosts:
        script.append(f"wg genkey > /etc/netns/{host}/wireguard/private.key")
        script.append(f"printf '%s %s\\n' {host} \"$(wg pubkey < /etc/netns/{host}/wireguard/private.key)\"")
    for number in range(strangers):
        script.append(f"printf '%s %s\\n' stranger{number} \"$(wg genkey | wg pubkey)\"")
    output = container_exec("\n".join(script)).stdout
    return dict(line.split(" ", 1) for line in output.splitlines() if line.strip())


def hub_config(spec: dict[str, t.Any], keys: dict[str, str]) -> str:
    hub = spec["hub"]
    lines = ["[Interface]", "PrivateKey = @PRIVATE@", f"Address = {', '.join(hub['addresses'])}",
             f"ListenPort = {hub['listen_port']}"]
    for spoke in spec["spokes"]:
        lines += ["", f"# {spoke['name']}", "[Peer]", f"PublicKey = {keys[spoke['name']]}",
                  f"AllowedIPs = {', '.join(spoke['addresses'])}"]
        if spoke["dialed"]:
            lines += [f"Endpoint = {spoke['public']}:{spoke['listen_port']}", "PersistentKeepalive = 25"]
    for number, address in enumerate(STRANGER_ADDRESSES):
        lines += ["", "# a road warrior with no inventory host", "[Peer]", f"PublicKey = {keys[f'stranger{number}']}",
                  f"AllowedIPs = {address}"]
    return "\n".join(lines) + "\n"


def spoke_config(spoke: dict[str, t.Any], keys: dict[str, str]) -> str:
    lines = ["[Interface]", "PrivateKey = @PRIVATE@", f"Address = {', '.join(spoke['addresses'])}"]
    if spoke["listen_port"]:
        lines.append(f"ListenPort = {spoke['listen_port']}")
    allowed = [f"{TUNNEL4}.0/24"] + ([f"{TUNNEL6}/64"] if any(":" in a for a in spoke["addresses"]) else [])
    lines += ["", "[Peer]", f"PublicKey = {keys[HUB]}", f"AllowedIPs = {', '.join(allowed)}"]
    if spoke["endpoint"]:
        lines += [f"Endpoint = {spoke['endpoint']}", "PersistentKeepalive = 25"]
    return "\n".join(lines) + "\n"


def install_config(host: str, interface: str, text: str) -> str:
    """Shell that writes the config with the host's private key spliced in on the host itself."""
    path = f"/etc/netns/{host}/wireguard/{interface}.conf"
    return (f"umask 077\ncat > {path}.in <<'EOF'\n{text}EOF\n"
            f"sed \"s|@PRIVATE@|$(cat /etc/netns/{host}/wireguard/private.key)|\" {path}.in > {path}\nrm -f {path}.in")


def up_script(host: str, interface: str) -> str:
    log_file = f"{STATE}/{host}/wg-quick.log"
    script = f"{ENTER} {host} wg-quick up {interface} > {log_file} 2>&1"
    if host == HUB:
        script += f" && {ENTER} {HUB} wg set {HUB_INTERFACE} peer \"$(cat {STATE}/runtime-only.pub)\" allowed-ips {RUNTIME_ONLY_ADDRESS}"
    return script


def build(count: int) -> dict[str, t.Any]:
    spec = fleet_spec(count)
    container_exec(network_script(spec))
    hosts = [HUB] + [s["name"] for s in spec["spokes"]]
    keys = generate_keys(hosts, len(STRANGER_ADDRESSES) + 1)
    configs = [install_config(HUB, HUB_INTERFACE, hub_config(spec, keys))]
    configs += [install_config(s["name"], s["interface"], spoke_config(s, keys)) for s in spec["spokes"]]
    configs.append(f"echo '{keys[f'stranger{len(STRANGER_ADDRESSES)}']}' > {STATE}/runtime-only.pub")
    container_exec("\n".join(configs))
    # Every end at once: wireguard-go start-up is most of the time and the ends do not depend on each other.
    starts = [up_script(HUB, HUB_INTERFACE)] + [up_script(s["name"], s["interface"]) for s in spec["spokes"]]
    proc = container_exec("rc=0\n" + "\n".join(f"( {line} ) & pids=\"$pids $!\"" for line in starts)
                          + "\nfor pid in $pids; do wait $pid || rc=1; done\nexit $rc", check=False)
    if proc.returncode != 0:
        logs = container_exec(f"tail -n 3 {STATE}/*/wg-quick.log", check=False).stdout
        raise SystemExit(f"wg-quick up failed on some fleet hosts:\n{logs}\n{inotify_advice(len(starts))}")
    install_interpreters(count)
    return spec


INOTIFY_LIMIT = "/proc/sys/fs/inotify/max_user_instances"


def inotify_in_use() -> int:
    """inotify instances open on this machine (an upper bound: a descriptor shared by a fork counts twice)."""
    count = 0
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") == "anon_inode:inotify":
                    count += 1
        except OSError:
            continue
    return count


def inotify_advice(needed: int) -> str:
    """Each wireguard-go watches its UAPI socket with an inotify instance, charged to root on the whole
    machine (containers without a user namespace share it, and a user namespace is charged to its parent
    too): fs.inotify.max_user_instances (128 by default) bounds how many ends all labs together can run."""
    try:
        with open(INOTIFY_LIMIT, encoding="utf-8") as handle:
            limit = int(handle.read())
    except (OSError, ValueError):
        return ""
    return (f"this fleet runs {needed} wireguard-go, one inotify instance each; {inotify_in_use()} inotify descriptors "
            f"(an upper bound) are open on the machine now, against root's limit of {limit} ({INOTIFY_LIMIT}, "
            "machine-wide). wireguard-go says \"Failed to listen on uapi socket: "
            "too many open files\" when none is left: stop other labs, or have the machine's owner raise the limit.")


def ping_pairs(spec: dict[str, t.Any]) -> list[tuple[str, str]]:
    """(from host, to address) that bring every tunnel up: the initiators ping the far end."""
    pairs = []
    for spoke in spec["spokes"]:
        if spoke["dialed"]:
            pairs.append((HUB, tunnel_address(spoke)))
        else:
            pairs.append((spoke["name"], tunnel_address(spec["hub"])))
    return pairs


def wait_healthy(spec: dict[str, t.Any] | None = None, timeout: float = 30.0, skip: t.Iterable[str] = ()) -> None:
    """Every tunnel answers a ping (the initiator pings; a handshake takes up to ~5 s)."""
    spec = spec or fleet_spec(running_spokes() or 0)
    skipped = set(skip)
    pairs = [pair for pair in ping_pairs(spec) if pair[0] not in skipped
             and not any(tunnel_address(s) == pair[1] and s["name"] in skipped for s in spec["spokes"])]
    tries = max(1, int(timeout))
    lines = [f"( i=0; until {ENTER} {source} ping -c 1 -W 1 {address} >/dev/null 2>&1; do "
             f"i=$((i+1)); [ $i -ge {tries} ] && {{ echo '{source} -> {address}'; exit 1; }}; sleep 0.2; done ) & "
             f"pids=\"$pids $!\"" for source, address in pairs]
    proc = container_exec("rc=0\n" + "\n".join(lines) + "\nfor pid in $pids; do wait $pid || rc=1; done\nexit $rc", check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"tunnels that did not come up within {timeout:.0f} s: {proc.stdout.split(chr(10))[:-1]}")


def restart(host: str) -> None:
    """wg-quick down/up of the host's interface: its handshakes are gone, as after a reboot."""
    spec = fleet_spec(running_spokes() or 0)
    interface = HUB_INTERFACE if host == HUB else next(s["interface"] for s in spec["spokes"] if s["name"] == host)
    container_exec(f"{ENTER} {host} wg-quick down {interface} >/dev/null 2>&1 || true\n{up_script(host, interface)}")


def up(count: int) -> dict[str, t.Any]:
    if count < 1:
        raise SystemExit("a fleet needs at least one spoke")
    started = time.monotonic()
    tag = lab.build_image()
    down(quiet=True)
    start_container(tag, count)
    spec = build(count)
    wait_healthy(spec)
    log(f"fleet up: hub + {count} spokes in {CONTAINER} ({time.monotonic() - started:.1f} s)")
    return spec


def down(quiet: bool = False) -> None:
    listed = lab.podman("ps", "-a", "--filter", f"label={LABEL}", "--format", "{{.Names}}").stdout.split()
    if listed:
        lab.podman("rm", "-f", "-t", "0", *listed)
    if not quiet:
        log("fleet down")


# ---------------------------------------------------------------- inventory
def inventory() -> dict[str, t.Any]:
    count = running_spokes()
    if count is None:
        raise SystemExit(f"no fleet runs with prefix {PREFIX}: fleet.py up first")
    spec = fleet_spec(count)

    def host_vars(host: str, extra: dict[str, t.Any]) -> dict[str, t.Any]:
        return dict({"ansible_host": CONTAINER, "ansible_connection": "containers.podman.podman",
                     "ansible_python_interpreter": f"{STATE}/{host}/python3"}, **extra)

    hosts = {HUB: host_vars(HUB, {"fleet_interface": HUB_INTERFACE, "fleet_public_address": spec["hub"]["public"]})}
    for spoke in spec["spokes"]:
        hosts[spoke["name"]] = host_vars(spoke["name"], {"fleet_interface": spoke["interface"],
                                                         "fleet_public_address": spoke["public"]})
    return {"all": {"vars": {"fleet_hub": HUB, "fleet_hub_interface": HUB_INTERFACE, "fleet_hub_port": HUB_PORT},
                    "children": {"wireguard": {"hosts": hosts}}}}


def install_interpreters(count: int) -> None:
    """One python3 per host that runs inside that host's namespaces (the inventory points at it)."""
    hosts = [HUB] + spoke_names(count)
    container_exec("\n".join(f"printf '#!/bin/sh\\nexec {ENTER} {host} /usr/bin/python3 \"$@\"\\n' > {STATE}/{host}/python3 && "
                             f"chmod 755 {STATE}/{host}/python3" for host in hosts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    up_parser = sub.add_parser("up")
    up_parser.add_argument("--spokes", type=int, default=6)
    sub.add_parser("down")
    sub.add_parser("inventory")
    sh_parser = sub.add_parser("sh")
    sh_parser.add_argument("host")
    sh_parser.add_argument("script")
    restart_parser = sub.add_parser("restart")
    restart_parser.add_argument("host")
    args = parser.parse_args()
    if args.command == "up":
        up(args.spokes)
    elif args.command == "down":
        down()
    elif args.command == "inventory":
        print(json.dumps(inventory(), indent=2))
    elif args.command == "sh":
        proc = host_exec(args.host, args.script, check=False)
        sys.stdout.write(proc.stdout)
        sys.stderr.write(proc.stderr)
        raise SystemExit(proc.returncode)
    elif args.command == "restart":
        restart(args.host)


if __name__ == "__main__":
    main()
