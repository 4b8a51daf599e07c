"""The Ansible versions the collection states agree with each other and with what CI runs.

meta/runtime.yml's requires_ansible, every role's min_ansible_version and the README's
requirement name the same minimum; the README's tested matrix names exactly the versions
scripts/bootstrap.sh installs for `make test` (constraints-py312.txt on Python 3.12, the
ansible-core 2.19 range on Python 3.11), and every tested ansible-core is one the collection
accepts, with the sanity ignore file ansible-test looks for.
"""
from __future__ import annotations

import os
import re

import yaml
from packaging.specifiers import SpecifierSet
from packaging.version import Version

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def _read(*parts: str) -> str:
    with open(os.path.join(REPO, *parts), encoding="utf-8") as handle:
        return handle.read()


def _requires_ansible() -> SpecifierSet:
    return SpecifierSet(yaml.safe_load(_read("meta", "runtime.yml"))["requires_ansible"])


def _minimum() -> Version:
    (lower,) = [Version(spec.version) for spec in _requires_ansible() if spec.operator == ">="]
    return lower


def _readme_matrix() -> list[dict[str, str]]:
    text = _read("README.md")
    start = text.index("| Python (controller) | ansible-core |")
    rows = []
    for line in text[start:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        python, core, package, _when = [cell.strip() for cell in line.strip("|").split("|")]
        rows.append({"python": python, "ansible-core": core, "ansible": package})
    return rows


def _pins() -> dict[str, str]:
    pins = {}
    for line in _read("constraints-py312.txt").splitlines():
        name, sep, version = line.partition("==")
        if sep:
            pins[name.strip().lower()] = version.strip()
    return pins


def _bootstrap_fallback() -> dict[str, SpecifierSet]:
    match = re.search(r'^\s*constraints=\("ansible-core([^"]+)" "ansible([^"]+)"\)', _read("scripts", "bootstrap.sh"), re.M)
    assert match, "scripts/bootstrap.sh no longer pins the Python 3.11 fallback the way this test reads it"
    return {"ansible-core": SpecifierSet(match.group(1)), "ansible": SpecifierSet(match.group(2))}


def test_every_role_names_the_collection_minimum() -> None:
    minimum = "%d.%d" % (_minimum().major, _minimum().minor)
    roles = sorted(os.listdir(os.path.join(REPO, "roles")))
    assert roles
    for role in roles:
        meta = yaml.safe_load(_read("roles", role, "meta", "main.yml"))
        assert str(meta["galaxy_info"]["min_ansible_version"]) == minimum, role


def test_the_readme_states_the_same_minimum() -> None:
    minimum = "%d.%d" % (_minimum().major, _minimum().minor)
    assert re.search(r"Controller: ansible-core %s or newer" % re.escape(minimum), _read("README.md"))


def test_the_readme_matrix_is_what_bootstrap_installs_for_ci() -> None:
    rows = {row["python"]: row for row in _readme_matrix()}
    assert set(rows) == {"3.12", "3.11"}
    pins = _pins()
    assert rows["3.12"]["ansible-core"] == pins["ansible-core"]
    assert rows["3.12"]["ansible"] == pins["ansible"]
    fallback = _bootstrap_fallback()
    core_minor = rows["3.11"]["ansible-core"].split()[0]
    package_major = rows["3.11"]["ansible"].split()[0]
    # "2.19 (newest 2.19.x)": every 2.19.x and nothing else.
    assert fallback["ansible-core"] == SpecifierSet(">=%s,<2.%d" % (core_minor, int(core_minor.split(".")[1]) + 1))
    assert fallback["ansible"] == SpecifierSet(">=%s,<%d" % (package_major, int(package_major) + 1))


def test_the_oldest_tested_ansible_core_is_the_declared_minimum() -> None:
    rows = {row["python"]: row for row in _readme_matrix()}
    oldest = Version(rows["3.11"]["ansible-core"].split()[0])
    assert (oldest.major, oldest.minor) == (_minimum().major, _minimum().minor)


def test_every_tested_ansible_core_is_accepted_and_has_its_sanity_ignore_file() -> None:
    rows = {row["python"]: row for row in _readme_matrix()}
    tested = [Version(_pins()["ansible-core"]), Version("%s.0" % rows["3.11"]["ansible-core"].split()[0])]
    for version in tested:
        assert version in _requires_ansible(), version
        assert os.path.isfile(os.path.join(REPO, "tests", "sanity", "ignore-%d.%d.txt" % (version.major, version.minor)))
