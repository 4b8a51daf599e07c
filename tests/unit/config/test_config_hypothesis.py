"""Whatever text sits in /etc/wireguard, the parser answers with a config or a ConfigParseError naming a line."""
from __future__ import annotations

from hypothesis import given, settings, strategies as st

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard.config import (
    ConfigParseError, parse_config, parse_config_strict,
)
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard.config_edit import set_peer_values

KEY = "1ZgvesEc2l9Ri5pLlv1teiXRCdBRh5/1Zw5bE1bsxHM="
FRAGMENTS = ["[Interface]", "[Peer]", "[peer]", "[", "]", "=", "#", ",", ":", "/", " ", "\t", "\r\n", "\n", "\r",
             "ListenPort", "PrivateKey", "PublicKey", "PresharedKey", "AllowedIPs", "Endpoint", "FwMark",
             "PersistentKeepalive", "Address", "DNS", "MTU", "Table", "PostUp", "SaveConfig", KEY,
             "10.0.0.1/24", "fd00::1", "[::1]:51820", "51820", "off", "0x10", "true", "\x00", "\u00e9", "\u2028"]

config_like = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=8)), max_size=60).map("".join)


def check(text: str) -> None:
    lines = max(1, len(text.split("\n")))
    config = parse_config(text, "f.conf")
    for error in config["parse_errors"]:
        assert 1 <= error["line"] <= lines and error["file"] == "f.conf" and error["reason"]
    try:
        parse_config_strict(text, "f.conf")
    except ConfigParseError as exc:
        assert 1 <= exc.line <= lines
        assert str(exc).startswith("f.conf:%d: " % exc.line)
    else:
        assert config["parse_errors"] == []


@settings(max_examples=600, deadline=None)
@given(config_like)
def test_config_like_text_parses_or_fails_with_a_line_number(text):
    check(text)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_arbitrary_text_parses_or_fails_with_a_line_number(text):
    check(text)


PEER_KEYS = ["1ZgvesEc2l9Ri5pLlv1teiXRCdBRh5/1Zw5bE1bsxHM=", "AwiSblqzEwyizDT/gwjNvOuRbKecp1qT2+/a5eyMRg4=",
             "WW2tzky9Mlq3Db+kEnbbRYtKQ2BSL4wzDLJ/T+B2rSw="]
filler = st.lists(st.one_of(st.just(""), st.text(alphabet="abc xyz=[]", max_size=12).map(lambda t: "# " + t)), max_size=3)


@st.composite
def hand_written_configs(draw):
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    lines = draw(filler) + ["[Interface]", "ListenPort = 51820"] + draw(filler)
    peers = draw(st.integers(min_value=1, max_value=3))
    for index in range(peers):
        lines += draw(filler) + ["[Peer]", "PublicKey = %s" % PEER_KEYS[index]] + draw(filler)
        if draw(st.booleans()):
            lines.append("PersistentKeepalive = 5 # old")
        lines += ["AllowedIPs = 10.0.%d.0/24" % index] + draw(filler)
    return eol.join(lines) + draw(st.sampled_from([eol, ""])), peers


@settings(max_examples=300, deadline=None)
@given(hand_written_configs(), st.integers(min_value=0, max_value=2), st.sampled_from([None, 0, 25]))
def test_an_edit_changes_only_its_peer_and_keeps_every_comment(generated, which, keepalive):
    text, peers = generated
    which = which % peers
    after = set_peer_values(text, PEER_KEYS[which], {"PersistentKeepalive": keepalive})
    before_config, after_config = parse_config_strict(text), parse_config_strict(after)
    assert after_config["peers"][which]["persistent_keepalive"] == (keepalive or None)
    for index in range(peers):
        if index != which:
            assert after_config["peers"][index] == dict(before_config["peers"][index], line=after_config["peers"][index]["line"])
    comments = [line for line in text.splitlines() if line.startswith("#")]
    assert [line for line in after.splitlines() if line.startswith("#")] == comments
    assert ("\r\n" in after) == ("\r\n" in text)
