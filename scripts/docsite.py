#!/usr/bin/env python
"""The docs site's extra pages (docs/docsite/rst/) made from the Markdown in docs/, their only source.

antsibull-docs takes extra documentation as RST; the pages people edit and read on the forge are
Markdown. This converts the pages listed in PAGES with markdown-it-py (CommonMark and tables, what
the docs use) and writes one RST file each, labelled the way antsibull-docs requires.

  .venv/bin/python scripts/docsite.py --write   regenerate docs/docsite/rst/ after editing a page in docs/
  .venv/bin/python scripts/docsite.py --check   fail when docs/docsite/rst/ is not what --write would make
"""
from __future__ import annotations

import argparse
import difflib
import os
import posixpath
import re
import sys
import typing as t

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
RST_DIR = os.path.join(REPO, "docs", "docsite", "rst")
LABEL_PREFIX = "ansible_collections.wgdoctor.wireguard.docsite."
# Markdown page (relative to docs/) -> RST page name (relative to docs/docsite/rst/, no suffix).
PAGES = {
    "diagnose.md": "diagnose",
    "findings.md": "findings",
    "facts.md": "facts",
    "modules.md": "modules",
    "awx.md": "awx",
    "cloud.md": "cloud",
    "lab.md": "lab",
    "roles/firewall.md": "roles/firewall",
    "roles/ip_forwarding.md": "roles/ip_forwarding",
    "roles/keepalive.md": "roles/keepalive",
    "roles/monitor.md": "roles/monitor",
    "roles/peer.md": "roles/peer",
    "roles/service.md": "roles/service",
}
HEADING_UNDERLINES = "=-~^\"'"
HIGHLIGHT = {"yaml": "yaml", "yml": "yaml", "bash": "shell", "sh": "shell", "shell": "shell",
             "console": "console", "python": "python", "ini": "ini", "jinja": "jinja"}
RST_SPECIAL = re.compile(r"([\\`*_|])")


def label(page: str) -> str:
    return LABEL_PREFIX + page.replace("/", ".")


class Converter:
    def __init__(self, source: str) -> None:
        self.source = source  # relative to docs/, for resolving links between pages
        self.titles_seen = 0

    # -- inline ----------------------------------------------------------------------------
    def inline(self, node: SyntaxTreeNode) -> str:
        parts: list[tuple[str, bool]] = []  # (text, is_markup)
        for child in node.children:
            parts.extend(self.inline_parts(child))
        out = ""
        for index, (text, markup) in enumerate(parts):
            if markup and out and (out[-1].isalnum() or out[-1] in ")]"):
                out += "\\ "
            out += text
            if markup and index + 1 < len(parts) and parts[index + 1][0][:1].isalnum():
                out += "\\ "
        return out

    def inline_parts(self, node: SyntaxTreeNode) -> list[tuple[str, bool]]:
        kind = node.type
        if kind == "text":
            return [(RST_SPECIAL.sub(r"\\\1", node.content), False)]
        if kind == "code_inline":
            return [("``%s``" % node.content, True)] if node.content.strip() else [(node.content, False)]
        if kind in ("softbreak",):
            return [("\n", False)]
        if kind == "hardbreak":
            return [("\n", False)]
        if kind in ("strong", "em"):
            mark = "**" if kind == "strong" else "*"
            inner = "".join(text for child in node.children for text, _m in self.inline_parts(child))
            if any(child.type != "text" for child in node.children):
                return [(inner, False)]  # RST markup does not nest: keep the words
            return [("%s%s%s" % (mark, inner, mark), True)]
        if kind == "link":
            text = "".join(text for child in node.children for text, _m in self.inline_parts(child))
            return [self.link(str(node.attrs.get("href", "")), text)]
        if kind == "image":
            return [(RST_SPECIAL.sub(r"\\\1", str(node.attrs.get("alt", ""))), False)]
        if kind in ("html_inline",):
            return [(node.content, False)]
        raise ValueError("%s: unsupported inline Markdown %r" % (self.source, kind))

    def link(self, href: str, text: str) -> tuple[str, bool]:
        if re.match(r"https?://", href):
            return ("`%s <%s>`__" % (text.replace("\\", ""), href), True)
        target, _hash, _anchor = href.partition("#")
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(self.source), target)) if target else self.source
        if resolved in PAGES:
            return (":ref:`%s <%s>`" % (text.replace("\\", ""), label(PAGES[resolved])), True)
        # A file of the collection that is no page of the site: name it, readers find it in the collection.
        path = posixpath.normpath(posixpath.join("docs", posixpath.dirname(self.source), target))
        return ("%s (``%s``)" % (text, path), True)

    # -- blocks ----------------------------------------------------------------------------
    def blocks(self, nodes: t.Iterable[SyntaxTreeNode]) -> list[str]:
        out: list[str] = []
        for node in nodes:
            rendered = self.block(node)
            if rendered is not None:
                out.append(rendered)
        return out

    def block(self, node: SyntaxTreeNode) -> str | None:
        kind = node.type
        if kind == "heading":
            level = int(node.tag[1])
            text = self.inline(node.children[0])
            return "%s\n%s" % (text, HEADING_UNDERLINES[level - 1] * max(len(text), 4))
        if kind == "paragraph":
            return self.inline(node.children[0])
        if kind in ("fence", "code_block"):
            language = HIGHLIGHT.get((node.info or "").strip().lower(), "text")
            body = "\n".join(("   " + line) if line else "" for line in node.content.rstrip("\n").split("\n"))
            return ".. code-block:: %s\n\n%s" % (language, body)
        if kind in ("bullet_list", "ordered_list"):
            items = []
            for number, item in enumerate(node.children, start=int(node.attrs.get("start", 1) or 1)):
                bullet = "-" if kind == "bullet_list" else "%d." % number
                body = "\n\n".join(self.blocks(item.children)) or "\\"
                pad = " " * (len(bullet) + 1)
                lines = body.split("\n")
                items.append("%s %s" % (bullet, lines[0]) + "".join("\n" + (pad + line if line else "") for line in lines[1:]))
            return "\n".join(items) if all("\n\n" not in item for item in items) else "\n\n".join(items)
        if kind == "blockquote":
            return "\n".join(("   " + line) if line else "" for line in "\n\n".join(self.blocks(node.children)).split("\n"))
        if kind == "hr":
            return "----"
        if kind == "table":
            return self.table(node)
        if kind == "html_block":
            content = node.content.strip()
            if content.startswith("<!--") and content.endswith("-->"):
                # A marker for a tool (scripts/role_docs.py), not content: an RST comment.
                return "..\n" + "\n".join("   " + line.strip() for line in content[4:-3].strip().split("\n"))
            return ".. raw:: html\n\n" + "\n".join("   " + line for line in node.content.rstrip("\n").split("\n"))
        raise ValueError("%s: unsupported Markdown block %r" % (self.source, kind))

    def table(self, node: SyntaxTreeNode) -> str:
        rows: list[list[str]] = []
        header_rows = 0
        for section in node.children:  # thead, tbody
            for row in section.children:
                rows.append([self.inline(cell.children[0]) if cell.children else "" for cell in row.children])
                header_rows += section.type == "thead"
        out = [".. list-table::", "   :header-rows: %d" % header_rows, ""]
        for row in rows:
            for index, cell in enumerate(row):
                lines = (cell or "\\").split("\n")
                out.append(("   * - " if index == 0 else "     - ") + lines[0])
                out.extend("       " + line for line in lines[1:])
        return "\n".join(out)


def convert(source: str, page: str, markdown: str) -> str:
    parser = MarkdownIt("commonmark").enable("table")
    tree = SyntaxTreeNode(parser.parse(markdown))
    body = "\n\n".join(Converter(source).blocks(tree.children))
    header = (".. Made by scripts/docsite.py from docs/%s: edit that page, then run .venv/bin/python scripts/docsite.py --write.\n\n"
              ".. _%s:\n\n" % (source, label(page)))
    return header + body + "\n"


def wanted() -> dict[str, str]:
    pages = {}
    for source, page in PAGES.items():
        with open(os.path.join(REPO, "docs", source), encoding="utf-8") as handle:
            pages[page + ".rst"] = convert(source, page, handle.read())
    return pages


def present() -> dict[str, str]:
    found = {}
    for root, _dirs, files in os.walk(RST_DIR):
        for name in files:
            path = os.path.join(root, name)
            with open(path, encoding="utf-8") as handle:
                found[os.path.relpath(path, RST_DIR)] = handle.read()
    return found


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true")
    mode.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    want, have = wanted(), present()
    if args.write:
        for name in set(have) - set(want):
            os.unlink(os.path.join(RST_DIR, name))
        for name, text in want.items():
            os.makedirs(os.path.dirname(os.path.join(RST_DIR, name)), exist_ok=True)
            with open(os.path.join(RST_DIR, name), "w", encoding="utf-8") as handle:
                handle.write(text)
        return 0
    stale = sorted(name for name in set(want) | set(have) if want.get(name) != have.get(name))
    for name in stale:
        sys.stdout.writelines(difflib.unified_diff(have.get(name, "").splitlines(True), want.get(name, "").splitlines(True),
                                                   "docs/docsite/rst/" + name, "from docs/ (scripts/docsite.py --write)"))
    if stale:
        print("docs/docsite/rst/ is out of date with docs/: run .venv/bin/python scripts/docsite.py --write (%s)" % ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
