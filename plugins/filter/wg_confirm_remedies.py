# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The remedies of a saved report that this run's diagnosis confirms; documentation lives in the .yml sidecar."""
from __future__ import annotations

import typing as t

from ansible.errors import AnsibleFilterError

# Collection modules are imported inside the filters: wg_diagnose.py says why.
if t.TYPE_CHECKING:
    from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.remedy_review import RemedyReview


def _findings(value: t.Any, name: str) -> list[t.Mapping[str, t.Any]]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, t.Mapping) for item in value):
        raise AnsibleFilterError("wg_confirm_remedies: %s must be a list of findings, got %s" % (name, type(value).__name__))
    return list(value)


def wg_confirm_remedies(fresh: t.Any, saved: t.Any) -> RemedyReview:
    from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.remedy_review import review_remedies

    return review_remedies(_findings(fresh, "the input (this run's findings)"), _findings(saved, "saved (the report's findings)"))


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"wg_confirm_remedies": wg_confirm_remedies}
