"""The fault catalog of the lab: how each cause of a failed handshake is injected and undone.

Each fault breaks the healthy client <-> server tunnel the way it breaks in real life.
`restart` lists the ends whose wg-quick is restarted after the injection, so that the
user's view is the usual one: `latest handshake: (none)`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

# A valid public key nobody in the lab owns.
STRANGER_KEY = "YJxs/Xv1rk/q7NfjD0vQzHPvYQzHLYgqFoW6E2X0sFQ="
CONF = "/etc/wireguard/wg0.conf"
FULL_TUNNEL = f"sed -i 's|^AllowedIPs = .*|AllowedIPs = 0.0.0.0/0|' {CONF}"
# Every step on its own: `sh -e` would stop at the first thing that is already gone.
UNDO_GATEWAY = "; ".join(step + " || true" for step in (
    "sysctl -qw net.ipv4.ip_forward=0", "rm -f /etc/sysctl.d/90-wgdoctor-forwarding.conf",
    # The lab server filters nothing in its baseline: an empty ruleset is exactly where it started,
    # whichever backend (nftables, iptables-nft) a remediation used for forwarding or masquerade.
    "nft flush ruleset", "rm -f /etc/nftables.d/wgdoctor-wg0.nft", "systemctl disable --quiet nftables.service"))
# The router's interface on the public network, by its address ({pub} is that network's prefix).
ROUTER_PUBLIC_LINK = "ip -o -4 addr show | awk '$4 ~ /^{pub}[.]2[/]/ {print $2}'"
NFT_DROP = ("nft add table inet filter && "
            "nft add chain inet filter input '{ type filter hook input priority 0; policy accept; }' && "
            "nft add rule inet filter input udp dport 51820 counter drop")


@dataclass
class Fault:
    name: str
    code: str                      # the finding that must be reported
    host: object                   # on this inventory host (or one of a tuple of hosts)
    inject: list = field(default_factory=list)   # (host, shell)
    undo: list = field(default_factory=list)     # (host, shell), before the tunnel is redeployed
    restart: tuple = ()            # ends whose wg-quick is restarted after injecting
    root_cause: bool = True        # the code must be the first critical finding
    also: tuple = ()               # other codes this injection legitimately causes
    severity: str = "critical"
    remediable: bool = True        # diagnose.yml -e wg_remediate=true must bring the tunnel up
    # remediate.yml run again with the saved report names the fixed fault and applies nothing (its not_found path):
    # proved on the lab by exactly one cheap remediable fault, the others check idempotence through the roles only.
    proves_not_found: bool = False


FAULTS = [
    Fault("nftables drop rule on the server", "udp_blocked_host_firewall", "server",
          inject=[("server", NFT_DROP)],
          # The remediation's rule lives in the same table; its drop-in must go too, or it opens the
          # port for every later fault.
          undo=[("server", "nft delete table inet filter"), ("server", "rm -f /etc/nftables.d/wgdoctor-wg0.nft")],
          restart=("server", "client")),
    Fault("iptables DROP rule on the server", "udp_blocked_host_firewall", "server",
          inject=[("server", "iptables -I INPUT -p udp --dport 51820 -j DROP")],
          # Flushing INPUT takes the remediation's ACCEPT with it: the lab server has no other INPUT rule.
          undo=[("server", "iptables -F INPUT")],
          restart=("server", "client")),
    Fault("ufw enabled without the WireGuard port", "udp_blocked_host_firewall", "server",
          inject=[("server", "ufw allow 22/tcp >/dev/null && ufw default deny incoming >/dev/null && ufw --force enable")],
          undo=[("server", "ufw --force disable && ufw --force reset >/dev/null")],
          restart=("server", "client")),
    # firewalld's default zone (public: ssh, dhcpv6-client) on the uplink, which is bound to no zone.
    # The undo puts back the permanent config saved before, so the port the remediation added is gone too.
    Fault("firewalld running without the WireGuard port", "udp_blocked_host_firewall", "server",
          inject=[("server", "rm -rf /root/firewalld.baseline && cp -a /etc/firewalld /root/firewalld.baseline && "
                             "systemctl enable --now --quiet firewalld.service && firewall-cmd --state")],
          undo=[("server", "systemctl disable --now --quiet firewalld.service"),
                ("server", "test -d /root/firewalld.baseline && rm -rf /etc/firewalld && "
                           "mv /root/firewalld.baseline /etc/firewalld")],
          restart=("server", "client")),
    Fault("router filters UDP upstream (cloud security group)", "udp_blocked_upstream", "server",
          inject=[("router", "nft add rule inet lab_upstream forward udp dport 51820 drop")],
          undo=[("router", "nft flush chain inet lab_upstream forward")],
          restart=("server", "client"), remediable=False),
    Fault("wg-quick stopped on the server", "interface_down", "server",
          inject=[("server", "systemctl stop wg-quick@wg0")],
          restart=("client",), also=("port_not_listening",), proves_not_found=True),
    Fault("syntax error in the server's config", "config_invalid", "server",
          inject=[("server", f"sed -i 's/^ListenPort = /ListenPrt = /' {CONF} && (systemctl restart wg-quick@wg0 || true)")],
          restart=("client",), also=("interface_down", "port_not_listening"), remediable=False),
    Fault("client's Endpoint port is wrong", "listen_port_mismatch", "client",
          inject=[("client", f"sed -i 's/:51820$/:51821/' {CONF}")], restart=("client",)),
    Fault("client's Endpoint name does not resolve", "start_endpoint_unresolvable", "client",
          inject=[("client", f"sed -i 's/^Endpoint = .*/Endpoint = nosuchhost.wgdoctor.test:51820/' {CONF}"
                             " && (systemctl restart wg-quick@wg0 || true)")],
          also=("interface_down",), remediable=False),
    Fault("no end has an Endpoint", "missing_endpoint", "client",
          inject=[("client", f"sed -i '/^Endpoint/d' {CONF}")], restart=("client", "server"), remediable=False),
    Fault("client holds a wrong server public key", "peer_public_key_mismatch", "client",
          inject=[("client", f"sed -i 's|^PublicKey = .*|PublicKey = {STRANGER_KEY}|' {CONF}")],
          restart=("client",)),
    Fault("different preshared keys on the two ends", "preshared_key_mismatch", "client",
          inject=[(host, f"wg genpsk > /etc/wireguard/psk && sed -i \"/^PublicKey/a PresharedKey = $(cat /etc/wireguard/psk)\" {CONF}")
                  for host in ("client", "server")],
          undo=[(host, "rm -f /etc/wireguard/psk") for host in ("client", "server")],
          restart=("server", "client")),
    Fault("server's address changed, DNS moved, client kept the old one", "stale_endpoint", "client",
          # Deleting a primary address also deletes its secondaries: the old one goes first.
          inject=[("server", "ip addr del {pub}.10/24 dev eth0 && ip addr add {pub}.20/24 dev eth0 && "
                             "ip route replace default via {pub}.2"),
                  ("lab", "dns vpn.wgdoctor.test {pub}.20")],
          undo=[("server", "ip addr del {pub}.20/24 dev eth0; ip addr add {pub}.10/24 dev eth0; "
                           "ip route replace default via {pub}.2"),
                ("lab", "dns vpn.wgdoctor.test {pub}.10")],
          restart=("server",)),
    Fault("NATed client without PersistentKeepalive", "nat_without_keepalive", "client",
          inject=[("client", f"sed -i '/^PersistentKeepalive/d' {CONF} && "
                             "wg set wg0 peer $(wg show wg0 peers) persistent-keepalive 0")],
          root_cause=False, severity="warning"),
    Fault("hostname Endpoint with nothing re-resolving it", "hostname_endpoint_not_reresolved", "client",
          inject=[("client", "systemctl disable --now --quiet wgdoctor-reresolve@wg0.timer")],
          undo=[("client", "systemctl enable --now --quiet wgdoctor-reresolve@wg0.timer")],
          root_cause=False, severity="warning"),
    Fault("server's AllowedIPs miss the client's address", "allowed_ips_missing_peer_address", "server",
          inject=[("server", f"sed -i 's|^AllowedIPs = .*|AllowedIPs = 10.99.0.3/32|' {CONF}")],
          restart=("server",), root_cause=False, severity="error", also=("tunnel_ping_fails",)),
    Fault("two peers on the server claim the same addresses", "allowed_ips_overlap", "server",
          inject=[("server", f"printf '\\n[Peer]\\nPublicKey = {STRANGER_KEY}\\nAllowedIPs = 10.99.0.0/30\\n' >> {CONF}")],
          restart=("server",), root_cause=False, severity="error", also=("tunnel_ping_fails",), remediable=False),
    Fault("client routes a site behind the server with Table = off", "no_route_for_allowed_ips", "client",
          inject=[("client", f"sed -i -e '/^\\[Interface\\]/a Table = off' -e 's|^AllowedIPs = .*|&, 10.88.0.0/24|' {CONF}")],
          restart=("client",), root_cause=False, severity="error", also=("tunnel_ping_fails",), remediable=False),
    Fault("full-tunnel client, gateway with forwarding off", "ip_forward_disabled", "server",
          inject=[("client", FULL_TUNNEL)], undo=[("server", UNDO_GATEWAY)],
          restart=("client",), root_cause=False, severity="error"),
    Fault("full-tunnel gateway forwards but does not masquerade", "nat_masquerade_missing", "server",
          inject=[("server", "sysctl -qw net.ipv4.ip_forward=1"), ("client", FULL_TUNNEL)],
          undo=[("server", UNDO_GATEWAY)], restart=("client",), root_cause=False, severity="error"),
    Fault("gateway's FORWARD policy drops tunnel traffic", "forward_chain_blocks", "server",
          inject=[("server", "sysctl -qw net.ipv4.ip_forward=1 && nft add table ip labnat && "
                             "nft add chain ip labnat post '{ type nat hook postrouting priority srcnat; }' && "
                             "nft add rule ip labnat post ip saddr 10.99.0.0/24 oifname eth0 masquerade && "
                             "iptables -P FORWARD DROP"),
                  ("client", FULL_TUNNEL)],
          undo=[("server", UNDO_GATEWAY)], restart=("client",), root_cause=False, severity="error"),
    Fault("server drops pings arriving through the tunnel", "tunnel_ping_fails", ("client", "server"),
          inject=[("server", "nft add table inet filter && "
                             "nft add chain inet filter input '{ type filter hook input priority 0; policy accept; }' && "
                             "nft add rule inet filter input iifname wg0 icmp type echo-request drop")],
          undo=[("server", "nft delete table inet filter")],
          root_cause=False, severity="error", remediable=False),
    Fault("wg tools removed from the server", "wireguard_missing", "server",
          inject=[("server", "mv /usr/bin/wg /usr/bin/wg.off")], undo=[("server", "mv /usr/bin/wg.off /usr/bin/wg")],
          also=("interface_down", "port_not_listening"), remediable=False),
    Fault("a second host runs with the client's key", "duplicate_public_key", ("client", "client2"),
          inject=[("copy", f"client {CONF} client2"),
                  ("client2", f"sed -i 's|^Address = .*|Address = 10.99.0.3/24|' {CONF} && chmod 600 {CONF} && "
                              "systemctl start wg-quick@wg0 && (ping -c 2 -W 1 10.99.0.1 || true)")],
          undo=[("client2", f"systemctl stop wg-quick@wg0; rm -f {CONF}")],
          root_cause=False, severity="error", remediable=False),
    Fault("the server's config holds another private key than the running interface", "local_keypair_mismatch", "server",
          inject=[("server", f"sed -i \"s|^PrivateKey = .*|PrivateKey = $(wg genkey)|\" {CONF}")],
          remediable=False),
    Fault("a key in the client's config is not base64 of 32 bytes", "invalid_key", "client",
          inject=[("client", f"sed -i 's|^PublicKey = .*|PublicKey = not-a-wireguard-key|' {CONF} && "
                             "(systemctl restart wg-quick@wg0 || true)")],
          root_cause=False, also=("config_invalid", "interface_down"), remediable=False),
    Fault("a host of the inventory is down", "host_unreachable", "client2",
          inject=[("lab", "stop client2")], undo=[("lab", "restart client2")], remediable=False),
    # Handshakes and small pings cross, full-size packets do not (issue #16): the peer role sets MTU = on both ends.
    Fault("the router's link to the server narrowed to MTU 1300, its ICMP fragmentation-needed dropped", "tunnel_mtu_blackhole",
          ("client", "server"),
          inject=[("router", f"ip link set dev $({ROUTER_PUBLIC_LINK}) mtu 1300 && nft add table inet lab_mtu && "
                             "nft add chain inet lab_mtu output '{ type filter hook output priority 0; policy accept; }' && "
                             "nft add rule inet lab_mtu output icmp type destination-unreachable icmp code frag-needed drop")],
          undo=[("router", f"ip link set dev $({ROUTER_PUBLIC_LINK}) mtu 1500"), ("router", "nft delete table inet lab_mtu")],
          root_cause=False, severity="error"),
]
