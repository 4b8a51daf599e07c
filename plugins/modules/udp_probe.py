#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: udp_probe
short_description: Prove or disprove a UDP path with a genuine WireGuard handshake
version_added: 0.1.0
description:
  - In C(wireguard) mode, sends a valid Noise_IKpsk2 handshake initiation to O(host):O(port) and classifies what comes back,
    the way WireGuard itself would find out. Unlike C(nc -zvu), a silent DROP rule is reported as V(timeout), not success.
  - Outcomes are V(ok) (a response that verifies and decrypts), V(auth_failed) (a response that does not decrypt, so the preshared
    keys differ), V(cookie) (the responder is under load; proves the path and the responder key only), V(refused) (ICMP port
    unreachable), V(unreachable) (ICMP host, net or administratively prohibited) and V(timeout).
  - Nothing is ever sent after the handshake response, so no session becomes current on the responder.
  - In C(raw) mode, sends a given payload and reports any reply or ICMP error, for UDP services that are not WireGuard.
  - In C(listen) mode, runs on the responder and reports the handshake initiations that arrived on O(port), seen before the host
    firewall judges them. It runs as an async task started before the probes; it writes O(ready_file) once it listens, and stops
    when O(stop_file) appears (every probe it serves is done), at the latest after O(duration) seconds. One capture serves every
    probe aimed at the port; each initiation carries the sender index its probe chose, which tells the probes apart behind NAT.
  - The crypto backend is PyNaCl, else C(cryptography), else pure Python. The pure-Python backend is not constant-time;
    use it only with ephemeral probe keys.
author:
  - wgdoctor contributors (@wgdoctor)
options:
  mode:
    description:
      - V(wireguard) sends a handshake initiation; V(raw) sends O(payload) or O(payload_hex); V(listen) captures initiations.
    type: str
    choices: [wireguard, raw, listen]
    default: wireguard
    version_added: 0.1.0
  host:
    description:
      - Address or name of the responder. Required unless O(mode=listen).
    type: str
    version_added: 0.1.0
  port:
    description:
      - The responder's UDP port (its C(ListenPort)), or the port to watch in O(mode=listen).
    type: int
    required: true
    version_added: 0.1.0
  responder_public_key:
    description:
      - The responder's public key, as the initiator's C([Peer]) section holds it. Required in O(mode=wireguard).
      - A wrong key is answered by silence, so the probe reports V(timeout).
    type: str
    version_added: 0.1.0
  private_key:
    description:
      - The initiator's private key (base64). The responder must know its public key as a peer.
      - Use an ephemeral probe key registered on the responder as a temporary peer. Probing with the real client key moves the
        responder's endpoint for that peer to the probe's address, and a clock running ahead can lock the real client out.
      - Mutually exclusive with O(private_key_path). One of them is required in O(mode=wireguard).
    type: str
    version_added: 0.1.0
  private_key_path:
    description:
      - File on the target holding the initiator's private key.
    type: path
    version_added: 0.1.0
  preshared_key:
    description:
      - The preshared key of this initiator on the responder, if it has one. A mismatch is reported as V(auth_failed).
    type: str
    version_added: 0.1.0
  preshared_key_path:
    description:
      - File on the target holding the preshared key. Mutually exclusive with O(preshared_key).
    type: path
    version_added: 0.1.0
  timeout:
    description:
      - Seconds to wait for an answer to each attempt.
    type: float
    default: 1.0
    version_added: 0.1.0
  retries:
    description:
      - Further attempts after a V(timeout), at least 100 ms apart (ICMP errors are rate limited).
      - The time to a V(timeout) verdict is O(timeout) times (1 + O(retries)).
    type: int
    default: 1
    version_added: 0.1.0
  source_port:
    description:
      - Local UDP port to send from. Default is an ephemeral port.
    type: int
    version_added: 0.1.0
  payload:
    description:
      - Text to send in O(mode=raw). Mutually exclusive with O(payload_hex).
    type: str
    version_added: 0.1.0
  payload_hex:
    description:
      - Bytes to send in O(mode=raw), as hexadecimal.
    type: str
    version_added: 0.1.0
  duration:
    description:
      - Seconds to capture in O(mode=listen); with O(stop_file), the most it captures when no stop comes.
    type: float
    default: 10.0
    version_added: 0.1.0
  ready_file:
    description:
      - In O(mode=listen), a file written once the capture listens (its text is V(listening)), or once it knows it cannot
        (V(failed) and why), so the caller waits for it (M(ansible.builtin.wait_for)) instead of pausing for a guessed time.
    type: path
    version_added: 0.1.0
  stop_file:
    description:
      - In O(mode=listen), the capture stops as soon as this file exists (checked every 50 ms); what was already queued is
        still counted. Without it, the capture runs for O(duration).
    type: path
    version_added: 0.1.0
  interface:
    description:
      - Interface to capture on in O(mode=listen). Default is every interface.
    type: str
    version_added: 0.1.0
  listen_method:
    description:
      - How to capture in O(mode=listen). V(auto) uses an AF_PACKET socket with a BPF filter and falls back to C(tcpdump).
    type: str
    choices: [auto, af_packet, tcpdump]
    default: auto
    version_added: 0.1.0
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details:
      - The probe runs in check mode too. It changes nothing on this host; on the responder an ephemeral probe key changes
        nothing either, while the real client key would move that peer's endpoint (see O(private_key)).
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
  platform:
    description: Target OS/families that can be operated against.
    support: N/A
    platforms: linux
    details:
      - ICMP classification relies on Linux IP_RECVERR; O(mode=listen) needs root or CAP_NET_RAW.
notes:
  - Telling timeouts apart needs the far end. Start O(mode=listen) on the responder as an async task, wait for its O(ready_file),
    probe, create its O(stop_file), then collect it.
seealso:
  - name: WireGuard protocol
    description: The handshake this module speaks.
    link: https://www.wireguard.com/protocol/
'''

EXAMPLES = r'''
- name: Listen on the server for the probe's initiations
  wgdoctor.wireguard.udp_probe:
    mode: listen
    port: 41194
    duration: 120
    ready_file: /run/wgdoctor-probe.ready
    stop_file: /run/wgdoctor-probe.stop
  async: 150
  poll: 0
  register: listener
  delegate_to: server

- name: Wait until the server listens
  ansible.builtin.wait_for:
    path: /run/wgdoctor-probe.ready
    timeout: 20
  delegate_to: server

- name: Probe the server with the ephemeral probe key
  wgdoctor.wireguard.udp_probe:
    host: vpn.example.org
    port: 41194
    responder_public_key: "{{ server_public_key }}"
    private_key: "{{ probe_private_key }}"
  register: probe

- name: Tell the server's capture that the probe is done
  ansible.builtin.file:
    path: /run/wgdoctor-probe.stop
    state: touch
    mode: "0600"
  delegate_to: server

- name: Collect what the server saw
  ansible.builtin.async_status:
    jid: "{{ listener.ansible_job_id }}"
  register: seen
  until: seen.finished
  retries: 20
  delay: 1
  delegate_to: server

- name: Ask a DNS server something (not WireGuard)
  wgdoctor.wireguard.udp_probe:
    mode: raw
    host: 192.0.2.53
    port: 53
    payload_hex: "12340100000100000000000003777777076578616d706c6503636f6d0000010001"
'''

RETURN = r'''
outcome:
  description: V(ok), V(auth_failed), V(cookie), V(refused), V(unreachable), V(timeout) or V(error); V(listened) in O(mode=listen).
  returned: always
  type: str
  sample: ok
rtt_ms:
  description: Milliseconds from sending the last attempt to its answer or ICMP error; null on timeout.
  returned: when O(mode) is not V(listen)
  type: float
  sample: 0.6
attempts:
  description: Datagrams sent (a cookie reply earns one more).
  returned: when O(mode) is not V(listen)
  type: int
  sample: 1
local_address:
  description: Source address the kernel chose.
  returned: when O(mode) is not V(listen)
  type: str
  sample: 10.200.1.1
local_port:
  description: Source port used.
  returned: when O(mode) is not V(listen)
  type: int
  sample: 40512
backend:
  description: Crypto backend that ran (V(pynacl), V(cryptography) or V(pure)).
  returned: when O(mode=wireguard)
  type: str
  sample: pynacl
detail:
  description: What the outcome means here, in words.
  returned: always
  type: str
  sample: handshake response verified and decrypted
target:
  description: Where the probe went.
  returned: when O(mode) is not V(listen)
  type: dict
  sample: {"host": "vpn.example.org", "address": "198.51.100.10", "port": 51820}
initiator_public_key:
  description: Public key of the key the probe used, to match the responder's peer list.
  returned: when O(mode=wireguard)
  type: str
  sample: "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="
sender_index:
  description: The sender index every initiation of this probe carried (random per probe), as the responder's capture reports it.
  returned: when O(mode=wireguard)
  type: int
  sample: 3735928559
reply:
  description: Hex of the first 256 bytes of the reply.
  returned: when O(mode=raw) and a reply arrived
  type: str
  sample: "1234818000010001"
initiations:
  description: Handshake initiations seen, one entry per source address, port and sender index (no sender index with tcpdump).
  returned: when O(mode=listen)
  type: list
  elements: dict
  sample: [{"source_address": "10.200.1.1", "source_port": 40512, "sender_index": 3735928559, "count": 2,
            "first_seen": 1764085000.1, "last_seen": 1764085000.2}]
stopped:
  description: V(signal) when the capture stopped because O(stop_file) appeared, V(deadline) when O(duration) ran out first.
  returned: when O(mode=listen)
  type: str
  sample: signal
count:
  description: Total initiations seen.
  returned: when O(mode=listen)
  type: int
  sample: 2
method:
  description: Capture method used, V(af_packet) or V(tcpdump).
  returned: when O(mode=listen)
  type: str
  sample: af_packet
'''

import binascii
import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard import crypto as wg_crypto
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard import keys as wg_keys
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.wireguard import noise as wg_noise
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.host import capture as wg_capture
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.host import probe as wg_probe


@t.overload
def _read_key(module: AnsibleModule, name: str, required: t.Literal[True]) -> bytes:
    ...


@t.overload
def _read_key(module: AnsibleModule, name: str, required: t.Literal[False]) -> bytes | None:
    ...


def _read_key(module: AnsibleModule, name: str, required: bool) -> bytes | None:
    """Decode a key given inline or by path; errors name the option or the file, never the key."""
    text, path = module.params[name], module.params[name + "_path"]
    if path:
        try:
            with open(path, "r") as handle:
                text = handle.read()
        except (IOError, OSError) as exc:
            module.fail_json(msg="cannot read %s_path %s: %s" % (name, path, exc.strerror))
    if text is None:
        if required:
            module.fail_json(msg="mode=wireguard needs private_key or private_key_path")
        return None
    try:
        return wg_keys.decode_key(text)
    except wg_keys.KeyFormatError as exc:
        where = "file %s" % path if path else "option %s" % name
        module.fail_json(msg="%s does not hold a WireGuard key: %s" % (where, exc))
    return None


def _public_key(module: AnsibleModule) -> bytes:
    text = module.params["responder_public_key"]
    if not text:
        module.fail_json(msg="mode=wireguard needs responder_public_key")
    try:
        return wg_keys.decode_key(text)
    except wg_keys.KeyFormatError as exc:
        module.fail_json(msg="responder_public_key is not a WireGuard key: %s" % exc)
    return b""


def _payload(module: AnsibleModule) -> bytes:
    if module.params["payload_hex"] is not None:
        try:
            return binascii.unhexlify("".join(module.params["payload_hex"].split()))
        except (binascii.Error, ValueError):
            module.fail_json(msg="payload_hex is not hexadecimal")
    return (module.params["payload"] or "").encode("utf-8")


def _run_probe(module: AnsibleModule) -> dict[str, t.Any]:
    params = module.params
    if not params["host"]:
        module.fail_json(msg="mode=%s needs host" % params["mode"])
    timing = dict(timeout=params["timeout"], retries=params["retries"], source_port=params["source_port"])
    family, sockaddr = wg_probe.resolve(params["host"], params["port"])
    target = {"host": params["host"], "address": sockaddr[0], "port": params["port"]}
    if params["mode"] == "raw":
        result = wg_probe.probe_raw(sockaddr[0], params["port"], _payload(module), **timing)
        result.pop("backend")
    else:
        responder_public = _public_key(module)
        static_private = _read_key(module, "private_key", required=True)
        preshared_key = _read_key(module, "preshared_key", required=False)
        initiator = wg_noise.Initiator(static_private, responder_public, preshared_key)
        result = wg_probe.probe_wireguard(sockaddr[0], params["port"], initiator, **timing)
        result["initiator_public_key"] = wg_keys.encode_key(initiator.static_public)
        result["sender_index"] = initiator.sender_index
    result["target"] = target
    return result


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            mode=dict(type="str", default="wireguard", choices=["wireguard", "raw", "listen"]),
            host=dict(type="str"),
            port=dict(type="int", required=True),
            responder_public_key=dict(type="str", no_log=False),
            private_key=dict(type="str", no_log=True),
            private_key_path=dict(type="path"),
            preshared_key=dict(type="str", no_log=True),
            preshared_key_path=dict(type="path", no_log=False),
            timeout=dict(type="float", default=1.0),
            retries=dict(type="int", default=1),
            source_port=dict(type="int"),
            payload=dict(type="str"),
            payload_hex=dict(type="str"),
            duration=dict(type="float", default=10.0),
            interface=dict(type="str"),
            listen_method=dict(type="str", default="auto", choices=["auto", "af_packet", "tcpdump"]),
            ready_file=dict(type="path"),
            stop_file=dict(type="path"),
        ),
        mutually_exclusive=[["private_key", "private_key_path"], ["preshared_key", "preshared_key_path"],
                            ["payload", "payload_hex"]],
        supports_check_mode=True,
    )
    params = module.params
    if not 1 <= params["port"] <= 65535:
        module.fail_json(msg="port %d is out of range 1-65535" % params["port"])
    if params["source_port"] is not None and not 1 <= params["source_port"] <= 65535:
        module.fail_json(msg="source_port %d is out of range 1-65535" % params["source_port"])
    if params["timeout"] <= 0 or params["retries"] < 0 or params["duration"] <= 0:
        module.fail_json(msg="timeout and duration must be positive and retries not negative")
    try:
        if params["mode"] == "listen":
            result = wg_capture.listen_initiations(params["port"], params["duration"], params["interface"],
                                                   params["listen_method"], module.get_bin_path("tcpdump"),
                                                   params["ready_file"], params["stop_file"])
        else:
            result = _run_probe(module)
    except (wg_probe.ProbeError, wg_capture.CaptureError) as exc:
        module.fail_json(msg=str(exc))
    except wg_crypto.BackendUnavailable as exc:
        module.fail_json(msg=str(exc))
    except OSError as exc:
        # Whatever the socket layer raises beyond what the probe classifies: a message, not a traceback.
        module.fail_json(msg="udp_probe could not run: %s" % (exc.strerror or exc))
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
