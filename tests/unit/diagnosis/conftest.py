from __future__ import annotations

import pytest

from diagnosis_facts import healthy_facts


@pytest.fixture
def facts():
    """A fresh copy of the healthy server/client tunnel, for each test to break its own way."""
    return healthy_facts()
