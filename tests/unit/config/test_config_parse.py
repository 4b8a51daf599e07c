"""wg-quick configs read the way `wg-quick up` reads them: what it accepts, and what it refuses with file and line."""
from __future__ import annotations

import json
import os
import re

import pytest

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard.derive import public_key_from_private
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard.config import (
    ConfigParseError, parse_config, parse_config_strict,
)

HERE = os.path.dirname(__file__)
FACTS_FIXTURES = os.path.join(HERE, "..", "facts", "fixtures")
SERVER_PUB = "amWm682tbJ6e7Ik/1DrZUkFLnFU78wWeHLXELqsaCTk="
CLIENT_PUB = "WW2tzky9Mlq3Db+kEnbbRYtKQ2BSL4wzDLJ/T+B2rSw="
PUB_A = "1ZgvesEc2l9Ri5pLlv1teiXRCdBRh5/1Zw5bE1bsxHM="
PUB_B = "AwiSblqzEwyizDT/gwjNvOuRbKecp1qT2+/a5eyMRg4="


def fixture(name: str) -> str:
    with open(os.path.join(HERE, "fixtures", name), newline="") as handle:
        return handle.read()


def secrets() -> list:
    with open(os.path.join(FACTS_FIXTURES, "secrets.txt")) as handle:
        return [line.strip() for line in handle if line.strip()]


def reasons(text: str) -> list:
    return [(error["line"], error["reason"]) for error in parse_config(text, "/etc/wireguard/wg0.conf")["parse_errors"]]


def test_recorded_server_config_reads_like_wg_quick_does():
    config = parse_config_strict(fixture("healthy_server.conf"), "/etc/wireguard/wgF0.conf",
                                 derive_public_key=public_key_from_private)
    assert config["path"] == "/etc/wireguard/wgF0.conf"
    assert config["address"] == ["10.99.31.1/24"]
    assert config["listen_port"] == 51831
    assert config["has_private_key"] is True
    # The same public key the running interface printed in `wg show all dump`.
    assert config["public_key"] == SERVER_PUB
    [peer] = config["peers"]
    assert peer["public_key"] == CLIENT_PUB
    assert peer["line"] == 7
    assert peer["allowed_ips"] == ["10.99.31.2/32"]
    assert peer["endpoint"] is None
    assert peer["has_preshared_key"] is True


def test_client_endpoint_is_split_and_both_ends_share_the_psk_digest():
    client = parse_config_strict(fixture("healthy_client.conf"))
    server = parse_config_strict(fixture("healthy_server.conf"))
    endpoint = client["peers"][0]["endpoint"]
    assert endpoint == {"raw": "10.200.31.1:51831", "host": "10.200.31.1", "port": 51831,
                        "is_hostname": False, "resolved": None, "resolve_error": None}
    assert client["peers"][0]["persistent_keepalive"] == 25
    assert client["listen_port"] is None
    assert client["peers"][0]["preshared_key_digest"] == server["peers"][0]["preshared_key_digest"]


def test_config_wg_quick_refused_reports_every_problem_with_its_line():
    # wg-quick itself only said: AllowedIP is not in the correct format: `10.99.31.2/33'
    errors = reasons(fixture("errors_server.conf"))
    assert [line for line, _reason in errors] == [4, 11, 12]
    assert "70000" in errors[0][1] and "4464" in errors[0][1]
    assert "prefix length" in errors[1][1]
    assert errors[2][1] == "unknown key Endpointt"


def test_strict_parse_raises_the_first_problem_as_file_line_reason():
    with pytest.raises(ConfigParseError) as caught:
        parse_config_strict(fixture("errors_server.conf"), "/etc/wireguard/wg2.conf")
    assert caught.value.file == "/etc/wireguard/wg2.conf"
    assert caught.value.line == 4
    assert str(caught.value).startswith("/etc/wireguard/wg2.conf:4: ListenPort")


def test_no_key_from_any_fixture_appears_in_a_parse_result_or_error():
    for name in ("healthy_server.conf", "healthy_client.conf", "errors_server.conf"):
        out = json.dumps(parse_config(fixture(name)))
        for secret in secrets():
            assert secret not in out, name


def test_a_pasted_private_key_on_its_own_line_is_not_echoed():
    private = secrets()[0]
    text = "[Interface]\n%s\nPrivateKey = %s\n[Peer]\nEndpoint = %s\n" % (private, private[:-1], private)
    out = json.dumps(parse_config(text))
    assert private not in out and private[:-1] not in out
    assert len(parse_config(text)["parse_errors"]) == 4


def test_keys_are_case_insensitive_and_wg_ignores_whitespace_inside_lines():
    text = "[INTERFACE]\nlistenport=51820\nListen Port = 51821\nADDRESS = 10.0.0.1/24\n[peer]\npublickey=%s\nAllowed IPs = 10.0.0.2/32 , 10.1.0.0/16\n" % PUB_A
    config = parse_config_strict(text)
    assert config["listen_port"] == 51821
    assert config["address"] == ["10.0.0.1/24"]
    assert config["peers"][0]["allowed_ips"] == ["10.0.0.2/32", "10.1.0.0/16"]


def test_comments_and_repeated_list_keys_accumulate():
    text = ("[Interface] # server\nAddress = 10.0.0.1/24, fd00::1/64 # both families\nAddress = 10.0.1.1/24\n"
            "DNS = 10.0.0.53, example.test\nPostUp = iptables -A FORWARD -i %%i -j ACCEPT\nSaveConfig = True\n"
            "MTU = 1380\nTable = off\nFwMark = 0xca6c\n"
            "[Peer]\nPublicKey = %s\nAllowedIPs = 10.0.0.2/32\nAllowedIPs = 10.0.2.7/24\n" % PUB_A)
    config = parse_config_strict(text)
    assert config["address"] == ["10.0.0.1/24", "fd00::1/64", "10.0.1.1/24"]
    assert config["dns"] == ["10.0.0.53", "example.test"]
    assert config["hooks"] == {"pre_up": False, "post_up": True, "pre_down": False, "post_down": False}
    assert (config["save_config"], config["mtu"], config["table"], config["fwmark"]) == (True, 1380, "off", 0xCA6C)
    # wg keeps the network, not the host bits: compare with the runtime's allowed ips.
    assert config["peers"][0]["allowed_ips"] == ["10.0.0.2/32", "10.0.2.0/24"]


@pytest.mark.parametrize("endpoint,host,port,is_hostname", [
    ("vpn.example.test:51820", "vpn.example.test", 51820, True),
    ("[2001:db8::1]:51820", "2001:db8::1", 51820, False),
    ("198.51.100.10:51820", "198.51.100.10", 51820, False),
    ("2001:db8::1:51820", "2001:db8::1", 51820, False),
])
def test_endpoint_forms_wg_accepts(endpoint, host, port, is_hostname):
    config = parse_config_strict("[Peer]\nPublicKey = %s\nEndpoint = %s\n" % (PUB_A, endpoint))
    parsed = config["peers"][0]["endpoint"]
    assert (parsed["host"], parsed["port"], parsed["is_hostname"]) == (host, port, is_hostname)


@pytest.mark.parametrize("line,fragment", [
    ("Endpoint = vpn.example.test", "no port"),
    ("Endpoint = [2001:db8::1:51820", "no closing"),
    ("Endpoint = vpn.example.test:0", "cannot be used"),
    ("Endpoint = vpn.example.test:65536", "out of range"),
    ("Endpoint = :51820", "no host"),
    ("AllowedIPs = 10.0.0.300/32", "not an IP address"),
    ("AllowedIPs = 10.0.0.0/24,,10.1.0.0/24", "not an IP address"),
    ("PersistentKeepalive = always", "neither off nor"),
    ("PublicKey = abc=", "not base64 of 32 bytes"),
    ("PresharedKey = c2hvcnQ=", "not base64 of 32 bytes"),
    # Found by running the same lines through `wg setconf` on wireguard-go:
    ("AllowedIPs =", "AllowedIPs has no value"),
    ("AllowedIPs = fe80::1%eth0/128", "not an IP address"),
    ("Endpoint = ", "Endpoint has no value"),
    ("Address = 10.0.0.1/24", "belongs in [Interface]"),
    ("ListenPort = 51820", "belongs in [Interface]"),
])
def test_peer_lines_wg_refuses(line, fragment):
    errors = reasons("[Interface]\nListenPort = 51820\n\n[Peer]\nPublicKey = %s\n%s\n" % (PUB_A, line))
    assert len(errors) == 1, errors
    assert errors[0][0] == 6
    assert fragment in errors[0][1]


@pytest.mark.parametrize("line,fragment", [
    ("ListenPort = ", "ListenPort has no value"),
    ("ListenPort = 70000", "out of range"),
    ("FwMark = mark", "neither off nor"),
    ("MTU = big", "not a number"),
    ("SaveConfig = yes", "neither true nor false"),
    ("Address = 10.0.0.1/33", "not ADDRESS/PREFIX"),
    ("PublicKey = %s" % PUB_A, "belongs in [Peer]"),
    ("PrivateKey = %s" % PUB_A[:-2] + "B=", "not base64"),
    ("Adress = 10.0.0.1/24", "unknown key Adress"),
    ("just words", "line unrecognized"),
])
def test_interface_lines_wg_quick_refuses(line, fragment):
    errors = reasons("[Interface]\n%s\n" % line)
    assert len(errors) == 1, errors
    assert errors[0] == (2, errors[0][1]) and fragment in errors[0][1]


def test_duplicate_peers_and_peer_without_key_are_named():
    text = "[Peer]\nPublicKey = %s\n[Peer]\nAllowedIPs = 10.0.0.2/32\n[Peer]\nPublicKey = %s\n" % (PUB_A, PUB_A)
    assert reasons(text) == [(3, "[Peer] has no PublicKey"),
                             (5, "duplicate peer: the [Peer] at line 1 has the same PublicKey")]


def test_lines_before_any_section_and_unknown_sections_are_errors():
    errors = reasons("ListenPort = 1\n[Interfaces]\nListenPort = 2\n")
    assert [line for line, _reason in errors] == [1, 2, 3]


def test_crlf_file_parses_like_lf():
    lf = fixture("healthy_client.conf")
    assert parse_config(lf.replace("\n", "\r\n")) == parse_config(lf)


def test_empty_file_is_a_valid_config_without_keys():
    config = parse_config_strict("")
    assert config["peers"] == [] and config["has_private_key"] is False and config["public_key"] is None


def test_a_malformed_public_key_is_one_problem_not_two():
    assert reasons("[Peer]\nPublicKey = %s\n" % (PUB_A[:-2] + "A")) == [
        (2, "PublicKey is not base64 of 32 bytes (wg pubkey prints 44 characters ending in '=')")]
    assert reasons("[Peer]\nPublicKey =\n") == [(2, "PublicKey has no value")]


def test_empty_wg_quick_values_are_what_wg_quick_makes_of_them():
    config = parse_config_strict("[Interface]\nMTU =\nTable =\nDNS =\nAddress =\n")
    assert (config["mtu"], config["table"], config["dns"], config["address"]) == (None, None, [], [])


def wg_verdicts() -> list:
    cases = []
    for line in fixture("wg_verdicts.txt").splitlines():
        rc, case = line.split("\t", 1)
        cases.append((int(rc), case.replace("|", "\n") + "\n"))
    return cases


# wg accepts these, but they never give a working tunnel: reported on purpose.
DELIBERATE = {"duplicate peer: the [Peer] at line N has the same PublicKey"}


@pytest.mark.parametrize("rc,text", wg_verdicts())
def test_parser_agrees_with_the_real_wg_setconf(rc, text):
    """Each case was fed to `wg setconf` on wireguard-go (fixtures/record_wg_verdicts.sh)."""
    problems = {re.sub(r"\d+", "N", error["reason"]) for error in parse_config(text)["parse_errors"]} - DELIBERATE
    assert bool(problems) == (rc != 0), problems
    for secret in secrets():
        assert secret not in json.dumps(parse_config(text))


def test_the_reader_derives_nothing_unless_told_how():
    # The reader ships to targets without the curve: derivation is the caller's (wg pubkey on a host).
    config = parse_config(fixture("healthy_server.conf"))
    assert config["has_private_key"] is True and config["public_key"] is None
    asked = []
    config = parse_config(fixture("healthy_server.conf"), derive_public_key=lambda private: asked.append(1) or SERVER_PUB)
    assert config["public_key"] == SERVER_PUB and asked == [1]
