# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The DDNS re-resolution job: when a server's name moves, the stale peer follows it.

The script ships as a plain file in roles/keepalive/files and runs on the host, beside the
collection's resolve.py that the role installs as wgdoctor_resolve.py. It is loaded here from
that same layout (both copied into one directory), as the host's python3 would run it.
"""
from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import types

import pytest

REPO = os.path.join(os.path.dirname(__file__), "..", "..", "..")
SOURCE_SCRIPT = os.path.join(REPO, "roles", "keepalive", "files", "wgdoctor-reresolve")
RESOLVE_PY = os.path.join(REPO, "plugins", "module_utils", "host", "resolve.py")
# What the keepalive role installs beside the script: the collection's files under these names.
BESIDE = {"wgdoctor_resolve.py": RESOLVE_PY,
          "wgdoctor_config.py": os.path.join(REPO, "plugins", "module_utils", "wireguard", "config.py"),
          "wgdoctor_keys.py": os.path.join(REPO, "plugins", "module_utils", "wireguard", "keys.py")}
SERVER_KEY = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="
OTHER_KEY = "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0="
NOW = 1_764_085_000


def install(directory: str) -> str:
    """What the keepalive role puts on the host: the script and, beside it, the collection's files."""
    script = os.path.join(directory, "wgdoctor-reresolve")
    shutil.copy(SOURCE_SCRIPT, script)
    for name, source in BESIDE.items():
        shutil.copy(source, os.path.join(directory, name))
    return script


SCRIPT = install(tempfile.mkdtemp(prefix="wgdoctor-reresolve-"))


def load_script() -> types.ModuleType:
    loader = importlib.machinery.SourceFileLoader("wgdoctor_reresolve", SCRIPT)
    spec = importlib.util.spec_from_loader("wgdoctor_reresolve", loader)
    module = importlib.util.module_from_spec(spec)
    before = set(sys.modules)
    loader.exec_module(module)
    # The job registers the bare collection packages its config reader needs; in this process they
    # would hide the real collection from the tests imported after this one.
    for name in set(sys.modules) - before:
        if name.startswith("ansible_collections"):
            del sys.modules[name]
    return module


reresolve = load_script()

CLIENT_CONFIG = """\
[Interface]
Address = 10.99.0.2/24
PrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=

[Peer]
# server, reached by its dynamic DNS name
PublicKey = {server}
Endpoint = vpn.wgdoctor.test:51820
PersistentKeepalive = 25

[Peer]
# a fixed site: nothing to re-resolve
PublicKey = {other}
Endpoint = 192.0.2.44:51820
""".format(server=SERVER_KEY, other=OTHER_KEY)


def test_only_peers_with_a_hostname_endpoint_are_followed():
    assert reresolve.read_config_endpoints(CLIENT_CONFIG) == [(SERVER_KEY, "vpn.wgdoctor.test", 51820)]


def test_config_is_read_the_way_wg_reads_it_spaces_case_and_comments():
    text = "[peer]\n  publickey=%s  # the hub\n end point = hub.example.test : 443\n" % SERVER_KEY
    assert reresolve.read_config_endpoints(text) == [(SERVER_KEY, "hub.example.test", 443)]


def test_ipv6_literal_endpoint_is_not_a_hostname():
    text = "[Peer]\nPublicKey = %s\nEndpoint = [2001:db8::1]:51820\n" % SERVER_KEY
    assert reresolve.read_config_endpoints(text) == []


def test_peer_with_fresh_handshake_is_left_alone_even_if_dns_moved():
    decision = reresolve.decide("vpn.wgdoctor.test", 51820, NOW - 30, "198.51.100.10:51820", ["198.51.100.20"], NOW, 135, routable=always_routed)
    assert decision["action"] == "none"
    assert "30s" in decision["reason"]


def test_stale_peer_follows_the_moved_dns_record():
    decision = reresolve.decide("vpn.wgdoctor.test", 51820, NOW - 400, "198.51.100.10:51820", ["198.51.100.20"], NOW, 135, routable=always_routed)
    assert decision["action"] == "set"
    assert decision["endpoint"] == "198.51.100.20:51820"
    assert "198.51.100.10" in decision["reason"] and "198.51.100.20" in decision["reason"]


def test_threshold_is_an_option_so_a_test_need_not_wait_135_seconds():
    args = ("vpn.wgdoctor.test", 51820, NOW - 10, "198.51.100.10:51820", ["198.51.100.20"], NOW)
    assert reresolve.decide(*args, stale_after=135, routable=always_routed)["action"] == "none"
    assert reresolve.decide(*args, stale_after=5, routable=always_routed)["action"] == "set"


def test_peer_that_never_shook_hands_is_re_resolved():
    decision = reresolve.decide("vpn.wgdoctor.test", 51820, 0, None, ["198.51.100.20"], NOW, 135, routable=always_routed)
    assert decision["action"] == "set" and "never" in decision["reason"]


def test_stale_peer_already_at_one_of_several_addresses_is_not_moved():
    decision = reresolve.decide("vpn.wgdoctor.test", 51820, NOW - 400, "198.51.100.20:51820",
                                ["198.51.100.10", "198.51.100.20"], NOW, 135, routable=always_routed)
    assert decision["action"] == "none"


def test_name_that_does_not_resolve_changes_nothing():
    decision = reresolve.decide("vpn.wgdoctor.test", 51820, NOW - 400, "198.51.100.10:51820", [], NOW, 135, routable=always_routed)
    assert decision["action"] == "none" and "does not resolve" in decision["reason"]


def test_ipv6_address_is_bracketed_for_wg_set():
    decision = reresolve.decide("vpn.wgdoctor.test", 51820, NOW - 400, "198.51.100.10:51820", ["2001:db8::20"], NOW, 135, routable=always_routed)
    assert decision["endpoint"] == "[2001:db8::20]:51820"


def test_wg_show_columns_are_read_per_peer():
    text = "%s\t1764084990\n%s\t0\n" % (SERVER_KEY, OTHER_KEY)
    assert reresolve.parse_wg_show(text) == {SERVER_KEY: "1764084990", OTHER_KEY: "0"}
    assert reresolve.endpoint_address("(none)") is None
    assert reresolve.endpoint_address("[2001:db8::1]:51820") == "2001:db8::1"


@pytest.fixture
def fake_host(tmp_path, monkeypatch):
    """A host whose server peer is stale and whose DNS name moved: wg calls are recorded."""
    (tmp_path / "wg0.conf").write_text(CLIENT_CONFIG)
    calls = []

    def wg(*args):
        calls.append(args)
        if args[2:] == ("latest-handshakes",):
            return "%s\t%d\n%s\t0\n" % (SERVER_KEY, NOW - 400, OTHER_KEY)
        if args[2:] == ("endpoints",):
            return "%s\t198.51.100.10:51820\n%s\t192.0.2.44:51820\n" % (SERVER_KEY, OTHER_KEY)
        return ""

    monkeypatch.setattr(reresolve, "wg", wg)
    monkeypatch.setattr(reresolve, "resolve", lambda host, port: ["198.51.100.20"])
    monkeypatch.setattr(reresolve.time, "time", lambda: NOW)
    monkeypatch.setattr(reresolve, "syslog", None)
    # The test machine's own routes must not decide: every answer is routed unless a test says otherwise.
    monkeypatch.setattr(reresolve, "routable", lambda address: True)
    return tmp_path, calls


def test_run_sets_the_new_endpoint_and_logs_without_the_private_key(fake_host, capsys):
    config_dir, calls = fake_host
    assert reresolve.main(["--interface", "wg0", "--config-dir", str(config_dir)]) == 0
    assert ("set", "wg0", "peer", SERVER_KEY, "endpoint", "198.51.100.20:51820") in calls
    out = capsys.readouterr().out
    assert "setting endpoint 198.51.100.20:51820" in out
    assert "yAnz5TF+" not in out and SERVER_KEY not in out


def test_dry_run_only_logs(fake_host, capsys):
    config_dir, calls = fake_host
    reresolve.main(["-i", "wg0", "--config-dir", str(config_dir), "--dry-run"])
    assert not [call for call in calls if call[0] == "set"]
    assert "(dry run)" in capsys.readouterr().out


def test_stale_after_comes_from_the_environment_file(fake_host, monkeypatch):
    config_dir, calls = fake_host
    monkeypatch.setenv("WGDOCTOR_RERESOLVE_STALE_AFTER", "1000")
    reresolve.main(["-i", "wg0", "--config-dir", str(config_dir)])
    assert not [call for call in calls if call[0] == "set"]


def test_script_runs_standalone_with_python3(tmp_path):
    result = subprocess.run(["python3", SCRIPT, "--help"], stdout=subprocess.PIPE, universal_newlines=True, check=True)
    assert "--stale-after" in result.stdout


def test_script_finds_resolve_py_beside_itself_in_isolated_mode(tmp_path):
    # -I drops the script's directory from sys.path: the shared file is loaded by path, not looked up.
    script = install(str(tmp_path))
    result = subprocess.run(["python3", "-I", script, "--help"], stdout=subprocess.PIPE, universal_newlines=True, check=True)
    assert "--now" in result.stdout


def test_script_without_resolve_py_says_what_is_missing(tmp_path):
    script = str(tmp_path / "wgdoctor-reresolve")
    shutil.copy(SOURCE_SCRIPT, script)
    result = subprocess.run(["python3", script, "--help"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True, check=False)
    assert result.returncode != 0
    assert "wgdoctor_resolve.py is missing" in result.stderr


@pytest.mark.parametrize("missing", ["wgdoctor_config.py", "wgdoctor_keys.py"])
def test_script_without_the_config_reader_says_what_is_missing(tmp_path, missing):
    script = install(str(tmp_path))
    os.remove(str(tmp_path / missing))
    result = subprocess.run(["python3", "-I", script, "--help"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True, check=False)
    assert result.returncode != 0
    assert missing in result.stderr and "Traceback" not in result.stderr


def test_the_job_reads_the_config_with_the_collections_reader_in_isolated_mode(tmp_path):
    # A fresh interpreter under -I: the reader and the key checks it imports come from beside the script.
    script = install(str(tmp_path))
    code = ("import runpy, sys; job = runpy.run_path(sys.argv[1]); "
            "print(job['config_reader'].__file__); print(job['read_config_endpoints'](sys.stdin.read(), 'wgc3.conf'))")
    result = subprocess.run(["python3", "-I", "-c", code, script], input=CLIENT_CONFIG.format(server=SERVER_KEY),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=True)
    reader_file, endpoints = result.stdout.splitlines()
    assert reader_file == str(tmp_path / "wgdoctor_config.py")
    assert endpoints == str([(SERVER_KEY, "vpn.wgdoctor.test", 51820)])
    assert "yAnz5TF" not in result.stdout + result.stderr


def test_a_line_the_reader_refuses_is_logged_with_file_and_line(capsys):
    text = CLIENT_CONFIG.format(server=SERVER_KEY).replace("PersistentKeepalive = 25", "PersistentKeepalive = often")
    assert reresolve.read_config_endpoints(text, "/etc/wireguard/wgc3.conf") == [(SERVER_KEY, "vpn.wgdoctor.test", 51820)]
    assert "/etc/wireguard/wgc3.conf:%d:" % (text.splitlines().index("PersistentKeepalive = often") + 1) in capsys.readouterr().out


def test_the_job_decides_with_the_collections_resolve_py():
    assert reresolve.decide.__module__ == "wgdoctor_resolve"
    assert reresolve.resolution.__file__ == os.path.join(os.path.dirname(SCRIPT), "wgdoctor_resolve.py")


def test_now_re_resolves_a_peer_whose_handshake_is_fresh(fake_host, monkeypatch, capsys):
    # The peer role's one-off run: the user asked to re-resolve now, whatever the handshake says.
    config_dir, calls = fake_host
    monkeypatch.setenv("WGDOCTOR_RERESOLVE_STALE_AFTER", "1000")
    assert reresolve.main(["-i", "wg0", "--config-dir", str(config_dir), "--now"]) == 0
    assert ("set", "wg0", "peer", SERVER_KEY, "endpoint", "198.51.100.20:51820") in calls


def test_peer_limits_the_run_to_one_public_key(fake_host):
    config_dir, calls = fake_host
    reresolve.main(["-i", "wg0", "--config-dir", str(config_dir), "--peer", OTHER_KEY])
    assert not [call for call in calls if call[0] == "set"]
    reresolve.main(["-i", "wg0", "--config-dir", str(config_dir), "--peer", SERVER_KEY])
    assert [call for call in calls if call[0] == "set"] == [("set", "wg0", "peer", SERVER_KEY, "endpoint", "198.51.100.20:51820")]


def test_without_now_a_fresh_handshake_keeps_its_endpoint():
    args = ("vpn.wgdoctor.test", 51820, NOW - 10, "198.51.100.10:51820", ["198.51.100.20"], NOW)
    assert reresolve.decide(*args, stale_after=135, routable=always_routed)["action"] == "none"
    assert reresolve.decide(*args, stale_after=None, routable=always_routed)["endpoint"] == "198.51.100.20:51820"


# ---- issue #11 item 10: only an answer the peer can really be reached at

def always_routed(address: str) -> bool:
    return True


def ipv4_only(address: str) -> bool:
    return ":" not in address


def stale(resolved, live="198.51.100.10:51820", **options):
    return reresolve.decide("vpn.wgdoctor.test", 51820, NOW - 400, live, resolved, NOW, 135, **options)


@pytest.mark.parametrize("unusable", ["127.0.0.1", "0.0.0.0", "::1", "::", "224.0.0.1", "ff02::1", "169.254.1.1",
                                      "fe80::1", "255.255.255.255", "240.0.0.1"])
def test_a_loopback_unspecified_multicast_or_link_local_answer_is_never_chosen(unusable):
    decision = stale([unusable, "198.51.100.20"], routable=always_routed)
    assert decision["action"] == "set" and decision["endpoint"] == "198.51.100.20:51820", decision


def test_a_name_that_resolves_only_to_loopback_leaves_the_peer_alone_and_says_why():
    decision = stale(["127.0.0.1", "::1"], routable=always_routed)
    assert decision["action"] == "none"
    assert "no usable address" in decision["reason"] and "127.0.0.1 (loopback)" in decision["reason"]


def test_an_ipv6_answer_on_a_host_without_an_ipv6_route_is_not_chosen():
    decision = stale(["2001:db8::20", "198.51.100.20"], live=None, routable=ipv4_only)
    assert decision["endpoint"] == "198.51.100.20:51820", decision


def test_only_ipv6_answers_on_a_host_without_an_ipv6_route_change_nothing():
    decision = stale(["2001:db8::20"], routable=ipv4_only)
    assert decision["action"] == "none" and "2001:db8::20 (no route)" in decision["reason"]


def test_an_answer_inside_the_tunnels_own_allowed_ips_is_not_chosen():
    # Split-horizon DNS that answers with the server's tunnel address: pointing the peer there
    # would send the encrypted packets into the tunnel itself.
    decision = stale(["10.99.0.1", "198.51.100.20"], routable=always_routed, allowed_ips=["10.99.0.0/24", "fd99::/64"])
    assert decision["endpoint"] == "198.51.100.20:51820", decision
    alone = stale(["10.99.0.1"], routable=always_routed, allowed_ips=["10.99.0.0/24"])
    assert alone["action"] == "none" and "10.99.0.1 (inside the tunnel's AllowedIPs 10.99.0.0/24)" in alone["reason"]


def test_a_full_tunnel_default_route_does_not_exclude_every_answer():
    # AllowedIPs = 0.0.0.0/0, ::/0: wg-quick routes the endpoint around the tunnel (fwmark), it stays usable.
    decision = stale(["198.51.100.20"], routable=always_routed, allowed_ips=["0.0.0.0/0", "::/0"])
    assert decision["endpoint"] == "198.51.100.20:51820", decision


def test_the_current_family_is_preferred():
    # getaddrinfo puts IPv6 first on a dual-stack host; the peer stays on IPv4 when IPv4 still works.
    decision = stale(["2001:db8::20", "198.51.100.20"], routable=always_routed)
    assert decision["endpoint"] == "198.51.100.20:51820", decision
    on_ipv6 = stale(["198.51.100.20", "2001:db8::20"], live="[2001:db8::10]:51820", routable=always_routed)
    assert on_ipv6["endpoint"] == "[2001:db8::20]:51820", on_ipv6


def test_a_peer_at_an_address_that_is_no_longer_usable_is_moved():
    decision = stale(["10.99.0.1", "198.51.100.20"], live="10.99.0.1:51820", routable=always_routed,
                     allowed_ips=["10.99.0.0/24"])
    assert decision["endpoint"] == "198.51.100.20:51820", decision


def test_private_and_documentation_addresses_are_real_endpoints():
    # A tunnel across a LAN, or the lab's 198.51.100.0/24: "global" here means routable unicast, not public.
    for address in ("192.168.1.20", "10.20.0.5", "198.51.100.20", "fd00::20"):
        assert stale([address], routable=always_routed)["endpoint"].startswith(("[" + address, address))


def test_the_job_keeps_the_answer_outside_the_tunnel_and_routed(fake_host, monkeypatch):
    # The job feeds decide with the interface's runtime AllowedIPs and the host's routes.
    config_dir, calls = fake_host
    monkeypatch.setattr(reresolve, "resolve", lambda host, port: ["10.99.0.1", "2001:db8::20", "198.51.100.20"])
    monkeypatch.setattr(reresolve, "routable", ipv4_only)
    fake_wg = reresolve.wg

    def wg(*args):
        if args[2:] == ("allowed-ips",):
            calls.append(args)
            return "%s\t10.99.0.1/32 10.99.0.0/24\n%s\t(none)\n" % (SERVER_KEY, OTHER_KEY)
        return fake_wg(*args)

    monkeypatch.setattr(reresolve, "wg", wg)
    assert reresolve.main(["-i", "wg0", "--config-dir", str(config_dir), "--now"]) == 0
    assert [call for call in calls if call[0] == "set"] == [("set", "wg0", "peer", SERVER_KEY, "endpoint", "198.51.100.20:51820")]


def test_has_route_asks_the_kernel_without_sending(monkeypatch):
    from ansible_collections.wgdoctor.wireguard.plugins.module_utils.host import resolve
    connected = []

    class FakeSocket:
        def __init__(self, family, kind):
            self.family = family

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def connect(self, address):
            connected.append((self.family, address[0]))
            if self.family == resolve.socket.AF_INET6:
                raise OSError(101, "Network is unreachable")

    monkeypatch.setattr(resolve.socket, "socket", FakeSocket)
    assert resolve.has_route("198.51.100.20") is True
    assert resolve.has_route("2001:db8::20") is False
    assert connected == [(resolve.socket.AF_INET, "198.51.100.20"), (resolve.socket.AF_INET6, "2001:db8::20")]


def test_the_job_says_when_a_stale_peers_name_offers_nowhere_to_go(fake_host, monkeypatch, capsys):
    # Silence here would look like "DNS did not move"; the host simply has no route to the new address.
    config_dir, calls = fake_host
    monkeypatch.setattr(reresolve, "routable", lambda address: False)
    assert reresolve.main(["-i", "wg0", "--config-dir", str(config_dir)]) == 0
    assert not [call for call in calls if call[0] == "set"]
    out = capsys.readouterr().out
    assert "vpn.wgdoctor.test has no usable address: 198.51.100.20 (no route); endpoint left as it is" in out


# ---------------------------------------------------------------- an interface with several hostname peers
HUNG_KEY = "aGVsbG8gd29ybGQgaGVsbG8gd29ybGQgaGVsbG8gd28="
FRESH_KEY = "ZnJlc2ggcGVlciBmcmVzaCBwZWVyIGZyZXNoIHBlZXI="
HUB_CONFIG = """\
[Interface]
Address = 10.98.0.1/24
ListenPort = 47120
PrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=

[Peer]
# a site whose DNS server no longer answers
PublicKey = {hung}
AllowedIPs = 10.98.0.3/32
Endpoint = hung.example.test:47121

[Peer]
# a healthy site: its handshake is fresh
PublicKey = {fresh}
AllowedIPs = 10.98.0.4/32
Endpoint = fresh.example.test:47122

[Peer]
PublicKey = {server}
AllowedIPs = 10.98.0.2/32
Endpoint = vpn.wgdoctor.test:47123
""".format(hung=HUNG_KEY, fresh=FRESH_KEY, server=SERVER_KEY)


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """wg-hub with three hostname peers: the first and the last stale, the middle one fresh."""
    (tmp_path / "wg-hub.conf").write_text(HUB_CONFIG)
    calls = []

    def wg(*args):
        calls.append(args)
        if args[2:] == ("latest-handshakes",):
            return "%s\t0\n%s\t%d\n%s\t%d\n" % (HUNG_KEY, FRESH_KEY, NOW - 20, SERVER_KEY, NOW - 400)
        if args[2:] == ("endpoints",):
            return "%s\t198.51.100.3:47121\n%s\t198.51.100.4:47122\n%s\t198.51.100.10:47123\n" % (HUNG_KEY, FRESH_KEY, SERVER_KEY)
        return ""

    monkeypatch.setattr(reresolve, "wg", wg)
    monkeypatch.setattr(reresolve.time, "time", lambda: NOW)
    monkeypatch.setattr(reresolve, "syslog", None)
    monkeypatch.setattr(reresolve, "routable", lambda address: True)
    return tmp_path, calls


def test_a_peer_whose_handshake_is_fresh_is_not_looked_up(hub, monkeypatch):
    # A hub with many healthy hostname peers would ask DNS about every one of them every 30 s for nothing.
    config_dir, calls = hub
    looked_up = []
    monkeypatch.setattr(reresolve, "resolve", lambda host, port: looked_up.append(host) or ["198.51.100.20"])
    assert reresolve.main(["-i", "wg-hub", "--config-dir", str(config_dir)]) == 0
    assert sorted(looked_up) == ["hung.example.test", "vpn.wgdoctor.test"]
    assert [call[3] for call in calls if call[0] == "set"] == [HUNG_KEY, SERVER_KEY]


def test_a_name_that_never_answers_does_not_hold_up_the_other_peers(hub, monkeypatch, capsys):
    # getaddrinfo cannot be interrupted: a name whose DNS server is gone held the job, and the peers after
    # it, for as long as the resolver's retries took, past cron's next run.
    config_dir, calls = hub
    released = threading.Event()

    def lookup(host, port):
        if host == "hung.example.test":
            released.wait(10)
            raise OSError("timed out")
        return ["198.51.100.20"]

    monkeypatch.setattr(reresolve, "resolve", lookup)
    monkeypatch.setenv("WGDOCTOR_RERESOLVE_RESOLVE_TIMEOUT", "0.5")
    statuses = []
    job = threading.Thread(target=lambda: statuses.append(reresolve.main(["-i", "wg-hub", "--config-dir", str(config_dir)])),
                           daemon=True)
    try:
        job.start()
        job.join(5)
        assert not job.is_alive(), "the job still waits for the name that never answers"
    finally:
        released.set()
        job.join(15)
    assert statuses == [0]
    assert [call for call in calls if call[0] == "set"] == [("set", "wg-hub", "peer", SERVER_KEY, "endpoint", "198.51.100.20:47123")]
    out = capsys.readouterr().out
    assert "peer %s...: hung.example.test: no answer within 0.5 s; endpoint left as it is" % HUNG_KEY[:8] in out


def test_a_failed_lookup_of_a_stale_peer_is_said_and_the_next_peer_still_followed(hub, monkeypatch, capsys):
    # A stale peer left where it is without a word would look like "DNS did not move".
    config_dir, calls = hub

    def lookup(host, port):
        if host == "hung.example.test":
            raise reresolve.resolution.socket.gaierror(-2, "Name or service not known")
        return ["198.51.100.20"]

    # Below the job's own lookup: getaddrinfo's failure as the resolver gives it.
    monkeypatch.setattr(reresolve.resolution, "resolve_name", lookup)
    assert reresolve.main(["-i", "wg-hub", "--config-dir", str(config_dir)]) == 0
    assert [call[3] for call in calls if call[0] == "set"] == [SERVER_KEY]
    assert "hung.example.test: Name or service not known; endpoint left as it is" in capsys.readouterr().out


def test_a_failed_wg_set_on_one_peer_does_not_skip_the_next(hub, monkeypatch, capsys):
    config_dir, calls = hub
    monkeypatch.setattr(reresolve, "resolve", lambda host, port: ["198.51.100.20"])
    fake_wg = reresolve.wg

    def wg(*args):
        if args[0] == "set" and args[3] == HUNG_KEY:
            calls.append(args)
            raise subprocess.CalledProcessError(1, ["wg"] + list(args))
        return fake_wg(*args)

    monkeypatch.setattr(reresolve, "wg", wg)
    assert reresolve.main(["-i", "wg-hub", "--config-dir", str(config_dir)]) == 1
    assert [call[3] for call in calls if call[0] == "set"] == [HUNG_KEY, SERVER_KEY]
    assert "peer %s...: wg set endpoint failed" % HUNG_KEY[:8] in capsys.readouterr().out


@pytest.mark.parametrize("variable, value", [("WGDOCTOR_RERESOLVE_STALE_AFTER", "often"),
                                             ("WGDOCTOR_RERESOLVE_RESOLVE_TIMEOUT", "-1")])
def test_a_bad_value_in_the_environment_file_is_named_without_a_traceback(hub, monkeypatch, capsys, variable, value):
    config_dir, calls = hub
    monkeypatch.setenv(variable, value)
    with pytest.raises(SystemExit) as exited:
        reresolve.main(["-i", "wg-hub", "--config-dir", str(config_dir)])
    assert exited.value.code == 2
    assert repr(value) in capsys.readouterr().err
    assert not calls
