"""The handshake works, the traffic hangs (issue #16): a path MTU black hole, reproduced, named and fixed.

A tunnel of its own, wgmtu on UDP 51933, has the server answering two peers (client and client2, both
behind the lab's NAT router). The router's link towards the server gets an MTU of 1300 and the router
drops the ICMP "fragmentation needed" it would send back: handshakes and small pings cross, a
full-size packet does not, and a 1 MB download through the tunnel hangs. report.json must name
tunnel_mtu_blackhole on the ends of wgmtu with the size that crossed; after `-e wg_remediate=true` the
download completes, and the same remedies applied again change nothing.

The firewall role's TCP MSS clamp (the remedy for an end that routes for others) is proven on the
server with nftables, iptables, ufw and firewalld: a SYN forwarded through the server out of wgmtu
arrives at client2 with its MSS clamped to the route's MTU.
"""
from __future__ import annotations

import re

import pytest

from test_fault_matrix import _recap_changed

IFACE = "wgmtu"
PORT = 51933
CONF = f"/etc/wireguard/{IFACE}.conf"
KEY_FILE = f"/root/{IFACE}.key"
ADDRESSES = {"server": "10.93.0.1", "client": "10.93.0.2", "client2": "10.93.0.3"}
ROUTER_LINK_MTU = 1300
# What crosses the narrowed link inside wgmtu: 1300 minus the outer IPv4 + UDP + WireGuard headers (60) is
# 1240, and WireGuard pads what it encrypts to 16 bytes, so an inner packet of 1232 (a ping payload of
# 1232 - 28) is the largest that fits.
LARGEST_PAYLOAD = 1204
WANTED_MTU = LARGEST_PAYLOAD + 28
HTTP_PORT = 8933
HTTP_UNIT = "lab-mtu-http"
BLOB_SIZE = 1 << 20
PEER_PLAY = """\
- hosts: {host}
  gather_facts: false
  tasks:
    - name: The remedy's role again
      ansible.builtin.include_role:
        name: wgdoctor.wireguard.peer
      vars:
        peer_interface: {iface}
        peer_public_key: "{key}"
        peer_mtu: {mtu}
"""
FIREWALL_PLAY = """\
- hosts: server
  gather_facts: false
  tasks:
    - name: The firewall role with the MSS clamp
      ansible.builtin.include_role:
        name: wgdoctor.wireguard.firewall
      vars:
        firewall_interface: {iface}
        firewall_port: {port}
        firewall_backend: {backend}
        firewall_mss_clamp: true
"""


def _router_interface(lab) -> str:
    """The router's interface on the public network: its link towards the server."""
    address = lab.vars["lab_router_public_address"]
    for line in lab.sh("router", "ip -o -4 addr show").stdout.splitlines():
        fields = line.split()
        if fields[3].split("/")[0] == address:
            return fields[1]
    raise AssertionError(f"the router has no interface with {address}")


def _break_path(lab) -> None:
    link = _router_interface(lab)
    lab.sh("router", f"ip link set dev {link} mtu {ROUTER_LINK_MTU} && nft add table inet lab_mtu && "
                     "nft add chain inet lab_mtu output '{ type filter hook output priority 0; policy accept; }' && "
                     "nft add rule inet lab_mtu output icmp type destination-unreachable icmp code frag-needed counter drop")


def _mend_path(lab) -> None:
    link = _router_interface(lab)
    lab.sh("router", f"ip link set dev {link} mtu 1500; nft delete table inet lab_mtu 2>/dev/null || true")


def _write_config(lab, host: str, text: str) -> None:
    """The private key stays on the host: the unquoted here-document reads it from KEY_FILE there."""
    lab.sh(host, f"umask 077 && cat > {CONF} <<WGDOCTOR_EOF\n{text}WGDOCTOR_EOF")


def _download(lab, seconds: int = 15) -> str:
    """client fetches 1 MB from the server through wgmtu: the byte count, or why it did not finish."""
    script = (f"import urllib.request; print(len(urllib.request.urlopen('http://{ADDRESSES['server']}:{HTTP_PORT}/blob', "
              f"timeout={seconds}).read()))")
    proc = lab.sh("client", f"timeout {seconds + 5} python3 -c \"{script}\"", check=False)
    return proc.stdout.strip() if proc.returncode == 0 else f"failed ({proc.returncode}): {proc.stderr.strip()[-300:]}"


@pytest.fixture(scope="module")
def mtu_tunnel(lab):
    """wgmtu with the server answering client and client2; a 1 MB file served on the server's tunnel side."""
    ends = ("server", "client", "client2")
    public = {host: lab.sh(host, f"umask 077 && wg genkey | tee {KEY_FILE} | wg pubkey").stdout.strip() for host in ends}
    server = lab.vars["lab_server_address"]
    configs = {"server": f"[Interface]\nPrivateKey = $(cat {KEY_FILE})\nAddress = {ADDRESSES['server']}/24\nListenPort = {PORT}\n"}
    for client in ("client", "client2"):
        configs["server"] += f"\n[Peer]\nPublicKey = {public[client]}\nAllowedIPs = {ADDRESSES[client]}/32\n"
        configs[client] = (f"[Interface]\nPrivateKey = $(cat {KEY_FILE})\nAddress = {ADDRESSES[client]}/24\n\n"
                           f"[Peer]\nPublicKey = {public['server']}\nAllowedIPs = 10.93.0.0/24\n"
                           f"Endpoint = {server}:{PORT}\nPersistentKeepalive = 25\n")
    secrets = []
    try:
        for host in ends:
            _write_config(lab, host, configs[host])
            lab.sh(host, f"systemctl restart wg-quick@{IFACE}")
            secrets.append(lab.sh(host, f"cat {KEY_FILE}").stdout.strip())
        for client in ("client", "client2"):
            lab.wait_for_handshake(client, ADDRESSES["server"])
        lab.sh("server", f"mkdir -p /root/mtu-www && head -c {BLOB_SIZE} /dev/urandom > /root/mtu-www/blob && "
                         f"systemd-run --unit={HTTP_UNIT} python3 -m http.server --bind 0.0.0.0 --directory /root/mtu-www {HTTP_PORT}")
        yield {"secrets": secrets}
    finally:
        _mend_path(lab)
        lab.sh("server", f"systemctl stop {HTTP_UNIT} 2>/dev/null || true; rm -rf /root/mtu-www", check=False)
        for host in ends:
            lab.sh(host, f"systemctl stop wg-quick@{IFACE} || true; systemctl reset-failed wg-quick@{IFACE} 2>/dev/null || true; "
                         f"rm -f {CONF} {CONF}.*~ {KEY_FILE}", check=False)
        # Remediation gave the baseline wg0 an MTU too (the router narrows its path as well).
        lab.back_to_healthy()


def _no_secret(lab, tunnel, *texts: str) -> None:
    for secret in tunnel["secrets"]:
        for text in texts:
            assert secret not in text, "a private key of wgmtu appears in the playbook output or the report"


def test_black_hole_is_named_with_the_size_that_crossed_and_fixed(lab, mtu_tunnel, tmp_path):
    assert _download(lab) == str(BLOB_SIZE), "the healthy tunnel must carry the download before the fault"
    _break_path(lab)
    # The fault as users meet it: the handshake is fresh and small pings answer, big packets vanish.
    assert lab.sh("client", f"ping -c 2 -W 1 -I {IFACE} {ADDRESSES['server']}", check=False).returncode == 0
    assert lab.sh("client", f"ping -M do -s 1392 -c 2 -W 1 -I {IFACE} {ADDRESSES['server']}", check=False).returncode != 0
    assert _download(lab, seconds=8) != str(BLOB_SIZE), "the download was expected to hang"

    report = lab.diagnose(tmp_path, "-e", "wg_remediate=true")
    run = lab.last_run
    report_files = [(tmp_path / "wg-report" / name).read_text() for name in ("report.json", "report.md", "report.html")]
    _no_secret(lab, mtu_tunnel, run.stdout, run.stderr, *report_files)

    before = report["before"]
    summary = [(f["severity"], f["code"], f["host"], f["interface"]) for f in before["findings"]]
    found = [f for f in before["findings"] if f["code"] == "tunnel_mtu_blackhole" and f["interface"] == IFACE]
    assert {f["host"] for f in found} == {"server", "client", "client2"}, summary
    assert not [item for item in summary if item[0] == "critical"], f"the handshake works: nothing critical {summary}"
    for finding in found:
        assert finding["severity"] == "error"
        assert finding["remedy"]["role"] == "wgdoctor.wireguard.peer"
        assert finding["remedy"]["vars"]["peer_mtu"] == WANTED_MTU, finding["remedy"]
        assert finding["remedy"]["vars"]["peer_interface"] == IFACE
        evidence = " | ".join(finding["evidence"])
        assert f"largest payload that crossed {LARGEST_PAYLOAD} bytes, {LARGEST_PAYLOAD + 1} did not" in evidence, evidence
        assert f"{IFACE} MTU 1420 promises DF ping payloads up to 1392 bytes" in evidence, evidence
    records = [r for r in before["mtu"] if r["interface"] == IFACE]
    assert sorted((r["from"], r["to"]) for r in records) == sorted(
        [("client", "server"), ("server", "client"), ("client2", "server"), ("server", "client2")]), records
    assert all(r["largest"] == LARGEST_PAYLOAD and r["mtu"] == 1420 and r["complete"] for r in records), records
    # The underlay, measured outside the tunnel to the server's endpoint: the narrowed link itself.
    client_record = [r for r in records if r["from"] == "client"][0]
    assert client_record["underlay"]["address"] == lab.vars["lab_server_address"], client_record
    assert client_record["underlay"]["largest"] == ROUTER_LINK_MTU - 28, client_record

    after = report["after"]
    # wgmtu's black hole is gone, and so is every other one the first pass named. The baseline wg0 crosses the same
    # narrowed link; whether the first pass measured it depends on the state earlier suites left it in and the load
    # (CI's lab2 lane once had wg0 unnamed before and named after; alone, and after the IPv6 suite, it was named
    # before and fixed), so a black hole of wg0 only the second pass measured is printed, not asserted: it is no
    # claim of this test.
    named_before = {(f["host"], f["interface"]) for f in before["findings"] if f["code"] == "tunnel_mtu_blackhole"}
    left = [f for f in after["findings"] if f["code"] == "tunnel_mtu_blackhole"
            and (f["interface"] == IFACE or (f["host"], f["interface"]) in named_before)]
    assert not left, (left, summary, before["mtu"])
    for finding in after["findings"]:
        if finding["code"] == "tunnel_mtu_blackhole" and finding not in left:
            print(f"\n[mtu] {finding['host']} {finding['interface']}: named only after remediation; before: "
                  f"{[item for item in summary if item[3] == finding['interface']]}, "
                  f"{[r for r in before['mtu'] if r['interface'] == finding['interface']]}, unchecked {before['unchecked']}")
    assert not any(run["failed"] for run in report["remediation"]["remedies"]), report["remediation"]
    remedied = {(r["from"], r["interface"]) for r in after["mtu"]} & named_before
    assert all(r["largest"] == r["mtu"] - 28 for r in after["mtu"] if (r["from"], r["interface"]) in remedied), after["mtu"]
    assert {(r["from"], r["interface"]) for r in after["mtu"] if r["interface"] == IFACE} <= remedied, (named_before, after["mtu"])
    for host in ("server", "client", "client2"):
        assert f"MTU = {WANTED_MTU}" in lab.sh(host, f"cat {CONF}").stdout.split("[Peer]")[0]
        assert f"mtu {WANTED_MTU} " in lab.sh(host, f"ip link show {IFACE}").stdout
    # The traffic that hung now flows, with the path still narrowed and ICMP still dropped.
    assert _download(lab) == str(BLOB_SIZE)

    # A second run changes nothing: the peer role run again with each remedy's own variables reports no change, and
    # configs and links stay as they are. (That remediate.yml does not apply a saved remedy that is fixed since is
    # proven once, in the fault matrix's interface_down case.)
    state = dict((host, lab.sh(host, f"sha256sum {CONF} && ip -o link show {IFACE}").stdout) for host in ("server", "client", "client2"))
    play = tmp_path / "peer_again.yml"
    play.write_text("".join(PEER_PLAY.format(host=f["host"], iface=IFACE, key=f["remedy"]["vars"]["peer_public_key"], mtu=WANTED_MTU)
                            for f in found))
    rerun = lab.playbook(str(play))
    for host in ("server", "client", "client2"):
        assert _recap_changed(rerun.stdout, host) == 0, f"the peer role changed {host} again:\n{rerun.stdout[-3000:]}"
        assert lab.sh(host, f"sha256sum {CONF} && ip -o link show {IFACE}").stdout == state[host], host


def _tcpdump_syn_mss(lab, host: str, seconds: int = 6) -> str:
    """Start a capture of TCP SYNs on host's wgmtu; returns the path of its output."""
    out = f"/root/{IFACE}-syn.txt"
    lab.sh(host, f"rm -f {out}; systemd-run --collect --unit=lab-mtu-tcpdump sh -c "
                 f"'timeout {seconds} tcpdump -l -n -i {IFACE} \"tcp[tcpflags] & tcp-syn != 0\" > {out} 2>&1'")
    return out


# nftables: the lab server filters nothing, so the role (backend auto) puts the clamp in a table of its own through nft.
# ufw and firewalld run on the server for their case (with SSH and forwarding through wgmtu allowed, as a hub has them).
FIREWALL_ON = {
    "ufw": "ufw allow 22/tcp >/dev/null && ufw default allow routed >/dev/null && ufw --force enable >/dev/null",
    "firewalld": "rm -rf /root/firewalld.mss && cp -a /etc/firewalld /root/firewalld.mss && "
                 f"systemctl enable --now --quiet firewalld.service && firewall-cmd --quiet --zone=trusted --add-interface={IFACE}",
}
FIREWALL_OFF = {
    "ufw": "ufw --force disable >/dev/null; ufw --force reset >/dev/null",
    "firewalld": "systemctl disable --now --quiet firewalld.service; "
                 "test -d /root/firewalld.mss && rm -rf /etc/firewalld && mv /root/firewalld.mss /etc/firewalld",
}


@pytest.mark.parametrize("backend", ["auto", "iptables", "ufw", "firewalld"])
def test_mss_clamp_for_an_end_that_routes_for_others(lab, mtu_tunnel, tmp_path, backend):
    """client -> client2 through the server (the hub forwards wgmtu to wgmtu): with the server's wgmtu at 1232 and the
    clients' at 1420, the SYN leaves client with MSS 1380 and must reach client2 clamped to 1232 - 40."""
    playbook = tmp_path / "firewall.yml"
    playbook.write_text(FIREWALL_PLAY.format(iface=IFACE, port=PORT, backend=backend))
    lab.sh("server", f"sysctl -qw net.ipv4.ip_forward=1 && ip link set dev {IFACE} mtu {WANTED_MTU}")
    for client in ("client", "client2"):
        lab.sh(client, f"ip link set dev {IFACE} mtu 1420")
    lab.sh("client2", "systemd-run --collect --unit=lab-mtu-listen python3 -c \"import socket, time; s = socket.socket(); "
                      "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('0.0.0.0', 8934)); s.listen(); "
                      "time.sleep(600)\"")
    try:
        if backend in FIREWALL_ON:
            lab.sh("server", FIREWALL_ON[backend])
        check = lab.playbook(playbook, "--check", "--diff")
        assert _recap_changed(check.stdout, "server") > 0, check.stdout[-3000:]
        first = lab.playbook(playbook)
        assert _recap_changed(first.stdout, "server") > 0
        second = lab.playbook(playbook)
        assert _recap_changed(second.stdout, "server") == 0, f"the second run changed the server:\n{second.stdout[-3000:]}"
        if backend == "auto":
            table = lab.sh("server", f"nft list table inet wgdoctor_mss_{IFACE}").stdout
            assert table.count("maxseg size set rt mtu") == 2, table
        elif backend == "firewalld":
            direct = lab.sh("server", "firewall-cmd --permanent --direct --get-all-rules").stdout
            assert len(re.findall(rf"ipv4 mangle FORWARD 0 -[io] {IFACE} .*-j TCPMSS --clamp-mss-to-pmtu", direct)) == 2, direct
        else:
            rules = lab.sh("server", "iptables -t mangle -S FORWARD").stdout
            assert len(re.findall(rf"-[io] {IFACE} .*-j TCPMSS --clamp-mss-to-pmtu", rules)) == 2, rules
            if backend == "ufw":
                # Persisted the way ufw persists: in its before rules, loaded at boot and by `ufw reload`.
                before = lab.sh("server", "cat /etc/ufw/before.rules").stdout
                assert f"BEGIN wgdoctor MSS clamp {IFACE}" in before and before.count("--clamp-mss-to-pmtu") == 2, before
                lab.sh("server", "ufw reload >/dev/null")
                rules = lab.sh("server", "iptables -t mangle -S FORWARD").stdout
                assert len(re.findall(rf"-[io] {IFACE} .*-j TCPMSS --clamp-mss-to-pmtu", rules)) >= 2, rules
        out = _tcpdump_syn_mss(lab, "client2")
        lab.sh("client2", "sleep 1")
        lab.sh("client", f"timeout 3 python3 -c \"import socket; socket.create_connection(('{ADDRESSES['client2']}', 8934), 2)\"",
               check=False)
        lab.sh("client2", "sleep 6")
        capture = lab.sh("client2", f"cat {out}").stdout
        syn = [line for line in capture.splitlines() if f"{ADDRESSES['client']}." in line and f"{ADDRESSES['client2']}.8934" in line]
        assert syn, capture
        assert f"mss {WANTED_MTU - 40}" in syn[0], capture
    finally:
        if backend in FIREWALL_OFF:
            lab.sh("server", FIREWALL_OFF[backend], check=False)
        lab.sh("client2", "systemctl stop lab-mtu-listen lab-mtu-tcpdump 2>/dev/null || true", check=False)
        lab.sh("server", f"sysctl -qw net.ipv4.ip_forward=0; nft delete table inet wgdoctor_mss_{IFACE} 2>/dev/null || true; "
                         f"rm -f /etc/nftables.d/wgdoctor-mss-{IFACE}.nft; iptables -t mangle -F FORWARD; ip6tables -t mangle -F FORWARD; "
                         f"iptables -F INPUT; ip6tables -F INPUT",
               check=False)
