# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the cloud firewall phase (playbooks/phases/cloud_facts.yml): which ends run on EC2, and the
amazon.aws info modules' results as the `cloud` facts the diagnosis reads; documentation in the .yml sidecars."""
from __future__ import annotations

import typing as t
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

# Collection modules are imported inside the filters: wg_diagnose.py says why.
if t.TYPE_CHECKING:
    from ansible_collections.wgdoctor.wireguard.plugins.module_utils.contracts import CloudFacts


def _list(value: t.Any, filter_name: str, name: str) -> list:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    raise AnsibleFilterError("%s: %s must be a list, got %s" % (filter_name, name, type(value).__name__))


def _results(value: t.Any, filter_name: str, name: str) -> list:
    """The `results` of a registered loop (or the list itself)."""
    if isinstance(value, Mapping):
        value = value.get("results")
    return [r for r in _list(value, filter_name, name) if isinstance(r, Mapping)]


def wg_cloud_ends(end_hosts: t.Any, hostvars: t.Any, facts_by_host: t.Any, provider: t.Any = None) -> list[dict[str, t.Any]]:
    from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils import cloud_aws

    if not isinstance(hostvars, Mapping) or not isinstance(facts_by_host, Mapping):
        raise AnsibleFilterError("wg_cloud_ends: hostvars and facts_by_host must be mappings")
    return cloud_aws.cloud_ends([str(h) for h in _list(end_hosts, "wg_cloud_ends", "the input")], hostvars,
                                facts_by_host, provider)


def wg_cloud_instances(ends: t.Any, instance_results: t.Any) -> list[dict[str, t.Any]]:
    from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils import cloud_aws

    return cloud_aws.cloud_instances(_list(ends, "wg_cloud_instances", "the input"),
                                     _results(instance_results, "wg_cloud_instances", "instance_results"))


def wg_cloud_facts(found: t.Any, group_results: t.Any, acl_results: t.Any, prefix_lists: t.Any = None) -> dict[str, CloudFacts]:
    from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils import cloud_aws

    if not isinstance(prefix_lists or {}, Mapping):
        raise AnsibleFilterError("wg_cloud_facts: prefix_lists must map a host to {prefix list id: CIDRs}")
    return cloud_aws.cloud_facts(_list(found, "wg_cloud_facts", "the input"),
                                 _results(group_results, "wg_cloud_facts", "group_results"),
                                 _results(acl_results, "wg_cloud_facts", "acl_results"), prefix_lists or {})


def wg_cloud_prefix_list_ids(groups: t.Any) -> list[str]:
    from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils import cloud_aws

    return cloud_aws.prefix_list_ids([g for g in _list(groups, "wg_cloud_prefix_list_ids", "the input") if isinstance(g, Mapping)])


def wg_with_cloud(facts_by_host: t.Any, cloud_by_host: t.Any) -> dict[str, t.Any]:
    from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils import cloud_aws

    if not isinstance(facts_by_host, Mapping) or not isinstance(cloud_by_host or {}, Mapping):
        raise AnsibleFilterError("wg_with_cloud: facts_by_host and cloud_by_host must be mappings")
    return cloud_aws.with_cloud(facts_by_host, cloud_by_host or {})


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {
            "wg_cloud_ends": wg_cloud_ends,
            "wg_cloud_instances": wg_cloud_instances,
            "wg_cloud_facts": wg_cloud_facts,
            "wg_with_cloud": wg_with_cloud,
            "wg_cloud_prefix_list_ids": wg_cloud_prefix_list_ids,
        }
