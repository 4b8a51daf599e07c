# -*- coding: utf-8 -*-
# Copyright (c) 2026, wgdoctor maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The dict contracts between the targets and the controller, typed in one place.

Targets produce facts (wg_facts, docs/facts.md) and firewall verdicts; the controller
reads them and produces probe and ping records, findings, remedies and the report
(docs/findings.md). This is the lowest layer: both sides import it, so it imports
nothing but ``typing`` and the firewall verdict types (firewall/verdict.py, which imports
only ``typing``: they live beside the readers so that a module reading a firewall ships
those few types to the target, not this whole file), and it must import on every
target Python ansible-core supports (3.9+: hence no ``typing.NotRequired``; keys that may
be absent live in a ``total=False`` subclass of the keys that are always there).

``X | None`` means the key is always present and may be null (docs/facts.md: "unknown
values are null, never absent"); a key in a ``total=False`` class may be missing.
"""
from __future__ import annotations

import typing as t

# The firewall's part of the contract (verdicts, masquerade, summaries) is typed in firewall/verdict.py.
from ansible_collections.wgdoctor.wireguard.plugins.module_utils.firewall.verdict import FirewallSummary, InterfaceFirewall


# ---------------------------------------------------------------- facts (docs/facts.md, schema 1)

class Tools(t.TypedDict):
    wg: str | None
    wg_quick: bool
    wireguard_go: str | None


class Address(t.TypedDict):
    interface: str
    address: str
    prefixlen: int | None
    family: int  # 4 or 6
    dynamic: bool


class Uplink(t.TypedDict):
    interface: str  # the default route's dev
    family: int  # 4 or 6
    via: str | None


class Forwarding(t.TypedDict):
    ipv4: bool | None
    ipv6: bool | None


class _ClockBase(t.TypedDict):
    epoch: float
    ntp_synchronized: bool | None


class Clock(_ClockBase, total=False):
    """controller_epoch: the controller's clock when the facts arrived (wg_facts' action plugin); absent in facts
    gathered without it. The clock_skew rule compares each end's offset from it, not the ends' raw clocks."""
    controller_epoch: float


class ParseError(t.TypedDict):
    file: str
    line: int  # 0: the file as a whole (unreadable)
    reason: str


class Hooks(t.TypedDict):
    pre_up: bool
    post_up: bool
    pre_down: bool
    post_down: bool


class _ConfigEndpointBase(t.TypedDict):
    raw: str
    host: str
    port: int
    is_hostname: bool


class ConfigEndpoint(_ConfigEndpointBase, total=False):
    """`resolved` / `resolve_error` are filled in by wg_facts' resolution step only."""
    resolved: list[str] | None
    resolve_error: str | None


class ConfigPeer(t.TypedDict):
    public_key: str | None  # None: the [Peer] section has no (valid) PublicKey
    line: int  # line of the [Peer] header
    endpoint: ConfigEndpoint | None
    allowed_ips: list[str]
    persistent_keepalive: int | None
    has_preshared_key: bool
    preshared_key_digest: str | None


class ConfigFacts(t.TypedDict):
    path: str
    exists: bool
    parse_errors: list[ParseError]
    address: list[str]
    listen_port: int | None
    fwmark: int | None
    mtu: int | None
    table: str | None
    dns: list[str]
    save_config: bool
    hooks: Hooks
    has_private_key: bool
    public_key: str | None
    peers: list[ConfigPeer]


class RuntimeEndpoint(t.TypedDict):
    raw: str
    host: str
    port: int


class RuntimePeer(t.TypedDict):
    public_key: str
    endpoint: RuntimeEndpoint | None
    allowed_ips: list[str]
    latest_handshake: int | None  # Unix seconds; None: never
    latest_handshake_age: int | None
    transfer_rx: int
    transfer_tx: int
    persistent_keepalive: int | None
    has_preshared_key: bool
    preshared_key_digest: str | None


class RuntimeFacts(t.TypedDict):
    up: bool
    public_key: str | None
    has_private_key: bool
    listen_port: int
    fwmark: int | None
    peers: list[RuntimePeer]


class Drift(t.TypedDict):
    field: str
    peer: str | None
    config: t.Any
    runtime: t.Any


class Unit(t.TypedDict):
    name: str
    enabled: bool
    active: str | None


class Reresolve(t.TypedDict):
    method: str  # "systemd timer" or "cron"
    unit: str
    active: bool


class Listening(t.TypedDict):
    port: int | None
    bound: bool | None


class Route(t.TypedDict):
    dev: str | None
    via: str | None
    table: str


class DnsLine(t.TypedDict):
    line: int  # in the interface's config file
    text: str


class PortHolder(t.TypedDict):
    address: str
    process: str | None  # None: a kernel socket (kernel WireGuard's has no owning process)
    pid: int | None
    wireguard_interface: str | None  # the interface a wireguard-go / boringtun holder serves


class StartLog(t.TypedDict):
    source: str  # the command: "journalctl -u wg-quick@IF -n 200 --no-pager" or "wg-quick strip FILE"
    rc: int | None
    outcome: str | None  # journal: how the last start ended: failed, started, starting; None: the dry run, or no start seen
    lines: list[str]  # keys redacted


class StartFacts(t.TypedDict):
    """What `wg-quick up` trips over, for an interface that is not running (docs/facts.md)."""
    dns_lines: list[DnsLine]
    resolvconf: str | None  # path; None: not on PATH
    resolvectl: str | None
    port_holders: list[PortHolder] | None  # None: the socket table could not be read
    log: StartLog | None


class _InterfaceFactsBase(t.TypedDict):
    name: str
    config: ConfigFacts
    runtime: RuntimeFacts | None  # None: `wg show` does not list the interface
    drift: list[Drift]
    unit: Unit | None  # None without systemd
    reresolve: Reresolve | None  # None: nothing re-resolves hostname Endpoints
    listening: Listening
    routes: dict[str, Route | None]
    firewall: InterfaceFirewall | None  # None when the firewall could not be read


class InterfaceFacts(_InterfaceFactsBase, total=False):
    """`start` is always there from today's wg_facts; facts of an older one lack it."""
    start: StartFacts | None  # None: the interface runs, or it has no config file


class KeypairCheck(t.TypedDict, total=False):
    """A public-key file beside a config (wg0.pub, publickey) against the key the private key derives
    (module_utils/host/stored_keys.py). public_key is None when the file holds no key or the private key:
    `problem` says which."""
    interface: str | None
    source: str
    public_key: str | None
    derived_public_key: str | None
    match: bool | None
    problem: str | None


class MonitorPeer(t.TypedDict):
    """One peer in the state file of wgdoctor.wireguard.monitor's check."""
    interface: str
    public_key: str
    state: t.Literal["up", "failing", "down"]  # down: the outage was alerted (`failures` checks in a row failed)
    failures: int  # consecutive failed checks
    alerted: bool
    last_check: int | None  # Unix seconds, the host's clock
    failing_since: int | None
    reasons: list[str]


class MonitorFacts(t.TypedDict):
    """wgdoctor.wireguard.monitor on an end (docs/facts.md `monitor`)."""
    installed: bool
    scheduler: t.Literal["systemd timer", "cron"] | None  # None: not installed, or nothing runs the check
    active: bool | None  # the systemd timer; None: cron, or not known
    state_file: str
    last_run: int | None
    peers: list[MonitorPeer]
    error: str | None  # the state file could not be read: the file and why


class _FactsBase(t.TypedDict):
    schema: int
    hostname: str
    implementation: t.Literal["kernel", "wireguard-go", "boringtun", "none"]
    tools: Tools
    errors: list[str]
    addresses: list[Address]
    forwarding: Forwarding
    clock: Clock
    firewall: FirewallSummary | None
    interfaces: dict[str, InterfaceFacts]


class CloudInstance(t.TypedDict):
    id: str
    subnet_id: str | None
    vpc_id: str | None
    public_ip: str | None
    private_ip: str | None
    group_ids: list[str]


class CloudFacts(t.TypedDict):
    """The cloud firewall in front of an end, read on the controller (docs/cloud.md): the groups and the ACL
    as the amazon.aws info modules return them (snake_case), judged by plugin_utils/cloud_aws."""
    provider: t.Literal["aws"]
    region: str | None
    instance_id: str | None
    instance: CloudInstance | None
    security_groups: list[dict[str, t.Any]] | None
    network_acl: dict[str, t.Any] | None
    prefix_lists: dict[str, list[str]]  # prefix list id -> its CIDRs (not read yet: always empty)
    allowed_cidrs: list[str]  # wg_cloud_allowed_cidrs: sources for initiators nobody knows
    error: str | None  # also one of the end's `errors`: the report is incomplete


class Facts(_FactsBase, total=False):
    """ansible_facts.wireguard of one end.

    `uplinks` is always there from today's wg_facts; facts of an older one lack it.
    `keypair_checks`: the public-key files beside each config; facts of an older wg_facts lack it.
    `cloud` is added on the controller for an end that opted in to the cloud firewall check (issue #14).
    `monitor` is always there from today's wg_facts; facts of an older one lack it."""
    uplinks: list[Uplink]
    keypair_checks: list[KeypairCheck]
    cloud: CloudFacts
    monitor: MonitorFacts


# ---------------------------------------------------------------- probe and ping records

class ProbeTarget(t.TypedDict):
    host: str
    port: int


class ProbeRecord(t.TypedDict):
    """One handshake probe joined with what the responder's capture saw."""
    initiator: str
    responder: str
    interface: str  # the responder's interface
    peer: str  # the responder's public key
    target: ProbeTarget
    vantage: str  # the initiator's hostname, or "controller"
    outcome: str  # udp_probe's outcome: ok, timeout, refused, unreachable, auth_failed, error, ...
    rtt_ms: float | None
    attempts: int | None
    arrived: int | None  # initiations the responder's capture saw; None: no capture
    error: str | None


# "from" is a keyword: the functional form is the only way to spell this key.
_PingRecordBase = t.TypedDict("_PingRecordBase", {
    "from": str,
    "to": str,
    "address": str,  # the tunnel address pinged
    "ok": bool,
    "loss": t.Optional[float],  # 0.0 .. 1.0; None: the ping output could not be read
})


class PingRtt(t.TypedDict):
    min: float
    avg: float
    max: float


class PingRecord(_PingRecordBase, total=False):  # pylint: disable=inherit-non-class  # functional TypedDict: a class
    """One ping through a tunnel. The diagnosis reads only the keys above; these are for a human."""
    interface: str | None  # the sending end's interface (`ping -I`)
    transmitted: int | None
    received: int | None
    errors: int | None
    rtt_ms: PingRtt | None
    error: str | None  # why there is no `loss`, e.g. ping's own error message
    output: str  # the last lines of ping's output


class MtuUnderlay(t.TypedDict):
    """The DF bisection outside the tunnel, to the peer's endpoint: the underlay path MTU when ICMP answers."""
    address: str | None
    interface: str | None  # the device the route to the endpoint leaves by
    mtu: int | None  # that device's MTU
    largest: int | None  # largest DF ping payload that crossed; None: none did (not measurable)
    error: str | None


# "from" is a keyword, as in the ping record.
_MtuRecordBase = t.TypedDict("_MtuRecordBase", {
    "from": str,
    "to": str,
    "address": str,  # the tunnel address pinged
    "interface": str,  # the sending end's interface (`ping -I`)
    "mtu": t.Optional[int],  # that interface's MTU (ip link); None: not read
    "largest": t.Optional[int],  # largest DF ping payload that crossed; None: not even the smallest
})


class MtuRecord(_MtuRecordBase, total=False):  # pylint: disable=inherit-non-class  # functional TypedDict: a class
    """One don't-fragment bisection through a tunnel (playbooks/phases/path_mtu.yml, issue #16)."""
    smallest_lost: int | None  # the smallest payload that did not cross; None: every size tried crossed
    probes: int  # pings sent
    seconds: float
    complete: bool  # False: the time bound stopped the bisection, `largest` is a lower bound
    underlay: MtuUnderlay | None
    error: str | None


# ---------------------------------------------------------------- findings, remedies, report

Severity = t.Literal["critical", "error", "warning", "info"]


class Remedy(t.TypedDict):
    role: str  # FQCN: wgdoctor.wireguard.<role>
    host: str
    vars: dict[str, t.Any]  # validated by the role's meta/argument_specs.yml


class _FindingBase(t.TypedDict):
    code: str
    severity: Severity
    host: str | None
    interface: str | None
    peer: str | None  # the other end's public key
    summary: str
    evidence: list[str]
    remedy: Remedy | None  # None: only a person can fix it


class Finding(_FindingBase, total=False):
    """A finding as the report carries it; symptoms also say what explains them, and so does
    udp_blocked_upstream when the cloud firewall explains it."""
    follows_from: list[str]


class Unchecked(t.TypedDict):
    host: str | None
    what: str


class _TunnelSideBase(t.TypedDict):
    host: str
    interface: str
    public_key: str | None
    peer: str | None  # the key this end's entry for the other end holds
    peer_matched_by: str | None  # keys, endpoint, allowed_ips


class SideMonitor(t.TypedDict):
    """What wgdoctor.wireguard.monitor on this end last said of the other end."""
    installed: bool
    scheduler: str | None
    state: t.Literal["up", "failing", "down"] | None  # None: not installed, or the check has not recorded this peer
    failures: int | None
    last_check_age: int | None  # seconds from that check to the facts
    error: str | None


class TunnelSide(_TunnelSideBase, total=False):
    """`monitor` is None when the end's facts do not say (an older wg_facts)."""
    monitor: SideMonitor | None


class Tunnel(t.TypedDict):
    a: TunnelSide
    b: TunnelSide
    matched_by: t.Literal["keys", "endpoint"]
    initiators: list[str]
    responder: str | None
    latest_handshake_age: int | float | None


class OutsidePeer(t.TypedDict):
    host: str
    interface: str
    public_key: str | None
    endpoint: str | None


class _ReportBase(t.TypedDict):
    schema: int
    generated: str  # ISO 8601, UTC, "Z"
    tunnels: list[Tunnel]
    outside_peers: list[OutsidePeer]
    unchecked: list[Unchecked]
    findings: list[Finding]
    healthy: bool


class Report(_ReportBase, total=False):
    """diagnosis.diagnose's return value; the playbook adds the records it diagnosed from."""
    incomplete: bool  # something was not checked (issue #11: then the report is not healthy)
    probes: list[ProbeRecord]
    pings: list[PingRecord]
    mtu: list[MtuRecord]


FactsByHost = t.Dict[str, Facts]
