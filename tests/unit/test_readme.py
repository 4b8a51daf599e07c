"""The README's commands work as written, in a fresh login shell, the way a new user types them.

"Use it on your hosts" is run block by block in `env -i bash -lc` (nothing inherited: no PATH to
.venv, no ANSIBLE_* variables, HOME a new empty directory) inside a copy of the checkout as a clone
has it, with the .venv the two set-up commands made. Only the harmless form of each run is
executed: `ansible-playbook` gets `--syntax-check` (no host is contacted), everything else (build,
install, ansible-doc) runs as written. The block that installs Ansible from PyPI is the one not
run (no network in the tests): its requirement is checked against the pinned versions instead.
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import typing as t

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.version import Version

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
README = os.path.join(REPO, "README.md")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)


def _section(title: str) -> str:
    with open(README, encoding="utf-8") as handle:
        text = handle.read()
    start = text.index("\n## %s\n" % title)
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else len(text)]


def _blocks(title: str) -> list[tuple[str, str]]:
    return [(match.group(1), match.group(2)) for match in FENCE.finditer(_section(title))]


def _commands(block: str) -> list[str]:
    return [line for line in block.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def _pinned(name: str) -> Version:
    with open(os.path.join(REPO, "constraints-py312.txt"), encoding="utf-8") as handle:
        for line in handle:
            if line.lower().startswith(name + "=="):
                return Version(line.split("==", 1)[1].strip())
    raise AssertionError("%s is not pinned in constraints-py312.txt" % name)


def _fresh_shell(script: str, cwd: str, home: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["env", "-i", "HOME=%s" % home, "LANG=C.UTF-8", "bash", "-lc", script],
                          cwd=cwd, capture_output=True, text=True, timeout=600, check=False)


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The checkout as a clone has it (files git knows, no .cache), plus the .venv bootstrap made."""
    root = tmp_path_factory.mktemp("readme")
    checkout, home = root / "wireguard", root / "home"
    home.mkdir()
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=REPO, capture_output=True, check=True).stdout.decode().split("\0")
    for rel in filter(None, listed):
        source = os.path.join(REPO, rel)
        if os.path.isfile(source):
            os.makedirs(os.path.join(checkout, os.path.dirname(rel)), exist_ok=True)
            shutil.copy2(source, os.path.join(checkout, rel))
    os.symlink(os.path.join(REPO, ".venv"), os.path.join(checkout, ".venv"))
    return {"checkout": str(checkout), "home": str(home)}


def test_the_user_section_says_root_inventory_and_output_before_the_developer_commands() -> None:
    with open(README, encoding="utf-8") as handle:
        text = handle.read()
    assert text.index("## Use it on your hosts") < text.index("## Develop and test")
    section = _section("Use it on your hosts")
    assert "root" in section and "become" in section
    kinds = [kind for kind, _body in _blocks("Use it on your hosts")]
    assert "ini" in kinds and "text" in kinds
    (inventory,) = [body for kind, body in _blocks("Use it on your hosts") if kind == "ini"]
    assert "[wireguard]" in inventory and "ansible_become=true" in inventory
    (sample,) = [body for kind, body in _blocks("Use it on your hosts") if kind == "text"]
    assert "WireGuard diagnosis" in sample and "Remedies" in sample


def test_the_own_ansible_install_asks_for_what_the_collection_needs() -> None:
    """Not run (PyPI), so checked: the pinned ansible satisfies it, and its ansible-core meets requires_ansible."""
    (block,) = [body for kind, body in _blocks("Use it on your hosts") if kind == "bash" and "pip install" in body]
    (spec,) = [word for line in _commands(block) for word in shlex.split(line, comments=True)
               if word.startswith("ansible")]
    requirement = Requirement(spec)
    assert requirement.name == "ansible"
    assert _pinned("ansible") in requirement.specifier
    with open(os.path.join(REPO, "meta", "runtime.yml"), encoding="utf-8") as handle:
        requires = yaml.safe_load(handle)["requires_ansible"]
    assert Requirement("ansible-core" + requires).specifier.contains(_pinned("ansible-core"))
    # The oldest ansible package the README allows must bring an ansible-core the collection accepts:
    # ansible N ships ansible-core 2.(N+7).
    oldest = min(Version(s.version) for s in requirement.specifier if s.operator in (">=", "=="))
    assert Requirement("ansible-core" + requires).specifier.contains("2.%d.0" % (oldest.major + 7))


def test_the_readme_commands_work_as_written_in_a_fresh_shell(clone: dict[str, str]) -> None:
    script = ["set -euo pipefail"]
    for kind, body in _blocks("Use it on your hosts"):
        if kind == "ini":
            # "a file named inventory"
            script.append("cat > inventory <<'INVENTORY'\n%sINVENTORY" % body)
        if kind != "bash" or "pip install" in body:
            continue
        for command in _commands(body):
            if command.lstrip().startswith("ansible-playbook "):
                command = command.split("#", 1)[0].rstrip() + " --syntax-check"
            script.append("echo %s" % shlex.quote("+ " + command))
            script.append(command)
    result = _fresh_shell("\n".join(script), clone["checkout"], clone["home"])
    assert result.returncode == 0, "%s\n%s" % (result.stdout[-4000:], result.stderr[-4000:])
    ran = [line for line in result.stdout.splitlines() if line.startswith("+ ")]
    assert sum("ansible-playbook wgdoctor.wireguard.diagnose" in line for line in ran) >= 3
    assert any("ansible-galaxy collection install" in line for line in ran)
    assert os.path.isfile(os.path.join(clone["home"], ".ansible", "collections", "ansible_collections",
                                       "wgdoctor", "wireguard", "MANIFEST.json"))
    assert "playbook: " in result.stdout  # what --syntax-check prints once the playbook resolved


def test_without_activation_a_fresh_shell_has_no_ansible(clone: dict[str, str]) -> None:
    """Why the README says to activate: a fresh shell does not find the checkout's Ansible by itself."""
    result = _fresh_shell("command -v ansible-playbook || echo none", clone["checkout"], clone["home"])
    if result.stdout.strip() != "none":
        pytest.fail("this machine has an ansible-playbook outside .venv (%s): the test no longer proves "
                    "that the README's activation is needed" % result.stdout.strip())


def test_the_readme_inventory_puts_both_ends_in_the_group_wireguard(clone: dict[str, str]) -> None:
    (inventory,) = [body for kind, body in _blocks("Use it on your hosts") if kind == "ini"]
    path = os.path.join(clone["home"], "inventory")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(inventory)
    result = _fresh_shell(". %s/.venv/bin/activate && ansible-inventory -i %s --list" % (REPO, path),
                          clone["home"], clone["home"])
    assert result.returncode == 0, result.stderr
    listed: dict[str, t.Any] = yaml.safe_load(result.stdout)
    hosts = listed["wireguard"]["hosts"]
    assert len(hosts) == 2
    # INI values stay strings; Ansible reads "true" as a boolean where it needs one.
    assert all(str(listed["_meta"]["hostvars"][host]["ansible_become"]).lower() == "true" for host in hosts)


def test_the_developer_commands_of_the_readme_exist() -> None:
    with open(README, encoding="utf-8") as handle:
        text = handle.read()
    for target in set(re.findall(r"`make (\w[\w-]*)`|^make (\w[\w-]*)", text, re.M)):
        name = target[0] or target[1]
        result = subprocess.run(["make", "-n", name], cwd=REPO, capture_output=True, text=True, check=False)
        assert result.returncode == 0, "make %s: %s" % (name, result.stderr)
    for script in set(re.findall(r"(?<![\w/.])((?:scripts|benchmarks|\.ci)/[\w./-]+?)(?=[`\s)])", text)):
        assert os.access(os.path.join(REPO, script), os.X_OK), script
