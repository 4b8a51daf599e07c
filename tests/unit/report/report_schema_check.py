"""report.json against the JSON Schema the collection ships (plugins/plugin_utils/report_schema.json)."""
from __future__ import annotations

import json
import os
import typing as t

import jsonschema

from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.report import render_json

SCHEMA_PATH = os.path.join(os.path.dirname(__file__), "..", "..", "..", "plugins", "plugin_utils", "report_schema.json")
with open(SCHEMA_PATH, encoding="utf-8") as _handle:
    SCHEMA = json.load(_handle)
jsonschema.Draft202012Validator.check_schema(SCHEMA)
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def schema_errors(report: t.Any) -> list[str]:
    """Each way `report`, as written to report.json, breaks the schema: where and why."""
    written = json.loads(render_json(report))
    return ["%s: %s" % ("/".join(map(str, error.absolute_path)) or "(top)", error.message)
            for error in sorted(VALIDATOR.iter_errors(written), key=lambda e: list(map(str, e.absolute_path)))]


def assert_valid_report(report: t.Any) -> None:
    errors = schema_errors(report)
    assert errors == [], "report.json does not match report_schema.json:\n" + "\n".join(errors)
