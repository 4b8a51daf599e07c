# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The firewall package's shape: readers share only the primitives, and every import is visible at the top.

fw_common once imported each backend inside functions while each backend imported it: a cycle
no reader of the file could see. These tests keep it from coming back.
"""
from __future__ import annotations

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[3] / "plugins" / "module_utils" / "firewall"
PREFIX = "ansible_collections.wgdoctor.wireguard.plugins.module_utils."
READERS = ("nftables", "iptables", "ufw", "firewalld")


def _tree(name):
    return ast.parse((PACKAGE / ("%s.py" % name)).read_text(), filename="%s.py" % name)


def _collection_imports(tree):
    """Dotted names under module_utils that a module imports, e.g. 'firewall.primitives'."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(PREFIX):
            base = node.module[len(PREFIX):]
            if base == "firewall":  # from ...firewall import nftables as fw_nftables
                found.update("firewall.%s" % alias.name for alias in node.names)
            else:
                found.add(base)
    return found


@pytest.mark.parametrize("name", sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"))
def test_every_import_of_the_firewall_package_is_at_module_level(name):
    tree = _tree(name)
    top_level = {id(node) for node in tree.body}
    hidden = ["line %d" % node.lineno for node in ast.walk(tree)
              if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in top_level]
    assert hidden == []


@pytest.mark.parametrize("reader", READERS)
def test_a_backend_reader_imports_only_the_primitives_and_the_verdict_types(reader):
    assert _collection_imports(_tree(reader)) <= {"firewall.primitives", "firewall.verdict"}


def test_reach_combines_every_reader_and_primitives_imports_no_reader():
    assert _collection_imports(_tree("reach")) >= {"firewall.%s" % reader for reader in READERS}
    assert _collection_imports(_tree("primitives")) <= {"firewall.verdict"}


@pytest.mark.parametrize("name", sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"))
def test_the_firewall_ships_its_verdict_types_not_the_whole_contract(name):
    # Every module reading a firewall ships these files to the target: contracts.py (facts,
    # findings, report types) would ride along for the sake of four TypedDicts.
    assert "contracts" not in _collection_imports(_tree(name))
    assert _collection_imports(_tree("verdict")) == set()
