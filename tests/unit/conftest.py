"""Make the repo importable as ansible_collections.wgdoctor.wireguard.

The repo root is the collection root, so unit tests reach the code through a
symlinked collection tree under .cache/ instead of requiring a copy.
"""
from __future__ import annotations

import os
import sys

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
COLLECTIONS_ROOT = os.path.join(REPO_ROOT, ".cache", "collections")


def _link_collection() -> None:
    namespace_dir = os.path.join(COLLECTIONS_ROOT, "ansible_collections", "wgdoctor")
    link = os.path.join(namespace_dir, "wireguard")
    os.makedirs(namespace_dir, exist_ok=True)
    if not os.path.islink(link):
        try:
            os.symlink(REPO_ROOT, link)
        except FileExistsError:
            pass
    if COLLECTIONS_ROOT not in sys.path:
        sys.path.insert(0, COLLECTIONS_ROOT)


# ansible-test runs units from a real ansible_collections/ tree already.
if "ansible_collections.wgdoctor.wireguard" not in sys.modules and \
        os.sep + os.path.join("ansible_collections", "wgdoctor", "wireguard") not in REPO_ROOT:
    _link_collection()
