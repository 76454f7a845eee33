"""The PostgreSQL RunStore passes the engine's RunStore conformance suite.

The suite invents run ids (``conformance-<uuid>``) and expects a store to accept any of them; the platform
always creates the ``Run`` row before its worker checkpoints anything. The adapter below does just that
(maps each invented id to a UUID and creates the row on first use), and otherwise calls the real store. It
passes both as a plain store and as a worker's, whose every write is conditioned on the run's claim.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from llmops.runs.models import FINAL_STATUSES, Run, RunStatus
from llmops.runs.store import DjangoRunStore
from tests.studio.factories import published_workflow
from workflows import NodeRecord, RunRecord, RunStore
from workflows.testing import RunStoreConformance

pytestmark = pytest.mark.django_db(transaction=True)


class _ExistingRuns:
    """``DjangoRunStore`` plus creation of the run rows the platform would have created first."""

    def __init__(self, claim: uuid.UUID | None = None) -> None:
        self.store = DjangoRunStore(claim)
        self.claim = claim
        self.workflow: Any = None

    def _uuid(self, run_id: str) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, run_id))

    async def _ensure(self, run_id: str) -> str:
        if self.workflow is None:
            self.workflow = await sync_to_async(published_workflow)()
        key = self._uuid(run_id)
        version = await self.workflow.versions.aget()
        await Run.objects.aget_or_create(
            id=key, defaults={"workspace_id": self.workflow.workspace_id, "workflow": self.workflow,
                              "workflow_version": version, "claim": self.claim},
        )  # fmt: skip
        return key

    async def checkpoint(self, run_id: str, record: NodeRecord) -> None:
        await self.store.checkpoint(await self._ensure(run_id), record)

    async def load(self, run_id: str) -> list[NodeRecord]:
        return await self.store.load(self._uuid(run_id))

    async def save_run(self, record: RunRecord) -> None:
        key = await self._ensure(record.run_id)
        if record.status == "running":
            # Resuming an ended run: a claimed store never overwrites a final status (a run failed by the
            # sweeper or cancelled stays so), so the run is queued again first, as a retry of it would be.
            await Run.objects.filter(id=key, status__in=FINAL_STATUSES).aupdate(status=RunStatus.QUEUED)
        await self.store.save_run(replace(record, run_id=key))

    async def load_run(self, run_id: str) -> RunRecord | None:
        loaded = await self.store.load_run(self._uuid(run_id))
        return None if loaded is None else replace(loaded, run_id=run_id)


class TestDjangoRunStore(RunStoreConformance):
    async def make_store(self) -> RunStore:
        return _ExistingRuns()


class TestClaimedDjangoRunStore(RunStoreConformance):
    async def make_store(self) -> RunStore:
        return _ExistingRuns(claim=uuid.uuid4())
