"""Editing a peer the way a person would: only the lines that change, comments and order kept, and never a broken file."""
from __future__ import annotations

import os

import pytest

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard.config import ConfigParseError, parse_config, parse_config_strict
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard.config_edit import (
    add_peer, decode_config, peer_values, remove_peer, replace_peer_public_key, set_interface_values, set_peer_values,
)

HERE = os.path.dirname(__file__)
SERVER_PUB = "amWm682tbJ6e7Ik/1DrZUkFLnFU78wWeHLXELqsaCTk="
CLIENT_PUB = "WW2tzky9Mlq3Db+kEnbbRYtKQ2BSL4wzDLJ/T+B2rSw="
PUB_A = "1ZgvesEc2l9Ri5pLlv1teiXRCdBRh5/1Zw5bE1bsxHM="
PUB_B = "AwiSblqzEwyizDT/gwjNvOuRbKecp1qT2+/a5eyMRg4="
PSK = "bmV2ZXIgYSByZWFsIHByZXNoYXJlZCBrZXkgaGVyZSE="

HUB = """# hub, managed by hand
[Interface]
Address = 10.99.0.1/24
ListenPort = 51820
PostUp = iptables -A FORWARD -i %i -j ACCEPT

# laptop
[Peer]
PublicKey = {a}
AllowedIPs = 10.99.0.2/32   # laptop tunnel address
AllowedIPs = 10.50.0.0/24
  PersistentKeepalive=25

# phone
[Peer]
PublicKey = {b}
Endpoint = phone.example.test:51820
AllowedIPs = 10.99.0.3/32
""".format(a=PUB_A, b=PUB_B)


def fixture(name: str) -> str:
    with open(os.path.join(HERE, "fixtures", name), newline="") as handle:
        return handle.read()


def changed_lines(before: str, after: str) -> list:
    old, new = before.splitlines(), after.splitlines()
    return [(i + 1, line) for i, line in enumerate(new) if i >= len(old) or old[i] != line]


def test_adding_keepalive_to_the_natted_peer_touches_one_line():
    after = set_peer_values(HUB, PUB_B, {"PersistentKeepalive": 25})
    assert after == HUB.replace("AllowedIPs = 10.99.0.3/32\n", "AllowedIPs = 10.99.0.3/32\nPersistentKeepalive = 25\n")
    assert parse_config_strict(after)["peers"][1]["persistent_keepalive"] == 25


def test_changing_a_value_keeps_indentation_spacing_and_comment():
    after = set_peer_values(HUB, PUB_A, {"persistentkeepalive": "15"})
    assert changed_lines(HUB, after) == [(12, "  PersistentKeepalive=15")]


def test_setting_allowed_ips_rewrites_the_first_line_and_drops_the_repeats():
    after = set_peer_values(HUB, PUB_A, {"AllowedIPs": ["10.99.0.2/32", "10.60.0.0/24"]})
    assert "AllowedIPs = 10.99.0.2/32, 10.60.0.0/24   # laptop tunnel address\n" in after
    assert "10.50.0.0/24" not in after
    assert parse_config_strict(after)["peers"][0]["allowed_ips"] == ["10.99.0.2/32", "10.60.0.0/24"]
    assert len(after.splitlines()) == len(HUB.splitlines()) - 1


def test_none_removes_the_key_and_other_peers_stay_byte_for_byte():
    after = set_peer_values(HUB, PUB_B, {"Endpoint": None})
    assert after == HUB.replace("Endpoint = phone.example.test:51820\n", "")


def test_correcting_the_endpoint_of_a_stale_peer():
    after = set_peer_values(HUB, PUB_B, {"Endpoint": "[2001:db8::7]:51821"})
    assert parse_config_strict(after)["peers"][1]["endpoint"]["port"] == 51821
    assert changed_lines(HUB, after) == [(17, "Endpoint = [2001:db8::7]:51821")]


def test_replacing_a_wrong_public_key_keeps_the_section():
    after = replace_peer_public_key(HUB, PUB_B, CLIENT_PUB)
    assert changed_lines(HUB, after) == [(16, "PublicKey = %s" % CLIENT_PUB)]
    with pytest.raises(ConfigParseError, match="already has this PublicKey") as caught:
        replace_peer_public_key(HUB, PUB_B, PUB_A)
    assert caught.value.line == 8


def test_editing_an_absent_peer_raises():
    with pytest.raises(ConfigParseError, match="no \\[Peer\\] with PublicKey") as caught:
        set_peer_values(HUB, CLIENT_PUB, {"PersistentKeepalive": 25}, "/etc/wireguard/wg0.conf")
    assert caught.value.file == "/etc/wireguard/wg0.conf"
    with pytest.raises(ConfigParseError):
        remove_peer(HUB, CLIENT_PUB)


@pytest.mark.parametrize("values,fragment", [
    ({"Endpoint": "phone.example.test"}, "no port"),
    ({"AllowedIPs": "10.99.0.3/40"}, "prefix length"),
    ({"PersistentKeepalive": "sometimes"}, "neither off nor"),
    ({"PresharedKey": "too-short"}, "not base64"),
    ({"ListenPort": "51820"}, "cannot set ListenPort here"),
    ({"Endpoint": "a.example.test:1 # sneaky"}, "newline or a '#'"),
    ({"AllowedIPs": "10.0.0.0/8\n[Interface]"}, "newline"),
])
def test_a_value_wg_would_refuse_is_refused_before_writing(values, fragment):
    with pytest.raises(ConfigParseError, match=fragment.replace("[", "\\[").replace("(", "\\(")):
        set_peer_values(HUB, PUB_B, values)


def test_preshared_key_is_written_but_never_echoed_in_an_error():
    after = set_peer_values(HUB, PUB_A, {"PresharedKey": PSK})
    assert "PresharedKey = %s" % PSK in after
    assert parse_config_strict(after)["peers"][0]["has_preshared_key"] is True
    with pytest.raises(ConfigParseError) as caught:
        set_peer_values(HUB, PUB_A, {"PresharedKey": PSK[:-2] + "x="})
    assert PSK[:-2] not in str(caught.value)


def test_interface_values_set_listen_port_and_remove_a_hook():
    after = set_interface_values(HUB, {"ListenPort": 51821, "PostUp": None, "MTU": 1380})
    config = parse_config_strict(after)
    assert (config["listen_port"], config["mtu"], config["hooks"]["post_up"]) == (51821, 1380, False)
    assert after.startswith("# hub, managed by hand\n[Interface]\nAddress = 10.99.0.1/24\nListenPort = 51821\nMTU = 1380\n\n# laptop\n")


def test_interface_section_is_created_when_missing():
    text = "[Peer]\nPublicKey = %s\n" % PUB_A
    after = set_interface_values(text, {"ListenPort": 51820})
    assert after == "[Interface]\nListenPort = 51820\n\n" + text
    assert set_interface_values(text, {"ListenPort": None}) == text


def test_adding_a_peer_appends_a_section_after_a_blank_line():
    after = add_peer(HUB, {"AllowedIPs": ["10.99.0.4/32"], "PublicKey": CLIENT_PUB, "PersistentKeepalive": 25})
    assert after == HUB + "\n[Peer]\nPublicKey = %s\nAllowedIPs = 10.99.0.4/32\nPersistentKeepalive = 25\n" % CLIENT_PUB
    with pytest.raises(ConfigParseError, match="already present"):
        add_peer(HUB, {"PublicKey": PUB_A})
    with pytest.raises(ConfigParseError, match="needs a PublicKey"):
        add_peer(HUB, {"AllowedIPs": "10.99.0.9/32"})


def test_removing_a_peer_takes_its_comment_and_leaves_the_others():
    after = remove_peer(HUB, PUB_A)
    assert "laptop" not in after and PUB_A not in after
    assert after == HUB[:HUB.index("# laptop")] + HUB[HUB.index("# phone"):]
    last_removed = remove_peer(HUB, PUB_B)
    # The blank line that separated the removed last peer goes with it.
    assert last_removed == HUB[:HUB.index("\n\n# phone") + 1]
    assert [peer["public_key"] for peer in parse_config_strict(last_removed)["peers"]] == [PUB_A]


def test_crlf_files_stay_crlf_and_a_missing_final_newline_is_handled():
    crlf = HUB.replace("\n", "\r\n")
    after = set_peer_values(crlf, PUB_B, {"PersistentKeepalive": 25})
    assert after == crlf.replace("AllowedIPs = 10.99.0.3/32\r\n", "AllowedIPs = 10.99.0.3/32\r\nPersistentKeepalive = 25\r\n")
    assert "\n" not in after.replace("\r\n", "")
    bare = HUB.rstrip("\n")
    assert set_peer_values(bare, PUB_B, {"PersistentKeepalive": 25}).endswith("10.99.0.3/32\nPersistentKeepalive = 25\n")


def test_unknown_lines_survive_an_edit_and_are_not_made_worse():
    broken = HUB.replace("ListenPort = 51820\n", "ListenPort = 51820\nSomething = odd\n")
    after = set_peer_values(broken, PUB_B, {"PersistentKeepalive": 25})
    assert "Something = odd\n" in after
    assert [e["reason"] for e in parse_config(after)["parse_errors"]] == ["unknown key Something"]


def test_recorded_configs_edit_and_reparse():
    for name, key in (("healthy_server.conf", CLIENT_PUB), ("healthy_client.conf", SERVER_PUB)):
        text = fixture(name)
        after = set_peer_values(text, key, {"PersistentKeepalive": 21, "AllowedIPs": "10.99.31.0/24"})
        peer = parse_config_strict(after)["peers"][0]
        assert peer["persistent_keepalive"] == 21 and peer["allowed_ips"] == ["10.99.31.0/24"]
        assert remove_peer(add_peer(text, {"PublicKey": PUB_A}), PUB_A) == text


def test_no_op_edit_returns_the_same_bytes():
    assert set_peer_values(HUB, PUB_A, {}) == HUB
    assert set_peer_values(HUB, PUB_B, {"AllowedIPs": "10.99.0.3/32"}) == HUB


def test_an_empty_allowed_ips_list_removes_the_key_instead_of_writing_a_line_wg_refuses():
    after = set_peer_values(HUB, PUB_B, {"AllowedIPs": []})
    assert "10.99.0.3/32" not in after and parse_config_strict(after)["peers"][1]["allowed_ips"] == []


def test_a_byte_that_is_not_utf8_is_an_error_with_line_and_offset_not_a_silent_replacement():
    raw = HUB.encode().replace(b"# phone\n", b"# phone of J\xfcrgen\n")
    offset = raw.index(b"\xfc")
    with pytest.raises(ConfigParseError) as info:
        decode_config(raw, "/etc/wireguard/hub.conf")
    assert info.value.line == 14 and "byte offset %d" % offset in str(info.value) and "UTF-8" in str(info.value)
    with pytest.raises(ConfigParseError):
        set_peer_values(raw, PUB_A, {"PersistentKeepalive": 30}, "/etc/wireguard/hub.conf")
    assert decode_config(HUB.encode(), "x") == HUB


def test_peer_values_are_the_raw_values_wg_set_needs_for_that_peer_only():
    text = HUB.replace("Endpoint = phone.example.test:51820\n", "Endpoint = phone.example.test:51820\nPresharedKey = %s\n" % PSK)
    assert peer_values(text, PUB_A) == {"PublicKey": PUB_A, "AllowedIPs": "10.99.0.2/32, 10.50.0.0/24", "PersistentKeepalive": "25"}
    assert peer_values(text, PUB_B) == {"PublicKey": PUB_B, "Endpoint": "phone.example.test:51820", "AllowedIPs": "10.99.0.3/32",
                                        "PresharedKey": PSK}
    with pytest.raises(ConfigParseError):
        peer_values(text, SERVER_PUB)
