"""The tree reads as the architecture: what ships to the targets never reaches for controller code.

Everything under plugins/module_utils/ is packed into the AnsiballZ payload of each module that
imports it and runs on the managed host; plugins/plugin_utils/ runs only on the controller
(filters, lookups, actions). These tests follow the imports the way AnsiballZ does (every
``ansible_collections.wgdoctor.wireguard.plugins.module_utils`` import, nested or not) and fail
when a module would ship controller code or when a package grows an import cycle.
"""
from __future__ import annotations

import ast
import os

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PLUGINS = os.path.join(REPO, "plugins")
PREFIX = "ansible_collections.wgdoctor.wireguard.plugins."


def _python_files(folder: str) -> list[str]:
    found = []
    for root, _dirs, files in os.walk(os.path.join(PLUGINS, folder)):
        found.extend(os.path.join(root, name) for name in files if name.endswith(".py"))
    return sorted(found)


def _dotted(path: str) -> str:
    rel = os.path.relpath(path, PLUGINS)[:-len(".py")].replace(os.sep, ".")
    return rel[:-len(".__init__")] if rel.endswith(".__init__") else rel


def _file_of(dotted: str) -> str | None:
    base = os.path.join(PLUGINS, *dotted.split("."))
    for candidate in (base + ".py", os.path.join(base, "__init__.py")):
        if os.path.isfile(candidate):
            return candidate
    return None


def collection_imports(path: str) -> set[str]:
    """Dotted names (relative to plugins/) of the collection's files that ``path`` imports."""
    with open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read(), path)
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(PREFIX):
            base = node.module[len(PREFIX):]
            for alias in node.names:
                # "from pkg import module" names a module; "from module import name" names an attribute.
                names.add(base + "." + alias.name if _file_of(base + "." + alias.name) else base)
        elif isinstance(node, ast.Import):
            names.update(a.name[len(PREFIX):] for a in node.names if a.name.startswith(PREFIX))
    return names


def shipped_with(module_path: str) -> set[str]:
    """The collection files AnsiballZ packs with a module: its imports, followed to the end."""
    seen: set[str] = set()
    todo = list(collection_imports(module_path))
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        path = _file_of(name)
        if path:
            todo.extend(collection_imports(path))
    return seen


MODULES = _python_files("modules")
TARGET_CODE = _python_files("module_utils") + MODULES


@pytest.mark.parametrize("path", TARGET_CODE, ids=lambda p: os.path.relpath(p, PLUGINS))
def test_code_that_runs_on_targets_never_imports_controller_code(path):
    controller = sorted(n for n in collection_imports(path) if n.startswith("plugin_utils"))
    assert controller == [], "%s ships to the managed hosts but imports %s" % (os.path.relpath(path, REPO), controller)


@pytest.mark.parametrize("path", MODULES, ids=os.path.basename)
def test_a_module_payload_holds_only_module_utils(path):
    shipped = shipped_with(path)
    assert shipped, "the module imports nothing of the collection: the walk is broken"
    assert all(name.startswith("module_utils") for name in shipped), sorted(shipped)


def test_the_walk_sees_what_wg_facts_really_needs():
    # Guards the test itself: if the import walk stopped following imports, the tests above would pass vacuously.
    shipped = shipped_with(os.path.join(PLUGINS, "modules", "wg_facts.py"))
    assert "module_utils.firewall.commands" in shipped
    assert "module_utils.host.resolve" in shipped
    assert "module_utils.wireguard.config" in shipped


def test_wg_facts_runs_the_firewall_commands_on_the_host_and_ships_no_firewall_reader():
    """The verdicts of wg_facts are computed on the controller by its action plugin (plugin_utils/firewall_facts.py):
    the readers of five backends, the largest code of the facts, do not travel to every host."""
    shipped = shipped_with(os.path.join(PLUGINS, "modules", "wg_facts.py"))
    readers = sorted(name for name in shipped if name.startswith("module_utils.firewall.") and name != "module_utils.firewall.commands")
    assert readers == []
    action = collection_imports(os.path.join(PLUGINS, "action", "wg_facts.py"))
    assert "plugin_utils.firewall_facts" in action
    assert "module_utils.firewall.reach" in collection_imports(os.path.join(PLUGINS, "plugin_utils", "firewall_facts.py"))


def test_a_module_that_only_reads_the_firewall_ships_the_readers_not_the_fact_gathering():
    """wg_firewall_backend runs the firewall commands through the host's command runner and asks the readers:
    the whole of wg_facts' gathering (configs, dumps, endpoint resolution, monitor state) is not its payload."""
    shipped = shipped_with(os.path.join(PLUGINS, "modules", "wg_firewall_backend.py"))
    assert "module_utils.host.runner" in shipped and "module_utils.firewall.reach" in shipped
    assert not {"module_utils.host.facts", "module_utils.host.resolve", "module_utils.wireguard.config"} & shipped, sorted(shipped)


@pytest.mark.parametrize("package", ["module_utils", "plugin_utils"])
def test_no_import_cycles(package):
    graph = {}
    for path in _python_files(package):
        graph[_dotted(path)] = set(n for n in collection_imports(path) if _file_of(n) and n != _dotted(path))
    state: dict[str, int] = {}
    cycles = []

    def visit(node, stack):
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt] if nxt in stack else [node, nxt])
            elif nxt in graph and not state.get(nxt):
                visit(nxt, stack + [nxt])
        state[node] = 2

    for node in sorted(graph):
        if not state.get(node):
            visit(node, [node])
    assert cycles == []


def test_controller_plugins_use_plugin_utils_for_controller_logic():
    for folder in ("filter", "lookup", "action"):
        for path in _python_files(folder):
            for name in collection_imports(path):
                assert not name.startswith(("module_utils.diagnosis", "module_utils.topology")), (path, name)
