"""The execution environment: what ansible-builder makes of meta/execution-environment.yml.

No image is built (no container registry is reachable here, so there is no base image to build on;
docs/awx.md says so). What the build would do is checked as far as it can be without one:
`ansible-builder create` on the EE definition docs/awx.md shows, then the build's introspection step
(the script `create` puts into the context, run as the Containerfile runs it) on the collection as
its tarball installs it. That introspection is where the collection's Python and system requirements
come from in a real build.
"""
from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import tarfile
import typing as t

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BIN = os.path.dirname(sys.executable)
DOC = os.path.join(REPO, "docs", "awx.md")
# Third-party imports ansible-core itself brings (its own requirements): not the collection's to declare.
WITH_ANSIBLE_CORE = {"yaml", "jinja2", "cryptography", "packaging", "resolvelib", "markupsafe"}
# Import name -> the distribution that provides it, where they differ.
DISTRIBUTION = {"nacl": "pynacl"}


def _run(argv: list[str], cwd: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    env["PATH"] = BIN + os.pathsep + env.get("PATH", "")
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)


def _declared() -> dict[str, Requirement]:
    with open(os.path.join(REPO, "meta", "execution-environment.yml"), encoding="utf-8") as handle:
        meta = yaml.safe_load(handle)
    assert set(meta["dependencies"]) == {"python"}, "a system dependency needs its own check here"
    with open(os.path.join(REPO, meta["dependencies"]["python"]), encoding="utf-8") as handle:
        lines = [line.strip() for line in handle if line.strip() and not line.startswith("#")]
    return {canonicalize_name(Requirement(line).name): Requirement(line) for line in lines}


def _documented_definition() -> dict[str, t.Any]:
    """The ansible-builder 3 definition of docs/awx.md (the one yaml block with `version: 3`)."""
    with open(DOC, encoding="utf-8") as handle:
        blocks = re.findall(r"^```yaml\n(.*?)^```", handle.read(), re.M | re.S)
    definitions = [yaml.safe_load(block) for block in blocks if re.search(r"^version: 3$", block, re.M)]
    assert len(definitions) == 1, "docs/awx.md shows one EE definition"
    return definitions[0]


@pytest.fixture(scope="module")
def tarball(tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("build")
    result = _run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--output-path", str(out)], cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    (built,) = out.glob("wgdoctor-wireguard-*.tar.gz")
    return str(built)


@pytest.fixture(scope="module")
def context(tarball: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """`ansible-builder create` in a directory laid out as docs/awx.md says: the definition, the tarball."""
    work = tmp_path_factory.mktemp("ee")
    definition = _documented_definition()
    for extra in definition.get("additional_build_files") or []:
        shutil.copy(tarball, work / extra["src"])
    with open(work / "execution-environment.yml", "w", encoding="utf-8") as handle:
        yaml.safe_dump(definition, handle)
    result = _run([os.path.join(BIN, "ansible-builder"), "create", "--file", "execution-environment.yml",
                   "--context", "context", "--output-filename", "Containerfile"], cwd=str(work))
    assert result.returncode == 0, result.stdout + result.stderr
    return str(work / "context")


@pytest.fixture(scope="module")
def introspected(context: str, tarball: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, t.Any]:
    """The builder stage's introspection, on the collection installed from the tarball (what Galaxy and
    the image get: a file left out by build_ignore would be missing here)."""
    collections = tmp_path_factory.mktemp("collections")
    installed = _run([os.path.join(BIN, "ansible-galaxy"), "collection", "install", "--no-deps", "-p", str(collections),
                      tarball], cwd=str(collections))
    assert installed.returncode == 0, installed.stdout + installed.stderr
    pip_file, bindep_file = collections / "requirements.txt", collections / "bindep.txt"
    result = _run([sys.executable, os.path.join(context, "_build", "scripts", "introspect.py"), "introspect",
                   "--write-pip", str(pip_file), "--write-bindep", str(bindep_file), str(collections)], cwd=str(collections))
    assert result.returncode == 0, result.stdout + result.stderr
    return {"output": yaml.safe_load(result.stdout),
            "pip": pip_file.read_text().splitlines() if pip_file.exists() else [],
            "bindep": bindep_file.read_text().splitlines() if bindep_file.exists() else []}


def test_the_containerfile_installs_the_collection_and_its_requirements(context: str, tarball: str) -> None:
    with open(os.path.join(context, "Containerfile"), encoding="utf-8") as handle:
        containerfile = handle.read()
    definition = _documented_definition()
    assert 'ARG EE_BASE_IMAGE="%s"' % definition["images"]["base_image"]["name"] in containerfile
    assert re.search(r"^RUN .*ansible-galaxy collection install .*-r requirements\.yml", containerfile, re.M)
    # The collections' requirements are installed from what the introspection writes.
    assert re.search(r"^RUN \$PYCMD /output/scripts/introspect\.py introspect .*--write-pip=", containerfile, re.M)
    assert "RUN /output/scripts/assemble" in containerfile
    assert "ansible-runner" in containerfile and "ansible-core" in containerfile

    with open(os.path.join(context, "_build", "requirements.yml"), encoding="utf-8") as handle:
        galaxy = yaml.safe_load(handle)
    ours = [c for c in galaxy["collections"] if "wgdoctor-wireguard" in c["name"] or c["name"] == "wgdoctor.wireguard"]
    assert len(ours) == 1
    # The tarball the definition names is the one copied into the context (the galaxy stage copies _build to /build).
    assert "COPY _build /build" in containerfile
    copied = os.path.join(context, "_build", os.path.relpath(ours[0]["name"], "/build"))
    assert os.path.basename(copied) == os.path.basename(tarball), "docs/awx.md names another version than galaxy.yml's"
    with tarfile.open(copied) as archive:
        assert "meta/execution-environment.yml" in archive.getnames()


def test_the_introspection_yields_the_declared_requirements_and_no_system_package(introspected: dict[str, t.Any]) -> None:
    declared = _declared()
    assert {"pynacl", "boto3", "botocore"} <= set(declared)
    # What the image's pip installs: each line a requirement and the collection it comes from.
    lines = [line for line in introspected["pip"] if line.strip()]
    assert all(line.endswith("# from collection wgdoctor.wireguard") for line in lines), lines
    wanted = {canonicalize_name(Requirement(line.split("#")[0]).name): str(Requirement(line.split("#")[0])) for line in lines}
    assert wanted == {name: str(requirement) for name, requirement in declared.items()}
    assert introspected["output"]["python"] == introspected["pip"]
    assert not introspected["output"]["system"] and not introspected["bindep"]


def _third_party_imports() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for root, dirs, files in os.walk(os.path.join(REPO, "plugins")):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in (f for f in files if f.endswith(".py")):
            path = os.path.join(root, name)
            with open(path, encoding="utf-8") as handle:
                tree = ast.parse(handle.read(), path)
            for node in ast.walk(tree):
                modules = [alias.name for alias in node.names] if isinstance(node, ast.Import) else \
                    [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else []
                for module in modules:
                    top = module.split(".")[0]
                    if top not in sys.stdlib_module_names and top not in ("ansible", "ansible_collections", "__future__"):
                        found.setdefault(top.lower(), set()).add(os.path.relpath(path, REPO))
    return found


def test_every_third_party_import_of_the_plugins_is_declared() -> None:
    """A plugin that imports a package the EE does not install fails in AWX only."""
    declared = set(_declared())
    missing = {top: sorted(paths) for top, paths in _third_party_imports().items()
               if top not in WITH_ANSIBLE_CORE and canonicalize_name(DISTRIBUTION.get(top, top)) not in declared}
    assert not missing, "add to meta/ee-requirements.txt: %s" % missing


def test_the_tests_run_with_what_the_ee_installs() -> None:
    """Every declared package is pinned for the tests, at a version the declaration accepts."""
    with open(os.path.join(REPO, "constraints-py312.txt"), encoding="utf-8") as handle:
        pins = dict((canonicalize_name(name), version) for name, version in
                    re.findall(r"^([A-Za-z0-9_.\-]+)==(\S+)", handle.read(), re.M))
    for name, requirement in _declared().items():
        assert name in pins, "%s is not pinned in constraints-py312.txt" % name
        assert requirement.specifier.contains(pins[name], prereleases=True), \
            "%s==%s does not satisfy %s" % (name, pins[name], requirement)
