"""Facts from an older or broken wg_facts: the diagnosis still returns a report, never a traceback."""
from __future__ import annotations

from hypothesis import given, settings, strategies as st

from diagnosis_facts import healthy_facts, run, probe
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.report import render_console, render_markdown

JUNK = st.one_of(st.none(), st.integers(), st.text(max_size=5), st.lists(st.integers(), max_size=2),
                 st.dictionaries(st.text(max_size=3), st.integers(), max_size=2), st.booleans())


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, prefix + (index,))


PATHS = [p for p in _paths(healthy_facts()) if p]


def _replace(facts, path, value):
    node = facts
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return facts


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(PATHS), JUNK), min_size=1, max_size=3))
def test_any_field_replaced_by_junk_still_gives_a_report(replacements):
    facts = healthy_facts()
    for path, value in replacements:
        try:
            _replace(facts, path, value)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier replacement removed the path
    report = run(facts, probes=[probe("timeout", arrived=0)])
    assert isinstance(report["healthy"], bool)
    render_console(report)
    render_markdown(report)
