"""`diagnose.yml -e wg_remediate=true --check --diff` shows the fixes and makes none."""
from __future__ import annotations

from faults import NFT_DROP


def test_check_diff_shows_the_firewall_fix_and_changes_nothing(lab, tmp_path):
    lab.wait_for_handshake()
    lab.sh("server", NFT_DROP)
    try:
        lab.sh("server", "systemctl restart wg-quick@wg0")
        lab.sh("client", "systemctl restart wg-quick@wg0")
        ruleset_before = lab.sh("server", "nft -s list ruleset").stdout
        conf_before = lab.sh("server", "cat /etc/nftables.conf").stdout
        report = lab.diagnose(tmp_path, "-e", "wg_remediate=true", "--check", "--diff")
        output = lab.last_run.stdout

        assert report["findings"][0]["code"] == "udp_blocked_host_firewall"
        assert "after" not in report, "check mode must not claim a verified result"
        # The firewall role ran in check mode and showed what it would do.
        assert "Open the WireGuard port" in output
        assert "udp dport 51820 accept" in output, "the rule a real run inserts is shown"
        assert "+include" in output or "include \"/etc/nftables.d/*.nft\"" in output, "the persistence change is shown"
        # ... and changed nothing.
        assert lab.sh("server", "nft -s list ruleset").stdout == ruleset_before
        assert lab.sh("server", "cat /etc/nftables.conf").stdout == conf_before
        assert lab.sh("client", "ping -c 1 -W 1 10.99.0.1", check=False).returncode != 0, "the tunnel must still be broken"
    finally:
        lab.sh("server", "nft delete table inet filter", check=False)
        lab.restore_healthy()
        lab.wait_for_handshake()
