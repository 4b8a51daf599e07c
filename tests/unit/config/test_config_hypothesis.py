"""Whatever text sits in /etc/wireguard, the parser answers with a config or a ConfigParseError naming a line."""
from __future__ import annotations

from hypothesis import given, settings, strategies as st

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wg_config import (
    ConfigParseError, parse_config, parse_config_strict,
)

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
