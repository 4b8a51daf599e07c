"""This scenario's tests use the lab access shared by every role scenario."""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "resources", "tests"))

from lab_fixtures import (  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import
    PUBLIC_NET, REPO, client, lab_host, rebooted_client, server, tunnel_works,
)
