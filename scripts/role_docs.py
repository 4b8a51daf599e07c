#!/usr/bin/env python
"""The variables table of each role's README and docs page, made from the role's meta/argument_specs.yml.

argument_specs.yml validates the variables when the role runs and is what `ansible-doc -t role` shows: it is the
one source of what a variable is called, its type, default and meaning. The table in roles/<role>/README.md and
docs/roles/<role>.md sits between two markers and is rendered from it; the prose around it is written by hand.

  .venv/bin/python scripts/role_docs.py --write   rewrite the tables after editing an argument_specs.yml
  .venv/bin/python scripts/role_docs.py --check   fail when a committed table is not what --write would make
"""
from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import sys
import typing as t

import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BEGIN = "<!-- BEGIN variables: rendered from meta/argument_specs.yml by scripts/role_docs.py, edit that file and run it -->"
END = "<!-- END variables -->"
# The first table of a page not yet converted: the hand-written variables table the markers replace.
HAND_TABLE = re.compile(r"^\| *variable *\|.*\n(?:\|.*\n)*", re.M)
# Ansible's documentation markup, as ansible-doc shows it, in Markdown.
MARKUP = [
    (re.compile(r"L\(([^,)]+),\s*([^)]+)\)"), r"[\1](\2)"),
    (re.compile(r"[OVCM]\(([^)]*)\)"), r"`\1`"),
    (re.compile(r"I\(([^)]*)\)"), r"*\1*"),
    (re.compile(r"B\(([^)]*)\)"), r"**\1**"),
    (re.compile(r"U\(([^)]*)\)"), r"\1"),
]


class RoleDocError(Exception):
    """A page or a spec the script cannot work with; the message names the file."""


def roles() -> list[str]:
    return sorted(name for name in os.listdir(os.path.join(REPO, "roles"))
                  if os.path.isfile(os.path.join(REPO, "roles", name, "meta", "argument_specs.yml")))


def pages(role: str) -> list[str]:
    """The pages that carry the role's variables table: its README, and its docs page when it has one."""
    candidates = [os.path.join("roles", role, "README.md"), os.path.join("docs", "roles", role + ".md")]
    return [page for page in candidates if os.path.isfile(os.path.join(REPO, page))]


def _text(description: t.Any) -> str:
    parts = description if isinstance(description, list) else [description]
    text = " ".join(" ".join(str(part).split()) for part in parts if part is not None)
    for pattern, replacement in MARKUP:
        text = pattern.sub(replacement, text)
    # Outside code spans a <placeholder> would be an HTML tag to Markdown.
    spans = text.split("`")
    text = "`".join(span.replace("<", "&lt;").replace(">", "&gt;") if index % 2 == 0 else span for index, span in enumerate(spans))
    return text.replace("|", "\\|")


def _type(spec: dict) -> str:
    kind = str(spec.get("type", "str"))
    if kind == "list" and spec.get("elements"):
        kind = "list of %s" % spec["elements"]
    return kind


def _default(spec: dict) -> str:
    if spec.get("required"):
        return "(required)"
    if "default" not in spec:
        return "(none)"
    value = spec["default"]
    shown = value if isinstance(value, str) else json.dumps(value)
    return "`%s`" % shown if shown != "" else '`""`'


def _rows(options: dict, prefix: str = "") -> list[str]:
    rows = []
    for name, spec in options.items():
        spec = spec or {}
        meaning = _text(spec.get("description"))
        if spec.get("choices"):
            meaning += " Choices: %s." % ", ".join("`%s`" % choice for choice in spec["choices"])
        rows.append("| `%s%s` | %s | %s | %s |" % (prefix, name, _type(spec), _default(spec), meaning.strip()))
        if isinstance(spec.get("options"), dict):
            rows += _rows(spec["options"], "%s%s%s." % (prefix, name, "[]" if spec.get("type") == "list" else ""))
    return rows


def table(role: str) -> str:
    """The variables table of the role's entry point main, between the markers."""
    path = os.path.join(REPO, "roles", role, "meta", "argument_specs.yml")
    try:
        with open(path, encoding="utf-8") as handle:
            specs = yaml.safe_load(handle)
        options = specs["argument_specs"]["main"].get("options") or {}
    except (OSError, yaml.YAMLError, KeyError, TypeError) as error:
        raise RoleDocError("%s: no argument_specs.main to render (%s)" % (os.path.relpath(path, REPO), error))
    lines = [BEGIN, "", "| variable | type | default | meaning |", "|---|---|---|---|"] + _rows(options) + ["", END]
    return "\n".join(lines) + "\n"


def rendered(role: str, page: str, text: str) -> str:
    """The page with its variables table rendered: between the markers, or in place of the hand-written table."""
    start, stop = text.find(BEGIN), text.find(END)
    if start >= 0 and stop > start:
        rest = text[stop + len(END):]
        return text[:start] + table(role) + (rest[1:] if rest.startswith("\n") else rest)
    found = HAND_TABLE.search(text)
    if found is None:
        raise RoleDocError("%s: no variables table (a '| variable |' table or the markers %s ... %s) to render into"
                           % (page, BEGIN, END))
    return text[:found.start()] + table(role) + text[found.end():]


def main(argv: t.Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="rewrite the tables")
    mode.add_argument("--check", action="store_true", help="fail when a table differs from what --write makes")
    args = parser.parse_args(argv)
    stale = []
    try:
        for role in roles():
            for page in pages(role):
                with open(os.path.join(REPO, page), encoding="utf-8") as handle:
                    text = handle.read()
                new = rendered(role, page, text)
                if new == text:
                    continue
                stale.append(page)
                if args.write:
                    with open(os.path.join(REPO, page), "w", encoding="utf-8") as handle:
                        handle.write(new)
                else:
                    sys.stdout.writelines(difflib.unified_diff(text.splitlines(True), new.splitlines(True), page, page + " (rendered)"))
    except RoleDocError as error:
        print("role_docs.py: %s" % error, file=sys.stderr)
        return 2
    if args.check and stale:
        print("role_docs.py: %s not rendered from argument_specs.yml; run scripts/role_docs.py --write" % ", ".join(stale),
              file=sys.stderr)
        return 1
    for page in stale if args.write else []:
        print("rendered %s" % page)
    return 0


if __name__ == "__main__":
    sys.exit(main())
