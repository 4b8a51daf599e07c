"""One source for each role's variables (issue #13): meta/argument_specs.yml.

scripts/role_docs.py renders the variables table of roles/<role>/README.md and docs/roles/<role>.md from it,
between markers; the committed pages must be what it renders, so a variable added, renamed or redocumented in
argument_specs.yml and not in the pages (or the other way round) fails here.
"""
from __future__ import annotations

import importlib.util
import os

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SPEC = importlib.util.spec_from_file_location("role_docs", os.path.join(REPO, "scripts", "role_docs.py"))
role_docs = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(role_docs)

PAGES = [(role, page) for role in role_docs.roles() for page in role_docs.pages(role)]


def test_every_role_has_its_readme_rendered_and_the_docs_pages_too():
    assert {role for role, _page in PAGES} == set(os.listdir(os.path.join(REPO, "roles")))
    assert {page for _role, page in PAGES} >= {os.path.join("roles", role, "README.md") for role, _page in PAGES}
    assert {page for _role, page in PAGES} >= {os.path.join("docs", "roles", name) for name in os.listdir(os.path.join(REPO, "docs", "roles"))}


@pytest.mark.parametrize("role, page", PAGES, ids=[page for _role, page in PAGES])
def test_the_committed_variables_table_is_what_argument_specs_renders(role, page):
    with open(os.path.join(REPO, page), encoding="utf-8") as handle:
        text = handle.read()
    assert role_docs.BEGIN in text and role_docs.END in text, "%s has no rendered variables table" % page
    assert role_docs.rendered(role, page, text) == text, "%s: run scripts/role_docs.py --write" % page


@pytest.mark.parametrize("role, page", PAGES, ids=[page for _role, page in PAGES])
def test_every_variable_of_the_spec_is_in_the_table_once(role, page):
    import yaml
    with open(os.path.join(REPO, "roles", role, "meta", "argument_specs.yml"), encoding="utf-8") as handle:
        options = yaml.safe_load(handle)["argument_specs"]["main"]["options"]
    with open(os.path.join(REPO, page), encoding="utf-8") as handle:
        text = handle.read()
    table = text[text.index(role_docs.BEGIN):text.index(role_docs.END)]
    for name in options:
        assert table.count("| `%s` |" % name) == 1, "%s: %s" % (page, name)


def test_rendering_reads_markup_required_choices_defaults_and_sub_options(tmp_path, monkeypatch):
    role = tmp_path / "roles" / "demo"
    (role / "meta").mkdir(parents=True)
    (role / "meta" / "argument_specs.yml").write_text(
        "argument_specs:\n  main:\n    options:\n"
        "      demo_interface:\n        type: str\n        required: true\n        description: The interface (O(demo_port) | C(wg-quick)).\n"
        "      demo_mode:\n        type: str\n        default: ''\n        choices: [a, b]\n        description: [Line one., Line <two>.]\n"
        "      demo_peers:\n        type: list\n        elements: dict\n        default: []\n        description: Peers.\n"
        "        options:\n          key:\n            type: str\n            description: I(Public) key.\n")
    monkeypatch.setattr(role_docs, "REPO", str(tmp_path))
    page = "before\n\n| variable | default | meaning |\n|---|---|---|\n| `old` | x | y |\n\nafter\n"
    once = role_docs.rendered("demo", "README.md", page)
    assert once.startswith("before\n\n" + role_docs.BEGIN) and once.endswith(role_docs.END + "\n\nafter\n")
    assert "| `demo_interface` | str | (required) | The interface (`demo_port` \\| `wg-quick`). |" in once
    assert "| `demo_mode` | str | `\"\"` | Line one. Line &lt;two&gt;. Choices: `a`, `b`. |" in once
    assert "| `demo_peers` | list of dict | `[]` | Peers. |" in once and "| `demo_peers[].key` | str | (none) | *Public* key. |" in once
    assert "`old`" not in once
    # Rendering again between the markers changes nothing: the prose around stays as written.
    assert role_docs.rendered("demo", "README.md", once) == once


def test_a_page_without_a_table_is_named_not_a_traceback():
    with pytest.raises(role_docs.RoleDocError, match="README.md: no variables table"):
        role_docs.rendered("service", "README.md", "# prose only\n")
