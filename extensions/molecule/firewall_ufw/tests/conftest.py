"""This scenario's tests use the lab access shared by every role scenario."""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "resources", "tests"))
# The forwarding packet tests are shared with the nftables scenario, where they live.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "firewall_nftables", "tests"))

from lab_fixtures import lab_host, rebooted_server, server, tunnel_works  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import
