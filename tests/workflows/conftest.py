"""Engine tests need no Django: everything here is in-memory."""

from __future__ import annotations

import pytest

from workflows.testing import InMemoryRunStore


@pytest.fixture
def store() -> InMemoryRunStore:
    return InMemoryRunStore()
