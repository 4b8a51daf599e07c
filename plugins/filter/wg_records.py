# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that turn what the diagnose playbook registered into what the diagnosis reads;
documentation lives in the .yml sidecars."""
from __future__ import annotations

import typing as t
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

# Collection modules are imported inside the filters: wg_diagnose.py says why.
if t.TYPE_CHECKING:
    from ansible_collections.wgdoctor.wireguard.plugins.module_utils.contracts import MtuRecord, PingRecord, ProbeRecord
    from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.records import AnsweredEnds


def _list(value: t.Any, filter_name: str, name: str) -> list:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    raise AnsibleFilterError("%s: %s must be a list of registered loop results, got %s"
                             % (filter_name, name, type(value).__name__))


def wg_answered_ends(hostvars: t.Any, end_hosts: t.Any, result_var: str = "wg_facts_result") -> AnsweredEnds:
    from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.records import answered_ends

    if not isinstance(hostvars, Mapping):
        raise AnsibleFilterError("wg_answered_ends: input must be hostvars, got %s" % type(hostvars).__name__)
    return answered_ends(hostvars, [str(h) for h in _list(end_hosts, "wg_answered_ends", "end_hosts")], str(result_var))


def wg_probe_records(probe_results: t.Any, listen_results: t.Any = None,
                     controller_results: t.Any = None, planned: t.Any = None) -> list[ProbeRecord]:
    from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.records import probe_records

    return probe_records(_list(probe_results, "wg_probe_records", "the input"),
                         _list(listen_results, "wg_probe_records", "listen_results"),
                         _list(controller_results, "wg_probe_records", "controller_results"),
                         _list(planned, "wg_probe_records", "planned"))


def wg_host_results(hostvars: t.Any, end_hosts: t.Any, result_var: str) -> list:
    from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.records import host_results

    if not isinstance(hostvars, Mapping):
        raise AnsibleFilterError("wg_host_results: input must be hostvars, got %s" % type(hostvars).__name__)
    return host_results(hostvars, [str(h) for h in _list(end_hosts, "wg_host_results", "end_hosts")], str(result_var))


def wg_ping_records(ping_results: t.Any) -> list[PingRecord]:
    from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.records import ping_records

    return ping_records(_list(ping_results, "wg_ping_records", "the input"))


def wg_ping_batch_results(registered: t.Any, pings: t.Any) -> dict:
    from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.records import ping_batch_results

    if registered is not None and not isinstance(registered, Mapping):
        raise AnsibleFilterError("wg_ping_batch_results: input must be the registered result of the pings' command, got %s"
                                 % type(registered).__name__)
    return ping_batch_results(registered or {}, _list(pings, "wg_ping_batch_results", "pings"))


def wg_mtu_records(mtu_results: t.Any) -> list[MtuRecord]:
    from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils.records import mtu_records

    return mtu_records(_list(mtu_results, "wg_mtu_records", "the input"))


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {
            "wg_answered_ends": wg_answered_ends,
            "wg_probe_records": wg_probe_records,
            "wg_host_results": wg_host_results,
            "wg_ping_records": wg_ping_records,
            "wg_ping_batch_results": wg_ping_batch_results,
            "wg_mtu_records": wg_mtu_records,
        }
