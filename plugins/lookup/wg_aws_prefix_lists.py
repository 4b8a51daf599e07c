# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: wg_aws_prefix_lists
author: wgdoctor maintainers (@wgdoctor)
version_added: 0.1.0
short_description: The CIDRs of AWS managed prefix lists, for the cloud firewall check
description:
  - Reads the entries of the given managed prefix lists (C(pl-...)) with boto3 on the controller, so that a
    security group rule whose source is a prefix list can be judged like one with CIDRs (docs/cloud.md).
  - Uses the AWS credentials boto3 finds (environment, profile, instance role) and C(AWS_ENDPOINT_URL) when set;
    it never returns or prints them.
  - Needs the IAM permission C(ec2:GetManagedPrefixListEntries).
options:
  _terms:
    description: Prefix list ids; lists are flattened.
    type: list
    elements: str
    required: true
  region:
    description: The AWS region; empty takes that of the AWS configuration.
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: The CIDRs of the prefix lists the groups name
  ansible.builtin.set_fact:
    wg_prefix_lists: "{{ lookup('wgdoctor.wireguard.wg_aws_prefix_lists', ['pl-0123456789abcdef0'], region='eu-west-1') }}"
"""

RETURN = r"""
_raw:
  description: One dict, prefix list id -> its CIDRs (IPv4 and IPv6).
  type: list
  elements: dict
"""

import typing as t

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase


def _ids(terms: t.Iterable[t.Any]) -> list[str]:
    ids: list[str] = []
    for term in terms:
        for item in term if isinstance(term, (list, tuple)) else [term]:
            if item and str(item) not in ids:
                ids.append(str(item))
    return ids


class LookupModule(LookupBase):
    def run(self, terms: list[t.Any], variables: t.Any = None, **kwargs: t.Any) -> list[dict[str, list[str]]]:
        self.set_options(var_options=variables, direct=kwargs)
        ids = _ids(terms)
        if not ids:
            return [{}]
        try:
            import boto3
            import botocore.exceptions
        except ImportError as exc:
            raise AnsibleLookupError("wg_aws_prefix_lists needs boto3 on the controller: %s" % exc)
        region = self.get_option("region") or None
        try:
            client = boto3.client("ec2", region_name=region)
            entries: dict[str, list[str]] = {}
            for prefix_list_id in ids:
                paginator = client.get_paginator("get_managed_prefix_list_entries")
                cidrs: list[str] = []
                for page in paginator.paginate(PrefixListId=prefix_list_id):
                    cidrs += [entry["Cidr"] for entry in page.get("Entries") or []]
                entries[prefix_list_id] = cidrs
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            # botocore's messages name the call and the error code, never the credentials.
            raise AnsibleLookupError("wg_aws_prefix_lists: %s" % exc)
        return [entries]
