"""Every remedy the diagnosis emits is one its role accepts, and names what the fix acts on.

The remedies are not written by hand here: they are what the diagnosis emits for every fault
the diagnosis tests build (tests/unit/diagnosis: diagnosis_facts breaks a healthy tunnel one
cause at a time). Each of those tests is run once more with the diagnosis recorded, and each
fault is diagnosed a second time with both ends' interfaces renamed away from `wg0` and the
port moved away from 51820, so that a remedy leaning on a role's default name or port cannot
pass by luck. Each remedy's `vars` then go through the role's meta/argument_specs.yml with
ansible's own validator, as `include_role` would.
"""
from __future__ import annotations

import ast
import copy
import importlib
import inspect
import json
import os
import sys
import typing as t

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.wgdoctor.wireguard.plugins.module_utils import contracts
from ansible_collections.wgdoctor.wireguard.plugins.plugin_utils import diagnosis

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
DIAGNOSIS_TESTS = os.path.join(REPO, "tests", "unit", "diagnosis")
DIAGNOSIS_CODE = os.path.join(REPO, "plugins", "plugin_utils", "diagnosis")
if DIAGNOSIS_TESTS not in sys.path:
    sys.path.insert(0, DIAGNOSIS_TESTS)

import diagnosis_facts  # noqa: E402  pylint: disable=wrong-import-position

ROLE_PREFIX = "wgdoctor.wireguard."
# Names and port of the second diagnosis of every fault: nothing in the roles defaults to them.
RENAMED_PORT = 51999
DEFAULT_NAME, DEFAULT_PORT = "wg0", 51820


def renamed_interface(host: str) -> str:
    return ("wgd" + "".join(c for c in host if c.isalnum()))[:15]


# The variable of each role that names the WireGuard interface it changes. The roles default it
# to wg0, so a remedy that leaves it out fixes wg0 whatever interface the finding is about.
INTERFACE_VARIABLE = {
    "peer": "peer_interface",
    "service": "service_interface",
    "keepalive": "keepalive_interface",
    "firewall": "firewall_interface",
}

# Known defects: the finding codes whose remedy a check below rejects. Strict: when the diagnosis
# is fixed the case passes, the xfail fails, and the code must be taken off the list here.
REJECTED_BY_ARGUMENT_SPECS: dict[str, str] = {}
LEANS_ON_A_DEFAULT: dict[str, str] = dict(REJECTED_BY_ARGUMENT_SPECS)


# ---------------------------------------------------------------- collecting what the diagnosis emits

class Diagnosed(t.NamedTuple):
    source: str  # the diagnosis test that built the fault
    variant: str  # "as built" or "renamed"
    facts: dict
    report: dict


def _rename_facts(facts_by_host: dict) -> dict:
    """The same hosts with their interface wg0 renamed per host and port 51820 moved."""
    renamed = {}
    for host, facts in facts_by_host.items():
        text = json.dumps(facts)
        text = text.replace(DEFAULT_NAME, renamed_interface(str(host))).replace(str(DEFAULT_PORT), str(RENAMED_PORT))
        renamed[host] = json.loads(text)
    return renamed


def _rename_probes(probes: list) -> list:
    renamed = copy.deepcopy(probes or [])
    for probe in renamed:
        if probe.get("interface") == DEFAULT_NAME:
            probe["interface"] = renamed_interface(str(probe.get("responder")))
        target = probe.get("target") or {}
        if target.get("port") == DEFAULT_PORT:
            target["port"] = RENAMED_PORT
    return renamed


def _rename_mtu_records(records: t.Optional[list]) -> t.Optional[list]:
    """The DF bisections (issue #16) of the renamed ends: each leaves by its sender's renamed interface."""
    renamed = copy.deepcopy(records)
    for record in renamed or []:
        if isinstance(record, dict) and record.get("interface") == DEFAULT_NAME:
            record["interface"] = renamed_interface(str(record.get("from")))
    return renamed


def _collect() -> list[Diagnosed]:
    real_diagnose = diagnosis.diagnose
    diagnosed: list[Diagnosed] = []
    source = [""]

    def recording(facts_by_host, probes, pings, unreachable, now, mtu_records=None):
        as_built = copy.deepcopy(facts_by_host)
        report = real_diagnose(facts_by_host, probes, pings, unreachable, now, mtu_records=mtu_records)
        diagnosed.append(Diagnosed(source[0], "as built", as_built, copy.deepcopy(report)))
        if isinstance(as_built, dict) and all(isinstance(f, dict) for f in as_built.values()):
            renamed = _rename_facts(as_built)
            diagnosed.append(Diagnosed(source[0], "renamed", copy.deepcopy(renamed),
                                       real_diagnose(renamed, _rename_probes(probes), copy.deepcopy(pings), unreachable, now,
                                                     mtu_records=_rename_mtu_records(mtu_records))))
        return report

    for filename in sorted(os.listdir(DIAGNOSIS_TESTS)):
        if not (filename.startswith("test_") and filename.endswith(".py")):
            continue
        module = importlib.import_module(filename[:-3])
        patched = [m for m in (diagnosis_facts, module) if getattr(m, "diagnose", None) is real_diagnose]
        for name, function in sorted(vars(module).items()):
            if not name.startswith("test_") or not inspect.isfunction(function):
                continue
            parameters = set(inspect.signature(function).parameters)
            if parameters - {"facts"} or hasattr(function, "hypothesis"):
                continue  # parametrized, fixture-driven or generated (junk) facts: no fault of their own
            source[0] = "%s::%s" % (filename, name)
            for target in patched:
                setattr(target, "diagnose", recording)
            try:
                function(**({"facts": diagnosis_facts.healthy_facts()} if parameters else {}))
            except Exception:  # pylint: disable=broad-except
                pass  # whether that test passes is its own suite's verdict; what the diagnosis emitted is recorded
            finally:
                for target in patched:
                    setattr(target, "diagnose", real_diagnose)
    return diagnosed


DIAGNOSED = _collect()


class RemedyCase(t.NamedTuple):
    source: str
    variant: str
    finding: dict
    facts: dict
    report: dict

    @property
    def role(self) -> str:
        return self.finding["remedy"]["role"][len(ROLE_PREFIX):]


def _remedy_cases(known_defects: dict) -> list:
    """One case per distinct remedy (per variant): the first test that produced it names it."""
    seen = set()
    cases = []
    for item in DIAGNOSED:
        for finding in item.report["findings"]:
            if not finding.get("remedy"):
                continue
            key = (item.variant, finding["code"], finding["host"], json.dumps(finding["remedy"], sort_keys=True))
            if key in seen:
                continue
            seen.add(key)
            case = RemedyCase(item.source, item.variant, finding, item.facts, item.report)
            marks = []
            if finding["code"] in known_defects:
                marks.append(pytest.mark.xfail(strict=True, reason=known_defects[finding["code"]]))
            cases.append(pytest.param(case, marks=marks, id="%s-%s-%s-%s" % (
                finding["code"], item.variant.replace(" ", "_"), finding["host"], item.source.split("::")[-1])))
    return cases


REMEDY_CASES = _remedy_cases({})


def _argument_spec(role: str) -> dict:
    with open(os.path.join(REPO, "roles", role, "meta", "argument_specs.yml")) as handle:
        return yaml.safe_load(handle)["argument_specs"]["main"]["options"]


# ---------------------------------------------------------------- what the fix acts on

def _other_end_interface(case: RemedyCase, other_host: str) -> str | None:
    """The interface of other_host in the tunnel of the finding's end, from the report's pairing."""
    for tunnel in case.report["tunnels"]:
        ends = (tunnel["a"], tunnel["b"])
        for end, other in (ends, ends[::-1]):
            if (end["host"], end["interface"]) == (case.finding["host"], case.finding["interface"]) \
                    and other["host"] == other_host:
                return other["interface"]
    return None


def _listen_port(case: RemedyCase) -> int | None:
    interface = case.facts[case.finding["host"]]["interfaces"][case.finding["interface"]]
    return (interface.get("listening") or {}).get("port") or (interface.get("config") or {}).get("listen_port")


def _unmet_needs(case: RemedyCase) -> list[str]:
    """What the role needs for this finding that the remedy leaves to a default or gets wrong."""
    variables = case.finding["remedy"]["vars"]
    unmet = []
    interface_variable = INTERFACE_VARIABLE.get(case.role)
    if interface_variable and variables.get(interface_variable) != case.finding["interface"]:
        unmet.append("%s is %r, the finding is about interface %r" % (
            interface_variable, variables.get(interface_variable), case.finding["interface"]))
    if case.role == "firewall" and variables.get("firewall_port") != _listen_port(case):
        unmet.append("firewall_port is %r, %s listens on %r" % (
            variables.get("firewall_port"), case.finding["interface"], _listen_port(case)))
    if case.role == "firewall" and variables.get("firewall_masquerade_source") \
            and not variables.get("firewall_masquerade_interface"):
        unmet.append("firewall_masquerade_source without firewall_masquerade_interface")
    if variables.get("peer_preshared_key_from_host"):
        wanted = _other_end_interface(case, variables["peer_preshared_key_from_host"])
        if wanted is None or variables.get("peer_preshared_key_from_interface") != wanted:
            unmet.append("peer_preshared_key_from_interface is %r, %s's end of the tunnel is %r" % (
                variables.get("peer_preshared_key_from_interface"), variables["peer_preshared_key_from_host"], wanted))
    return unmet


# ---------------------------------------------------------------- the tests

def test_the_diagnosis_tests_were_replayed_and_diagnosed_twice():
    sources = set(item.source for item in DIAGNOSED)
    assert len(sources) >= 40, sources
    assert any(item.variant == "renamed" for item in DIAGNOSED)


def _codes_with_a_remedy_in_the_code() -> set:
    """Codes of every make_finding(...) call in the diagnosis that passes a remedy other than None."""
    codes = set()
    for filename in os.listdir(DIAGNOSIS_CODE):
        if not filename.endswith(".py"):
            continue
        with open(os.path.join(DIAGNOSIS_CODE, filename)) as handle:
            tree = ast.parse(handle.read())
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "make_finding"):
                continue
            remedy = [k.value for k in node.keywords if k.arg == "remedy"]
            if remedy and not (isinstance(remedy[0], ast.Constant) and remedy[0].value is None) \
                    and node.args and isinstance(node.args[0], ast.Constant):
                codes.add(node.args[0].value)
    return codes


def test_every_code_that_can_carry_a_remedy_is_among_the_cases():
    in_code = _codes_with_a_remedy_in_the_code()
    assert "udp_blocked_host_firewall" in in_code and "preshared_key_mismatch" in in_code  # the parser sees them
    for variant in ("as built", "renamed"):
        emitted = set(case.values[0].finding["code"] for case in REMEDY_CASES if case.values[0].variant == variant)
        assert in_code - emitted == set(), "no diagnosis test builds a fault whose remedy is %s (%s)" % (
            sorted(in_code - emitted), variant)


@pytest.mark.parametrize("case", _remedy_cases(REJECTED_BY_ARGUMENT_SPECS))
def test_remedy_vars_pass_the_role_argument_specs(case: RemedyCase):
    remedy = case.finding["remedy"]
    assert remedy["role"].startswith(ROLE_PREFIX)
    assert os.path.isdir(os.path.join(REPO, "roles", case.role)), remedy["role"]
    result = ArgumentSpecValidator(_argument_spec(case.role)).validate(
        copy.deepcopy(remedy["vars"]), validate_role_argument_spec=True)
    assert result.error_messages == []
    # A value the validator had to convert ("51820" for an int) is the wrong type already.
    for name, value in remedy["vars"].items():
        assert type(result.validated_parameters[name]) is type(value), (name, value)


@pytest.mark.parametrize("case", _remedy_cases(LEANS_ON_A_DEFAULT))
def test_remedy_names_what_its_fix_acts_on(case: RemedyCase):
    assert _unmet_needs(case) == []


@pytest.mark.parametrize("case", REMEDY_CASES)
def test_remedy_has_the_keys_of_its_typed_contract(case: RemedyCase):
    remedy = case.finding["remedy"]
    assert set(remedy) == set(contracts.Remedy.__required_keys__) | set(contracts.Remedy.__optional_keys__)
    assert isinstance(remedy["host"], str) and isinstance(remedy["vars"], dict)
    assert remedy["host"] in case.facts


def _assert_typed_keys(value: dict, typed: t.Any, where: str) -> None:
    keys = set(value)
    assert set(typed.__required_keys__) <= keys, "%s lacks %s" % (where, sorted(set(typed.__required_keys__) - keys))
    allowed = set(typed.__required_keys__) | set(typed.__optional_keys__)
    assert keys <= allowed, "%s has keys its contract does not name: %s" % (where, sorted(keys - allowed))


def test_every_report_has_the_keys_of_its_typed_contract():
    for item in DIAGNOSED:
        where = "%s (%s)" % (item.source, item.variant)
        _assert_typed_keys(item.report, contracts.Report, "report of " + where)
        for finding in item.report["findings"]:
            _assert_typed_keys(finding, contracts.Finding, "finding %s of %s" % (finding["code"], where))
            assert finding["severity"] in t.get_args(contracts.Severity)
        for tunnel in item.report["tunnels"]:
            _assert_typed_keys(tunnel, contracts.Tunnel, "tunnel of " + where)
            for side in (tunnel["a"], tunnel["b"]):
                _assert_typed_keys(side, contracts.TunnelSide, "tunnel side of " + where)
        for unchecked in item.report["unchecked"]:
            _assert_typed_keys(unchecked, contracts.Unchecked, "unchecked of " + where)
        for outside in item.report["outside_peers"]:
            _assert_typed_keys(outside, contracts.OutsidePeer, "outside peer of " + where)


def test_a_symptom_says_what_explains_it():
    symptoms = [f for item in DIAGNOSED for f in item.report["findings"] if f["code"] in ("handshake_never", "tunnel_ping_fails")]
    assert symptoms and all(isinstance(f["follows_from"], list) for f in symptoms)
