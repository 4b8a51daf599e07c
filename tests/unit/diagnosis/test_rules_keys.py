"""Keys: does each end hold the other's real public key, and the same preshared key?"""
from __future__ import annotations

import copy

from diagnosis_facts import (
    CLIENT_KEY, SERVER_KEY, STRANGER_KEY, codes, config_peer, never_handshaken, only, probe, run, runtime_peer, wg0,
)


def client_holds_wrong_server_key(facts):
    config_peer(facts, "client")["public_key"] = STRANGER_KEY
    runtime_peer(facts, "client")["public_key"] = STRANGER_KEY
    return never_handshaken(facts)


def test_wrong_server_key_on_client_says_which_end_and_what_it_should_be(facts):
    report = run(client_holds_wrong_server_key(facts))
    finding = report["findings"][0]
    assert finding["code"] == "peer_public_key_mismatch"
    assert finding["host"] == "client"
    assert finding["summary"] == ("client/wg0 holds the wrong public key for server/wg0 (fAWw3gvj…); "
                                  "it should be LmOC49ER….")
    assert "the entry's Endpoint 198.51.100.10:51820 is server's address and ListenPort 51820" in finding["evidence"]
    assert finding["remedy"] == {"role": "wgdoctor.wireguard.peer", "host": "client", "vars": {
        "peer_interface": "wg0", "peer_public_key": STRANGER_KEY, "peer_new_public_key": SERVER_KEY}}
    assert report["tunnels"][0]["matched_by"] == "endpoint"
    assert report["outside_peers"] == []  # the wrong entry is the server, not a stranger
    assert only(report, "handshake_never")["follows_from"] == ["peer_public_key_mismatch"]


def test_wrong_client_key_on_server_found_by_allowed_ips(facts):
    config_peer(facts, "server")["public_key"] = STRANGER_KEY
    runtime_peer(facts, "server")["public_key"] = STRANGER_KEY
    never_handshaken(facts)
    report = run(facts)
    finding = report["findings"][0]
    assert (finding["code"], finding["host"]) == ("peer_public_key_mismatch", "server")
    assert finding["remedy"]["vars"]["peer_new_public_key"] == CLIENT_KEY
    assert any("AllowedIPs 10.99.0.2/32 cover client's tunnel address" in line for line in finding["evidence"])


def test_server_without_the_client_as_peer(facts):
    wg0(facts, "server")["config"]["peers"] = []
    wg0(facts, "server")["runtime"]["peers"] = []
    never_handshaken(facts)
    finding = run(facts)["findings"][0]
    assert (finding["code"], finding["host"]) == ("peer_missing", "server")
    assert finding["remedy"]["vars"] == {"peer_interface": "wg0", "peer_public_key": CLIENT_KEY,
                                         "peer_allowed_ips": ["10.99.0.2/32"]}


def test_different_preshared_keys_compared_by_digest(facts):
    config_peer(facts, "client")["preshared_key_digest"] = "0123456789abcdef"
    never_handshaken(facts)
    report = run(facts, probes=[probe("auth_failed")])
    finding = report["findings"][0]
    assert finding["code"] == "preshared_key_mismatch"
    assert finding["remedy"]["vars"]["peer_preshared_key_from_host"] == "server"
    assert "client: wg0 peer LmOC49ER…: PresharedKey digest 0123456789abcdef" in finding["evidence"]
    assert any("did not decrypt" in line for line in finding["evidence"])


def test_preshared_key_on_one_end_only(facts):
    config_peer(facts, "server").update(has_preshared_key=False, preshared_key_digest=None)
    finding = only(run(facts), "preshared_key_mismatch")
    assert "server: wg0 peer NZbhLh18…: no PresharedKey" in finding["evidence"]


def test_peer_key_that_is_not_base64_of_32_bytes(facts):
    bad = SERVER_KEY[:-2] + "=="  # one byte short: a truncated paste
    config_peer(facts, "client")["public_key"] = bad
    runtime_peer(facts, "client")["public_key"] = bad
    never_handshaken(facts)
    report = run(facts)
    finding = report["findings"][0]
    assert finding["code"] == "invalid_key"
    assert finding["evidence"] == ["/etc/wireguard/wg0.conf:6: [Peer] PublicKey is decodes to 31 bytes, expected 32"]
    # An invalid key may be anything the user pasted: only the remedy, which must find the entry, holds it.
    assert all(bad not in f["summary"] and bad not in str(f["evidence"]) for f in report["findings"])
    assert finding["remedy"]["vars"]["peer_new_public_key"] == SERVER_KEY
    assert "peer_public_key_mismatch" not in codes(report)


def test_running_interface_uses_another_key_than_the_file(facts):
    wg0(facts, "server")["config"]["public_key"] = STRANGER_KEY
    finding = only(run(facts), "local_keypair_mismatch")
    assert finding["evidence"] == ["server: PrivateKey in /etc/wireguard/wg0.conf derives fAWw3gvj…",
                                   "server: running wg0 uses LmOC49ER…"]


def test_stored_public_key_file_that_does_not_derive(facts):
    # As wg_facts reports a wg0.pub written for an older key: the peers set up from it hold the wrong key.
    facts["client"]["keypair_checks"] = [{"interface": "wg0", "source": "/etc/wireguard/wg0.pub", "public_key": STRANGER_KEY,
                                          "derived_public_key": CLIENT_KEY, "match": False, "problem": None}]
    finding = only(run(facts), "local_keypair_mismatch")
    assert finding["host"] == "client" and finding["remedy"] is None
    assert finding["evidence"] == ["client: /etc/wireguard/wg0.pub holds fAWw3gvj…, the private key derives NZbhLh18…"]
    assert "/etc/wireguard/wg0.pub" in finding["summary"] and "wg pubkey" in finding["summary"]


def test_stored_public_key_file_that_matches_is_no_finding(facts):
    facts["client"]["keypair_checks"] = [{"interface": "wg0", "source": "/etc/wireguard/wg0.pub", "public_key": CLIENT_KEY,
                                          "derived_public_key": CLIENT_KEY, "match": True, "problem": None}]
    assert "local_keypair_mismatch" not in codes(run(facts))


def test_public_key_file_holding_the_private_key_says_it_was_handed_out(facts):
    facts["client"]["keypair_checks"] = [{"interface": "wg0", "source": "/etc/wireguard/publickey", "public_key": None,
                                          "derived_public_key": CLIENT_KEY, "match": False,
                                          "problem": "holds the private key, not the public key"}]
    finding = only(run(facts), "local_keypair_mismatch")
    assert finding["evidence"] == ["client: /etc/wireguard/publickey holds the private key, not the public key"]
    assert "new key pair" in finding["summary"] and "/etc/wireguard/publickey" in finding["summary"]


def test_two_hosts_with_one_key(facts):
    facts["client2"] = copy.deepcopy(facts["client"])
    facts["client2"]["addresses"][0]["address"] = "198.51.100.21"
    finding = only(run(facts), "duplicate_public_key")
    assert finding["severity"] == "error"
    assert "client/wg0 and client2/wg0 share the public key NZbhLh18…" in finding["summary"]


def test_one_peer_listed_twice_in_a_file(facts):
    peers = wg0(facts, "server")["config"]["peers"]
    peers.append(dict(peers[0], line=12))
    finding = only(run(facts), "duplicate_public_key")
    assert "(line 12)" in finding["evidence"][0]


def test_client_clock_set_back(facts):
    facts["client"]["clock"] = {"epoch": 1764084998.0 - 3600, "ntp_synchronized": False}
    finding = only(run(facts), "clock_skew")
    assert finding["host"] == "client"
    assert finding["severity"] == "warning"
    assert "3600 s" in finding["summary"]


def test_clocks_a_few_seconds_apart_are_fine(facts):
    facts["client"]["clock"]["epoch"] += 20
    assert "clock_skew" not in codes(run(facts))


def test_ends_on_one_clock_read_70_s_apart_are_not_skewed(facts):
    """A facts phase of minutes (a big fleet under load): the server's facts came back 70 s after the client's, on
    one clock. Each end's clock is set against the controller's time when its facts arrived (wg_facts' action)."""
    facts["client"]["clock"] = {"epoch": 1764085000.0, "ntp_synchronized": True, "controller_epoch": 1764085001.5}
    facts["server"]["clock"] = {"epoch": 1764085070.0, "ntp_synchronized": True, "controller_epoch": 1764085071.2}
    assert "clock_skew" not in codes(run(facts))


def test_a_clock_set_back_is_named_when_both_were_read_at_one_time(facts):
    facts["client"]["clock"] = {"epoch": 1764085000.0 - 3600, "ntp_synchronized": False, "controller_epoch": 1764085001.0}
    facts["server"]["clock"] = {"epoch": 1764085070.0, "ntp_synchronized": True, "controller_epoch": 1764085071.0}
    finding = only(run(facts), "clock_skew")
    assert finding["host"] == "client" and "3600 s" in finding["summary"]
    assert any("controller" in line for line in finding["evidence"])


def test_two_hosts_with_one_key_is_not_also_a_missing_peer(facts):
    facts["client2"] = copy.deepcopy(facts["client"])
    assert "duplicate_public_key" in codes(run(facts))
    assert "peer_missing" not in codes(run(facts))


def test_malformed_key_that_kept_the_peer_from_parsing_is_named_with_its_line(facts):
    config = wg0(facts, "client")["config"]
    config["peers"] = []
    config["parse_errors"] = [{"file": "/etc/wireguard/wg0.conf", "line": 9,
                               "reason": "PublicKey is not base64 of 32 bytes (wg pubkey prints 44 characters ending in '=')"}]
    report = run(facts)
    finding = only(report, "invalid_key")
    assert finding["host"] == "client"
    assert finding["evidence"] == ["/etc/wireguard/wg0.conf:9: PublicKey is not base64 of 32 bytes "
                                   "(wg pubkey prints 44 characters ending in '=')"]
    assert "peer_missing" not in codes(report) and "missing_endpoint" not in codes(report)


def test_without_wg_tools_an_underived_public_key_is_not_called_invalid(facts):
    # wg_facts derives the config's public key with the host's `wg pubkey`: without wg it is unknown,
    # and wireguard_missing is the finding, not a bad key.
    server = facts["server"]
    server["tools"]["wg"] = None
    for interface in server["interfaces"].values():
        interface["runtime"] = None
        interface["config"]["public_key"] = None
    report = run(facts, probes=[], pings=[])
    assert "wireguard_missing" in codes(report)
    assert "invalid_key" not in codes(report), codes(report)


def test_a_private_key_wg_pubkey_refused_is_still_invalid(facts):
    facts["client"]["interfaces"]["wg0"]["config"]["public_key"] = None
    report = run(facts)
    assert any(f["code"] == "invalid_key" and f["host"] == "client" for f in report["findings"]), codes(report)
