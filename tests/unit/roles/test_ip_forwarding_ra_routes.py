"""The ip_forwarding role's decision before IPv6 forwarding comes on, over what `ip -6 -json route show default` prints.

The expressions are read from the role's own task file and rendered by Ansible's templar, so what is
tested is what runs. The lab test (tests/integration/test_roles_safety_lab.py) proves the kernel side.
"""
from __future__ import annotations

import json
import os
import typing as t

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
TASKS = os.path.join(REPO, "roles", "ip_forwarding", "tasks", "ipv6_ra_uplinks.yml")
with open(TASKS, encoding="utf-8") as handle:
    TASK_LIST = yaml.safe_load(handle)


def task(name_start: str, tasks: list[dict] | None = None) -> dict:
    for item in tasks if tasks is not None else TASK_LIST:
        if item["name"].startswith(name_start):
            return item
    raise AssertionError(f"no task named {name_start!r} in {TASKS}")


KEEP = task("Keep the router-advertised default routes")
REFUSE = task("Refuse to turn on IPv6 forwarding", KEEP["block"])
SET_ACCEPT_RA = task("Accept router advertisements", KEEP["block"])
ROLE_DEFAULTS = {"ip_forwarding_ipv6_keep_ra_default_route": True, "ip_forwarding_sysctl_file": "/etc/sysctl.d/90-wgdoctor-forwarding.conf"}


def render(expression: t.Any, variables: dict[str, t.Any]) -> t.Any:
    trusted = {key: trust_as_template(value) if isinstance(value, str) else value for key, value in variables.items()}
    return Templar(loader=DataLoader(), variables=trusted).template(trust_as_template(expression))


def ra_hops(routes: list[dict] | str) -> list[dict]:
    find = task("Find the IPv6 default routes learned from router advertisements")
    stdout = routes if isinstance(routes, str) else json.dumps(routes)
    variables = dict(find["vars"], ip_forwarding_default_routes={"stdout": stdout})
    return render(find["ansible.builtin.set_fact"]["ip_forwarding_ra_hops"], variables)


def block_vars(hops: list[dict], accept_ra: dict[str, str], **overrides: t.Any) -> dict[str, t.Any]:
    return dict(ROLE_DEFAULTS, **KEEP["vars"], ip_forwarding_ra_hops=hops, ip_forwarding_accept_ra=accept_ra, **overrides)


def refused(hops: list[dict], accept_ra: dict[str, str], **overrides: t.Any) -> str | None:
    """The refusal message when one of the assert's conditions is false, else None."""
    variables = block_vars(hops, accept_ra, **overrides)
    if all(render("{{ " + condition + " }}", variables) for condition in REFUSE["ansible.builtin.assert"]["that"]):
        return None
    return render(REFUSE["ansible.builtin.assert"]["fail_msg"], variables)


RA_ETH0 = {"dst": "default", "gateway": "fe80::1", "dev": "eth0", "protocol": "ra", "metric": 1024, "flags": [], "expires": 1788, "pref": "medium"}
STATIC_ETH1 = {"dst": "default", "gateway": "2001:db8::1", "dev": "eth1", "protocol": "static", "metric": 1024, "flags": []}
RA_MULTIPATH = {"dst": "default", "protocol": "ra", "metric": 1024, "flags": [], "pref": "medium",
                "nexthops": [{"gateway": "fe80::2", "dev": "eth2", "weight": 1, "flags": []},
                             {"gateway": "fe80::3", "dev": "eth3.100", "weight": 1, "flags": []}]}


@pytest.mark.parametrize("routes", [[], "", "[]", [STATIC_ETH1], [{"dst": "default", "dev": "ppp0", "protocol": "kernel"}]],
                         ids=["no-route", "empty-output", "empty-list", "static", "kernel"])
def test_a_host_without_a_router_advertised_default_route_is_left_alone(routes):
    assert ra_hops(routes) == []
    assert render("{{ " + KEEP["when"] + " }}", {"ip_forwarding_ra_hops": ra_hops(routes)}) is False


def test_the_interface_of_a_router_advertised_default_route_is_found_beside_a_static_one():
    hops = ra_hops([STATIC_ETH1, RA_ETH0])
    assert [(hop["gateway"], hop["dev"]) for hop in hops] == [("fe80::1", "eth0")]
    assert render(KEEP["vars"]["ra_uplinks"], block_vars(hops, {})) == ["eth0"]


def test_every_gateway_of_a_multipath_router_advertised_route_is_kept():
    hops = ra_hops([RA_MULTIPATH])
    variables = block_vars(hops, {"eth2": "1", "eth3.100": "1"})
    assert render(KEEP["vars"]["ra_uplinks"], variables) == ["eth2", "eth3.100"]
    assert render(KEEP["vars"]["ra_route_text"], variables) == "default via fe80::2 dev eth2 proto ra; default via fe80::3 dev eth3.100 proto ra"
    # A VLAN's dot is a '/' in a sysctl key, or sysctl would read eth3.100 as two levels.
    keys = [render(SET_ACCEPT_RA["ansible.posix.sysctl"]["name"], dict(variables, item=uplink)) for uplink in ("eth2", "eth3.100")]
    assert keys == ["net.ipv6.conf.eth2.accept_ra", "net.ipv6.conf.eth3/100.accept_ra"]


def test_accept_ra_2_is_set_where_the_kernel_accepts_advertisements():
    hops = ra_hops([RA_ETH0])
    assert refused(hops, {"eth0": "1"}) is None
    assert refused(hops, {"eth0": "2"}) is None


def test_refusal_names_the_route_when_told_to_keep_accept_ra():
    message = refused(ra_hops([RA_ETH0]), {"eth0": "1"}, ip_forwarding_ipv6_keep_ra_default_route=False)
    assert message and "default via fe80::1 dev eth0 proto ra" in message
    assert "ip_forwarding_ipv6_keep_ra_default_route is false" in message


def test_refusal_when_the_kernel_is_told_to_ignore_advertisements_on_the_uplink():
    message = refused(ra_hops([RA_ETH0]), {"eth0": "0"})
    assert message and "default via fe80::1 dev eth0 proto ra" in message
    assert "accept_ra is 0 on eth0" in message


def test_refusal_when_an_interface_name_cannot_be_a_sysctl_key():
    hops = ra_hops([dict(RA_ETH0, dev="up=link")])
    message = refused(hops, {"up=link": "1"})
    assert message and "up=link" in message
