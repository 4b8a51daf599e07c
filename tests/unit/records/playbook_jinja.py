"""Render what the diagnose playbook really templates, so a test proves the playbook, not a copy of it."""
from __future__ import annotations

import os
import sys
import typing as t

import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import init_plugin_loader
from ansible.template import Templar, trust_as_template

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
COLLECTIONS = os.path.join(REPO, ".cache", "collections")
_LOADED = []


def _trusted(value: t.Any) -> t.Any:
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return dict((k, _trusted(v)) for k, v in value.items())
    if isinstance(value, list):
        return [_trusted(v) for v in value]
    return value


def task(playbook: str, name: str) -> dict:
    """The task called `name` in the playbook at `playbook` (relative to the repo root)."""
    with open(os.path.join(REPO, playbook)) as handle:
        plays = yaml.safe_load(handle)
    for play in plays:
        for item in play.get("tasks") or []:
            if item.get("name") == name:
                return item
    raise LookupError("no task %r in %s" % (name, playbook))


def play_vars(playbook: str, hosts: str) -> dict:
    with open(os.path.join(REPO, playbook)) as handle:
        plays = yaml.safe_load(handle)
    for play in plays:
        if play.get("hosts") == hosts:
            return dict(play.get("vars") or {})
    raise LookupError("no play for %r in %s" % (hosts, playbook))


def _load_collections() -> None:
    """Let Ansible's collection loader find this collection's filters, as ansible-playbook does.

    Other tests imported the collection as plain packages already; the loader must import the
    collection package itself (it reads meta/runtime.yml then) and the filter plugins (it loads
    them its own way), while the code they import stays the object those tests hold."""
    if _LOADED:
        return
    if "ansible_collections.wgdoctor.wireguard" in sys.modules and \
            not hasattr(sys.modules["ansible_collections.wgdoctor.wireguard"], "_collection_meta"):
        for name in ("ansible_collections", "ansible_collections.wgdoctor", "ansible_collections.wgdoctor.wireguard"):
            sys.modules.pop(name, None)
        for name in [n for n in sys.modules if n.startswith("ansible_collections.wgdoctor.wireguard.plugins.filter")]:
            sys.modules.pop(name)
    init_plugin_loader([COLLECTIONS])
    _LOADED.append(True)


def render(expression: t.Any, variables: dict) -> t.Any:
    """Template `expression` with `variables` (templated lazily, as Ansible does) and the collection's filters."""
    _load_collections()
    templar = Templar(loader=DataLoader(), variables=_trusted(variables))
    return templar.template(_trusted(expression))


def set_fact_value(playbook: str, name: str, fact: str, variables: dict) -> t.Any:
    """The value a set_fact task of the playbook gives `fact`, with its own task vars."""
    item = task(playbook, name)
    scope = dict(item.get("vars") or {})
    scope.update(variables)
    return render(item["ansible.builtin.set_fact"][fact], scope)
