"""The AWS API emulator for the cloud firewall tests (moto_emulator.py): one moto server per test module."""
from __future__ import annotations

import os
import sys
import typing as t

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import moto_emulator  # noqa: E402


@pytest.fixture(scope="module")
def moto_server() -> t.Iterator[dict[str, str]]:
    pytest.importorskip("moto", reason="moto[server] is in requirements-dev.txt: the AWS emulator")
    pytest.importorskip("boto3", reason="boto3 is in requirements-dev.txt")
    with moto_emulator.moto_server() as env:
        yield env


@pytest.fixture
def aws_env(moto_server: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The process environment pointed at the emulator (and away from any real AWS configuration)."""
    for key in moto_emulator.UNSET:
        monkeypatch.delenv(key, raising=False)
    for key, value in moto_server.items():
        monkeypatch.setenv(key, value)
    return moto_server


@pytest.fixture
def ec2_world(aws_env: dict[str, str]) -> dict[str, t.Any]:
    return moto_emulator.ec2_world(aws_env)
