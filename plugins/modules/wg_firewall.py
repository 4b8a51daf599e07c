#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r'''
---
module: wg_firewall
short_description: Accept a WireGuard tunnel's traffic in the host's own nftables ruleset, planned from what nft reports
version_added: 0.1.0
description:
  - Puts an accept for UDP to O(port) (and, with O(forward), for forwarding from O(forward_sources) in O(interface) out of
    O(forward_uplinks) and the replies back) at the top of every host base chain that could drop it, and masquerades
    O(masquerade_source) out of O(masquerade_interface) in a table of its own. Nothing else of the ruleset is touched.
  - The plan is made in Python by the same reader the diagnosis uses (C(nft -j list ruleset)), so check mode and the diff
    show exactly what a real run does, and C(changed) is true only when a rule, the drop-in or the boot config changes.
  - Only tables the boot config O(conf) declares are changed and persisted. Which tables those are is found by loading
    O(conf) in an empty network namespace (C(unshare -nm), else C(unshare -Urnm)), as boot loads it into an empty kernel.
    A chain of a table another tool creates at runtime (Docker, libvirt, kube-proxy, fail2ban) is never changed; it is
    named in RV(runtime_only) and a warning.
  - The rules are persisted in the drop-in O(include_dir)/C(wgdoctor-<interface>.nft), which O(conf) is made to include at its
    end. The drop-in is validated against O(conf) in an empty network namespace before it replaces the old one, O(conf) is
    validated as a whole with the include before it is replaced, both are written atomically, and backed up when they
    change. When the whole boot config does not load, the drop-in is taken back out and the module fails.
  - Without O(conf) (or when it does not load on its own) no host chain is changed and nothing is persisted, since which
    tables exist at boot is unknown. The masquerade table, being the module's own, is still made live.
author:
  - wgdoctor contributors (@wgdoctor)
options:
  interface:
    description: The WireGuard interface. It names the drop-in and the masquerade table, and the forward rules match it.
    type: str
    required: true
  port:
    description: The UDP listen port of O(interface) to accept.
    type: int
    required: true
  forward:
    description: Also accept forwarding from O(forward_sources) in O(interface) out of O(forward_uplinks), and the replies back.
    type: bool
    default: false
  forward_sources:
    description: The tunnel's subnets (CIDR) O(forward) lets out. Required (non-empty) with O(forward).
    type: list
    elements: str
    default: []
  forward_uplinks:
    description: The interfaces O(forward) lets the tunnel out of. Required (non-empty) with O(forward).
    type: list
    elements: str
    default: []
  masquerade_source:
    description: Tunnel subnet (CIDR) to masquerade out of O(masquerade_interface); empty for none.
    type: str
    default: ""
  masquerade_interface:
    description: The uplink O(masquerade_source) is masqueraded out of; set with O(masquerade_source).
    type: str
    default: ""
  comment:
    description: Comment on every rule the module makes; it is how the module recognises its own rules.
    type: str
    default: wgdoctor
  conf:
    description: The file the host's nftables service loads at boot.
    type: path
    default: /etc/nftables.conf
  include_dir:
    description: Directory of the drop-in C(wgdoctor-<interface>.nft).
    type: path
    default: /etc/nftables.d
  proven_chains:
    description:
      - Base chains (C(<family> <table> <chain>)) the diagnosis proved drop the traffic. A chain the plan does not change
        (gone, or of a table created at runtime) is named in a warning and in RV(unproven_chains); the plan itself still
        covers every chain that could drop.
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    support: full
    description: Plans, validates the new drop-in in an empty network namespace, reports, and changes nothing.
  diff_mode:
    support: full
    description:
      - The role's rules in the chains it plans (each line the chain, then the rule) and its masquerade rule, before and
        after; the drop-in and the boot config, before and after. Computed from the plan, in check mode and in a real run alike.
  platform:
    description: Linux hosts with nftables.
    support: full
    platforms: posix
notes:
  - Needs C(nft); C(unshare) (util-linux) to read and validate the boot config in an empty network namespace.
  - firewalld is changed by M(wgdoctor.wireguard.wg_firewalld); iptables and ufw by the role wgdoctor.wireguard.firewall with their own modules.
seealso:
  - module: wgdoctor.wireguard.wg_facts
  - name: The firewall role
    description: docs/roles/firewall.md in the collection.
    link: https://github.com/wgdoctor/wireguard/blob/main/docs/roles/firewall.md
'''

EXAMPLES = r'''
- name: Accept UDP 51999 for wgsrv in the host's nftables chains that would drop it
  wgdoctor.wireguard.wg_firewall:
    interface: wgsrv
    port: 51999

- name: Also forward the tunnel's subnet out of ens3 and masquerade it
  wgdoctor.wireguard.wg_firewall:
    interface: wgsrv
    port: 51999
    forward: true
    forward_sources: [10.77.0.0/24]
    forward_uplinks: [ens3]
    masquerade_source: 10.77.0.0/24
    masquerade_interface: ens3
'''

RETURN = r'''
chains:
  description: The host chains (C(family table chain)) that get the accepts.
  returned: always
  type: list
  elements: str
  sample: [inet filter input]
runtime_only:
  description: Chains that could drop the traffic in tables the boot config does not declare; left alone.
  returned: always
  type: list
  elements: str
  sample: [ip docker forward]
inserted:
  description: The rules inserted (or, in check mode, to insert), each as C(family table chain) followed by the rule.
  returned: always
  type: list
  elements: str
  sample: ['inet filter input: udp dport 51999 accept comment "wgdoctor"']
removed:
  description: The catch-all forward accepts earlier versions of the role made, removed (or to remove).
  returned: always
  type: list
  elements: str
masquerade_table:
  description: C(family name) of the module's masquerade table, null without masquerading.
  returned: always
  type: str
  sample: ip wgdoctor_nat_wgsrv
drop_in:
  description: The drop-in file, null when nothing is persisted (no boot config, or it does not load on its own).
  returned: always
  type: str
  sample: /etc/nftables.d/wgdoctor-wgsrv.nft
persisted:
  description: Whether the rules are (or, in check mode, would be) in the boot config.
  returned: always
  type: bool
unproven_chains:
  description: The O(proven_chains) the plan does not change, each with the reason.
  returned: always
  type: list
  elements: dict
backup_files:
  description: Backups of the drop-in and the boot config taken before they were replaced.
  returned: when a file was replaced
  type: list
  elements: str
'''

import os
import tempfile
import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall import nft_plan
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall.nftables import NftParseError, parse_ruleset

# Boot loads the config into a kernel that holds nothing else: an empty network namespace is that kernel.
# Plain `unshare -n` needs CAP_SYS_ADMIN; a user namespace of its own gives the same where root lacks it (containers).
# The mount namespace lets an old drop-in be hidden under /dev/null while the config loads.
NETNS_CANDIDATES = (["unshare", "-nm"], ["unshare", "-Urnm"])
# Loads the config with the drop-in ($1) hidden, then runs the rest ("$@" after shift 2).
HIDE_AND_LOAD = 'if [ -e "$1" ]; then mount --bind /dev/null "$1"; fi; nft -f "$2" || exit 3; shift 2; "$@"'


class Firewall(object):
    def __init__(self, module: AnsibleModule) -> None:
        self.module = module
        params = module.params
        self.params: nft_plan.Params = {
            "interface": params["interface"], "port": params["port"], "comment": params["comment"],
            "forward": params["forward"], "forward_sources": params["forward_sources"],
            "forward_uplinks": params["forward_uplinks"], "masquerade_source": params["masquerade_source"],
            "masquerade_interface": params["masquerade_interface"]}
        self.conf: str = params["conf"]
        self.include_dir: str = params["include_dir"].rstrip("/") or "/"
        self.drop_in = os.path.join(self.include_dir, "wgdoctor-%s.nft" % params["interface"])
        self.nft = module.get_bin_path("nft", required=True)
        self.warnings: list[str] = []
        self.netns: list[str] | None = None

    def finish(self, result: dict[str, t.Any]) -> None:
        for warning in self.warnings:
            self.module.warn(warning)
        self.module.exit_json(**result)

    def run(self, argv: list[str], data: str | None = None, check: bool = True) -> tuple[int, str, str]:
        rc, out, err = self.module.run_command(argv, data=data, binary_data=data is not None, environ_update={"LC_ALL": "C"})
        if check and rc != 0:
            self.module.fail_json(msg="%s failed (rc %d): %s" % (" ".join(argv), rc, (err or out).strip()[:500]))
        return rc, out, err

    def find_netns(self) -> list[str] | None:
        for candidate in NETNS_CANDIDATES:
            if self.module.get_bin_path(candidate[0]) and self.run(candidate + ["true"], check=False)[0] == 0:
                return candidate
        return None

    def in_empty_netns(self, *command: str, hide: str | None = None, conf: str | None = None) -> tuple[int, str, str]:
        """Run command in an empty network namespace after loading conf (the drop-in `hide` hidden) when given."""
        argv = list(t.cast(t.List[str], self.netns))
        if conf is None:
            return self.run(argv + list(command), check=False)
        return self.run(argv + ["sh", "-c", HIDE_AND_LOAD, "sh", hide or "", conf] + list(command), check=False)

    # --- reading -------------------------------------------------------------------------------------------

    def read_boot_tables(self) -> set[str] | None:
        """The tables the boot config declares; None (and a warning) when that cannot be known."""
        if not os.path.exists(self.conf):
            self.warnings.append(
                "%s does not exist, so nothing loads nftables rules at boot and no host table is known to exist at boot: no host chain "
                "was changed%s. Set firewall_nftables_conf to the file your nftables service loads." % (
                    self.conf, ", our masquerade table is live only" if self.params["masquerade_source"] else ", nothing was opened"))
            return None
        self.netns = self.find_netns()
        if self.netns is None:
            self.warnings.append("No empty network namespace can be entered here (unshare -nm and unshare -Urnm both fail): which "
                                 "tables exist at boot is unknown, so no host chain was changed and nothing was persisted.")
            return None
        # Our own drop-in is hidden: an earlier version of it may name a table that no longer exists at boot.
        rc, out, err = self.in_empty_netns(self.nft, "-j", "list", "tables", hide=self.drop_in, conf=self.conf)
        if rc != 0:
            self.warnings.append("%s does not load on its own in an empty network namespace: %s. Which tables exist at boot is "
                                 "unknown, so no host chain was changed and nothing was persisted." % (self.conf, (err or out).strip()[:300]))
            return None
        try:
            return nft_plan.boot_tables(out)
        except nft_plan.PlanError as exc:
            self.module.fail_json(msg="%s (loading %s in an empty network namespace)" % (exc, self.conf))
        return None

    def read_file(self, path: str) -> str | None:
        if not os.path.exists(path):
            return None
        try:
            with open(path, "rb") as handle:
                data = handle.read()
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            self.module.fail_json(msg="%s line %d (byte offset %d): not UTF-8; nothing was changed" % (
                path, data.count(b"\n", 0, exc.start) + 1, exc.start))
        except OSError as exc:
            self.module.fail_json(msg="%s: cannot be read (%s)" % (path, exc))
        return None

    # --- writing -------------------------------------------------------------------------------------------

    def temp_copy(self, text: str, directory: str) -> str:
        handle, path = tempfile.mkstemp(prefix=".wgdoctor-", suffix=".nft", dir=directory)
        with os.fdopen(handle, "w") as out:
            out.write(text)
        os.chmod(path, 0o644)
        return path

    def validate_drop_in(self, text: str) -> str | None:
        """None when the drop-in loads on top of the boot config in an empty namespace, else nft's error."""
        path = self.temp_copy(text, tempfile.gettempdir())
        try:
            rc, out, err = self.in_empty_netns(self.nft, "-c", "-f", path, hide=self.drop_in, conf=self.conf)
        finally:
            os.unlink(path)
        return None if rc == 0 else (err or out).strip()[:500]

    def replace(self, path: str, text: str, backups: list[str]) -> None:
        """Atomic replace in the same directory, keeping a backup of the old file."""
        if os.path.exists(path):
            backups.append(self.module.backup_local(path))
        temp = self.temp_copy(text, os.path.dirname(path) or ".")
        self.module.atomic_move(temp, path)


def _diff(before: str, after: str, before_header: str, after_header: str | None = None) -> dict[str, str]:
    return {"before": before, "after": after, "before_header": before_header, "after_header": after_header or before_header}


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            interface=dict(type="str", required=True),
            port=dict(type="int", required=True),
            forward=dict(type="bool", default=False),
            forward_sources=dict(type="list", elements="str", default=[]),
            forward_uplinks=dict(type="list", elements="str", default=[]),
            masquerade_source=dict(type="str", default=""),
            masquerade_interface=dict(type="str", default=""),
            comment=dict(type="str", default="wgdoctor"),
            conf=dict(type="path", default="/etc/nftables.conf"),
            include_dir=dict(type="path", default="/etc/nftables.d"),
            proven_chains=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    fw = Firewall(module)
    try:
        nft_plan.check_params(fw.params)
    except nft_plan.PlanError as exc:
        module.fail_json(msg=str(exc))

    try:
        parsed = parse_ruleset(fw.run([fw.nft, "-j", "list", "ruleset"])[1])
    except NftParseError as exc:
        module.fail_json(msg="nft -j list ruleset: %s" % exc)
    boot = fw.read_boot_tables()
    plan = nft_plan.plan_chains(parsed, boot or set(), fw.params)
    if boot is None:
        plan["runtime_only"] = []  # no table is known to exist at boot: the warning above says so, not one per chain
    for where in plan["runtime_only"]:
        fw.warnings.append(
            "%s chain %s (hook %s) could drop the traffic, but table %s %s is not declared by %s: another tool (Docker, libvirt, "
            "kube-proxy, fail2ban, ...) creates it at runtime. It is neither changed nor persisted (%s). If it drops WireGuard, "
            "allow it in that tool's own configuration." % (
                "%s %s" % (where["family"], where["table"]), where["chain"], where["hook"], where["family"], where["table"], fw.conf,
                "the host chains of the boot config got the rules" if plan["chains"] else "nothing was opened"))
    unproven = nft_plan.unproven_chains(plan, module.params["proven_chains"])
    for chain, why in unproven:
        fw.warnings.append("The diagnosis found %s drops the traffic, but it is not changed: %s." % (chain, why))

    listings = {nft_plan.chain_key(w): fw.run([fw.nft, "-a", "list", "chain", w["family"], w["table"], w["chain"]])[1]
                for w in plan["chains"]}
    changes = nft_plan.compare(plan, listings, fw.params["comment"])
    nat = nft_plan.nat_table(fw.params)
    nat_listing = fw.run([fw.nft, "list", "table", nat[0], nat[1]], check=False)[1] if nat else None
    nat_needed = nat is not None and not nft_plan.nat_present(fw.params, nat_listing)
    nat_rule_line = "%s %s postrouting: %s" % (nat[0], nat[1], nft_plan.nat_rule(fw.params)) if nat else None

    persist = boot is not None
    drop_in_before = fw.read_file(fw.drop_in) if persist else None
    drop_in_after = nft_plan.drop_in_text(plan, fw.params, fw.conf) if persist else None
    conf_before = fw.read_file(fw.conf) if persist else None
    conf_after = nft_plan.conf_with_include(conf_before or "", fw.include_dir) if persist else None
    drop_in_changes = persist and drop_in_before != drop_in_after
    conf_changes = persist and conf_before != conf_after
    if drop_in_changes:
        # Validated in check mode too: a dry run says whether the real one would persist.
        error = fw.validate_drop_in(t.cast(str, drop_in_after))
        if error:
            module.fail_json(msg="The drop-in for %s does not load on top of %s in an empty network namespace, so nothing was "
                                 "changed: %s" % (fw.params["interface"], fw.conf, error))

    live_changes = bool(changes["missing"] or changes["stale"] or nat_needed)
    changed = live_changes or bool(drop_in_changes) or bool(conf_changes)
    nat_lines = [nat_rule_line] if nat_rule_line else []
    live_before = changes["before"] + ([] if nat_needed else nat_lines)
    live_after = changes["after"] + nat_lines
    result: dict[str, t.Any] = {
        "changed": changed,
        "chains": [nft_plan.chain_key(w) for w in plan["chains"]],
        "runtime_only": [nft_plan.chain_key(w) for w in plan["runtime_only"]],
        "inserted": [r["line"] for r in changes["missing"]],
        "removed": [r["line"] for r in changes["stale"]],
        "masquerade_table": "%s %s" % nat if nat else None,
        "drop_in": fw.drop_in if persist else None,
        "persisted": persist,
        "unproven_chains": [{"chain": chain, "reason": why} for chain, why in unproven],
    }
    if module._diff:
        diffs = []
        if live_changes:
            diffs.append(_diff("".join(line + "\n" for line in live_before), "".join(line + "\n" for line in live_after),
                               "nftables ruleset: the rules commented %s" % fw.params["comment"]))
        if drop_in_changes:
            diffs.append(_diff(drop_in_before or "", t.cast(str, drop_in_after), fw.drop_in))
        if conf_changes:
            diffs.append(_diff(conf_before or "", t.cast(str, conf_after), fw.conf))
        result["diff"] = diffs
    if module.check_mode or not changed:
        fw.finish(result)

    # Live first: the rules work now even when persisting fails, and the failure says so.
    for stale in changes["stale"]:
        fw.run([fw.nft, "delete", "rule", stale["family"], stale["table"], stale["chain"], "handle", stale["handle"]])
    for missing in changes["missing"]:
        fw.run([fw.nft, 'insert rule %s %s %s %s comment "%s"' % (missing["family"], missing["table"], missing["chain"],
                                                                  missing["statement"], fw.params["comment"])])
    if nat_needed:
        fw.run([fw.nft, "-f", "-"], data=nft_plan.nat_text(fw.params))

    backups: list[str] = []
    if persist and (drop_in_changes or conf_changes):
        if not os.path.isdir(fw.include_dir):
            os.makedirs(fw.include_dir, 0o755)
        old_drop_in = drop_in_before
        if drop_in_changes:
            fw.replace(fw.drop_in, t.cast(str, drop_in_after), backups)
        if conf_changes:
            temp = fw.temp_copy(t.cast(str, conf_after), os.path.dirname(fw.conf) or ".")
            rc, out, err = fw.in_empty_netns(fw.nft, "-c", "-f", temp)
            if rc != 0:
                os.unlink(temp)
                _restore(fw, old_drop_in)
                module.fail_json(msg="%s would not load at boot (in an empty network namespace) with our drop-in included: %s. The "
                                     "drop-in was taken back; the live rules stay, persist them by hand." % (fw.conf, (err or out).strip()[:300]),
                                 **result)
            if conf_before is not None:
                backups.append(module.backup_local(fw.conf))
            module.atomic_move(temp, fw.conf)
        # Boot loads the whole file at once: check it as boot loads it.
        rc, out, err = fw.in_empty_netns(fw.nft, "-c", "-f", fw.conf)
        if rc != 0:
            _restore(fw, old_drop_in)
            module.fail_json(msg="%s would not load at boot (in an empty network namespace) with our drop-in (is the include line "
                                 "before the table definitions?): %s. The drop-in was taken back; the live rules stay." % (
                                     fw.conf, (err or out).strip()[:300]), **result)
    if backups:
        result["backup_files"] = backups
    fw.finish(result)


def _restore(fw: Firewall, old_text: str | None) -> None:
    """Put the drop-in back as it was (or remove it) so the host's nftables service still starts at boot."""
    if old_text is None:
        if os.path.exists(fw.drop_in):
            os.unlink(fw.drop_in)
    else:
        fw.replace(fw.drop_in, old_text, [])


if __name__ == "__main__":
    main()
