"""The in-memory RunStore passes the conformance suite the platform's Django store must pass too."""

from __future__ import annotations

import pytest

from workflows import RunStore
from workflows.testing import CHECKS, Check, InMemoryRunStore, RunStoreConformance


class TestInMemoryRunStore(RunStoreConformance):
    async def make_store(self) -> RunStore:
        return InMemoryRunStore()


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
async def test_a_shared_store_passes_every_check_in_turn(check: Check) -> None:
    await check(SHARED)


SHARED = InMemoryRunStore()
