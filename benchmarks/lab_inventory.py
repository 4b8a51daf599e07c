"""Read the lab inventory (tests/lab/lab.py inventory) the benchmarks run against."""
from __future__ import annotations

import json


def container_of(inventory: str, host: str) -> str:
    """The podman container of an inventory host."""
    with open(inventory, encoding="utf-8") as handle:
        data = json.load(handle)
    for group in data["all"]["children"].values():
        if host in group.get("hosts", {}):
            return group["hosts"][host]["ansible_host"]
    raise SystemExit("%s not in %s" % (host, inventory))
