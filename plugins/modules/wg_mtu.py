#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r'''
---
module: wg_mtu
short_description: Set the MTU of a WireGuard interface in its wg-quick config and on the running link
version_added: 0.1.0
description:
  - Sets C(MTU =) in the C([Interface]) section of a wg-quick config and leaves every other line as it was (comments,
    order, peers). It is the remedy of C(tunnel_mtu_blackhole), a tunnel MTU the path really carries.
  - The new file is validated (the module's own parser, and C(wg-quick strip) when wg-quick is installed), written
    atomically with mode V(0600) and its owner kept, and backed up (also V(0600)) when O(backup=true).
  - When the interface exists, its MTU is set live with C(ip link set dev INTERFACE mtu MTU); the interface is not
    restarted and no peer is touched.
  - A config that already has a syntax error is not rewritten; the error names the file and line.
author:
  - wgdoctor contributors (@wgdoctor)
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed when in diff mode.
    support: full
    details: The config before and after, with PrivateKey and PresharedKey values hidden, and the live MTU.
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
requirements:
  - ip from iproute2 for the live change
options:
  interface:
    description: The WireGuard interface; the config is O(config_dir)/O(interface).conf. No default.
    type: str
    required: true
    version_added: 0.1.0
  config_dir:
    description: Directory of the wg-quick config.
    type: path
    default: /etc/wireguard
    version_added: 0.1.0
  mtu:
    description: The MTU, 576 to 65535 (IPv6 inside the tunnel needs at least 1280).
    type: int
    required: true
    version_added: 0.1.0
  backup:
    description: Keep a copy of the old config (mode V(0600)) beside it before writing.
    type: bool
    default: true
    version_added: 0.1.0
  apply:
    description: Also set the MTU on the running interface.
    type: bool
    default: true
    version_added: 0.1.0
'''

EXAMPLES = r'''
- name: Give wg5 an MTU its path carries
  wgdoctor.wireguard.wg_mtu:
    interface: wg5
    mtu: 1240
'''

RETURN = r'''
config_mtu:
  description: The MTU = value of the config before the change (null when it had none, so wg-quick worked one out).
  returned: always
  type: int
live_mtu:
  description: The MTU of the running interface before the change; null when it is not running.
  returned: always
  type: int
applied_live:
  description: Whether the running interface's MTU was changed.
  returned: always
  type: bool
backup_file:
  description: Path of the backup of the old config.
  returned: when a backup was made
  type: str
'''

import os  # noqa: E402
import stat  # noqa: E402
import typing as t  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.host import apply as wg_apply  # noqa: E402
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard import config as wg_config  # noqa: E402
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard import config_edit as wg_config_edit  # noqa: E402

MTU_RANGE = (576, 65535)


def live_mtu(interface: str) -> t.Optional[int]:
    try:
        with open(os.path.join("/sys/class/net", interface, "mtu")) as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return None


def plan_config(text: str, path: str, mtu: int) -> tuple[t.Optional[int], str]:
    """(the MTU the config has now, the config with MTU = mtu); ValueError (file:line) on a config that does not parse."""
    before = wg_config.parse_config_strict(text, path, derive_public_key=None)
    after = wg_config_edit.set_interface_values(text, {"MTU": mtu}, path)
    wg_config.parse_config_strict(after, path, derive_public_key=None)
    return before.get("mtu"), after


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            interface=dict(type="str", required=True),
            config_dir=dict(type="path", default="/etc/wireguard"),
            mtu=dict(type="int", required=True),
            backup=dict(type="bool", default=True),
            apply=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    params = module.params
    interface, mtu = params["interface"], params["mtu"]
    result: dict[str, t.Any] = dict(changed=False, config_mtu=None, live_mtu=None, applied_live=False)
    if not MTU_RANGE[0] <= mtu <= MTU_RANGE[1]:
        module.fail_json(msg="mtu must be %d-%d, got %d" % (MTU_RANGE[0], MTU_RANGE[1], mtu), **result)
    path = os.path.join(params["config_dir"], interface + ".conf")
    if not os.path.exists(path):
        module.fail_json(msg="%s does not exist" % path, **result)
    try:
        with open(path, "rb") as stream:
            old_text = wg_config_edit.decode_config(stream.read(), path)
        result["config_mtu"], new_text = plan_config(old_text, path, mtu)
    except ValueError as exc:
        module.fail_json(msg=str(exc), **result)
    result["live_mtu"] = live_mtu(interface) if params["apply"] else None
    file_changed = new_text != old_text
    live_changed = result["live_mtu"] is not None and result["live_mtu"] != mtu
    result["changed"] = file_changed or live_changed
    if module._diff:
        result["diff"] = [dict(before=wg_apply.redact_secrets(old_text), after=wg_apply.redact_secrets(new_text),
                               before_header=path, after_header=path)]
        if live_changed:
            header = "%s (running)" % interface
            result["diff"].append(dict(before="mtu %s\n" % result["live_mtu"], after="mtu %d\n" % mtu,
                                       before_header=header, after_header=header))
    if module.check_mode or not result["changed"]:
        module.exit_json(**result)
    try:
        if file_changed:
            if params["backup"]:
                result["backup_file"] = module.backup_local(path)
                os.chmod(result["backup_file"], wg_apply.CONFIG_MODE)  # the copy holds the private key too
            wg_quick = module.get_bin_path("wg-quick")
            mode = wg_apply.CONFIG_MODE if stat.S_IMODE(os.stat(path).st_mode) & 0o077 else stat.S_IMODE(os.stat(path).st_mode)
            wg_apply.write_atomic(path, new_text, mode=mode, validate=(
                (lambda temp: wg_apply.check_wg_quick_strip(module.run_command, wg_quick, temp)) if wg_quick else None))
        if live_changed:
            module.run_command([module.get_bin_path("ip", required=True), "link", "set", "dev", interface, "mtu", str(mtu)],
                               check_rc=True)
            result["applied_live"] = True
    except wg_apply.ApplyError as exc:
        module.fail_json(msg=str(exc), **result)
    except (IOError, OSError) as exc:
        module.fail_json(msg="cannot write %s: %s" % (path, exc.strerror), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
