"""The RunStore conformance suite: every RunStore implementation must pass it.

Two ways to run it under pytest (no pytest import here, so the module stays importable anywhere)::

    # 1. subclass (pytest collects the inherited async test_* methods)
    class TestDjangoRunStore(RunStoreConformance):
        async def make_store(self) -> RunStore:
            return DjangoRunStore()

    # 2. parametrize over the plain checks
    @pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
    async def test_store(check):
        await check(DjangoRunStore())

Each check uses fresh random run ids, so a store shared between checks (one database) is fine.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from workflows._executor import Executor
from workflows._ports import BODY_RECORD_ID_MAX, NodeRecord, Ports, RunRecord, RunStore, Usage
from workflows.testing._fakes import FakeModelGateway

Check = Callable[[RunStore], Awaitable[None]]


def _run_id() -> str:
    return f"conformance-{uuid.uuid4()}"


def _record(node_id: str, **fields: object) -> NodeRecord:
    now = datetime(2026, 1, 2, 3, 4, 5, 600000, tzinfo=UTC)
    values: dict[str, object] = {
        "node_id": node_id,
        "status": "succeeded",
        "outputs": {"text": node_id},
        "started_at": now,
        "finished_at": now,
        "node_type": "template",
    }
    values.update(fields)
    return NodeRecord(**values)  # type: ignore[arg-type]


async def check_unknown_run_loads_empty(store: RunStore) -> None:
    """A run never checkpointed has no records and no run record."""
    run_id = _run_id()
    assert await store.load(run_id) == []
    assert await store.load_run(run_id) is None


async def check_checkpoint_round_trips_every_field(store: RunStore) -> None:
    """What is checkpointed loads back equal, field for field (timestamps keep their time zone)."""
    run_id = _run_id()
    record = _record(
        "llm",
        status="failed",
        outputs={"text": "héllo", "nested": {"list": [1, 2.5, None, True]}},
        error={"type": "TimeoutError", "message": "slow"},
        attempts=3,
        usage=Usage(10, 5, 2),
        branch="fail",
        node_type="llm",
    )
    await store.checkpoint(run_id, record)
    assert await store.load(run_id) == [record]


async def check_load_returns_every_node(store: RunStore) -> None:
    """Each checkpointed node comes back once."""
    run_id = _run_id()
    for node_id in ("start", "a", "b", "end"):
        await store.checkpoint(run_id, _record(node_id))
    loaded = await store.load(run_id)
    assert sorted(r.node_id for r in loaded) == ["a", "b", "end", "start"]


async def check_checkpoint_again_replaces(store: RunStore) -> None:
    """Checkpointing a node again (a retried delivery) replaces its record instead of duplicating it."""
    run_id = _run_id()
    await store.checkpoint(run_id, _record("a", outputs={"v": 1}))
    await store.checkpoint(run_id, _record("a", outputs={"v": 2}))
    loaded = await store.load(run_id)
    assert [(r.node_id, r.outputs) for r in loaded] == [("a", {"v": 2})]


async def check_runs_are_isolated(store: RunStore) -> None:
    """Records of one run never show up in another."""
    first, second = _run_id(), _run_id()
    await store.checkpoint(first, _record("a"))
    await store.checkpoint(second, _record("b"))
    assert [r.node_id for r in await store.load(first)] == ["a"]
    assert [r.node_id for r in await store.load(second)] == ["b"]


async def check_run_record_round_trips_and_updates(store: RunStore) -> None:
    """save_run stores run-level state; saving again updates it."""
    run_id = _run_id()
    started = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    await store.save_run(RunRecord(run_id, "running", {"q": "hi"}, started_at=started))
    final = RunRecord(
        run_id, "succeeded", {"q": "hi"}, {"answer": "yo"}, None, started, started, Usage(3, 4, 0)
    )
    await store.save_run(final)
    assert await store.load_run(run_id) == final


async def check_executor_resumes_from_the_store(store: RunStore) -> None:
    """A run that failed half-way resumes with a new executor over the same store, skipping finished nodes."""
    run_id = _run_id()
    workflow = {
        "environment": [{"name": "divisor", "type": "number", "value": 0}],
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "first", "type": "template", "config": {"template": "{{ sys.run_id }}"}},
            {"id": "second", "type": "template", "config": {"template": "{{ 10 // env.divisor }}"}},
            {"id": "end", "type": "end", "config": {"outputs": {"a": "first.output", "b": "second.output"}}},
        ],
        "edges": [
            {"source": s, "target": t}
            for s, t in (("start", "first"), ("first", "second"), ("second", "end"))
        ],
    }
    failed = await Executor(workflow, store=store).run_to_completion(run_id)
    assert failed.status == "failed"
    statuses = {r.node_id: r.status for r in await store.load(run_id)}
    assert statuses == {"start": "succeeded", "first": "succeeded", "second": "failed"}
    resumed = await Executor(workflow, store=store).run_to_completion(run_id, env={"divisor": 2})
    assert resumed.status == "succeeded"
    assert resumed.outputs == {"a": run_id, "b": "5"}
    assert [e.node_id for e in resumed.events if e.type == "node_started"] == ["second", "end"]
    saved = await store.load_run(run_id)
    assert saved is not None and saved.status == "succeeded"


async def check_body_record_ids_round_trip(store: RunStore) -> None:
    """Body records (iteration items, loop rounds) use derived ids up to BODY_RECORD_ID_MAX characters."""
    run_id = _run_id()
    at_the_limit = ("o" * 64 + "#1/" + "i" * 64)[: BODY_RECORD_ID_MAX - 2] + "#2"
    ids = ["each#0", "outer#12/inner#3", "i" * 64 + "#12@0123456789abcdef", at_the_limit]
    for node_id in [*ids, "each#0"]:  # the second each#0 replaces the first
        outputs = {"output": node_id}
        await store.checkpoint(
            run_id, _record(node_id, node_type="iteration_item", outputs=outputs, usage=Usage(1, 2))
        )
    loaded = {r.node_id: r for r in await store.load(run_id)}
    assert sorted(loaded) == sorted(ids)
    assert all(r.is_body_run and r.usage == Usage(1, 2) for r in loaded.values())
    assert all(r.outputs == {"output": r.node_id} for r in loaded.values())


async def check_executor_resumes_an_iteration_item_by_item(store: RunStore) -> None:
    """A run that failed at an iteration's third item resumes there: the first two items are not asked
    again (their model calls are restored from their body records), and the outputs keep item order."""
    run_id = _run_id()
    workflow = {
        "inputs": [{"name": "items", "type": "json"}],
        "nodes": [
            {"id": "start", "type": "start"},
            {
                "id": "each",
                "type": "iteration",
                "config": {"items": "start.items", "output_selector": "ask.text"},
            },
            {
                "id": "ask",
                "type": "llm",
                "parent": "each",
                "config": {"model": "m", "messages": [{"role": "user", "content": "item {{ each.item }}"}]},
            },
            {"id": "end", "type": "end", "config": {"outputs": {"out": "each.output"}}},
        ],
        "edges": [{"source": "start", "target": "each"}, {"source": "each", "target": "end"}],
    }
    inputs = {"items": ["a", "b", "c", "d"]}
    gateway = FakeModelGateway(["A", "B", RuntimeError("rate limited")])
    ports = Ports(models=gateway)
    failed = await Executor(workflow, ports=ports, store=store).run_to_completion(run_id, inputs)
    assert failed.status == "failed"
    statuses = {r.node_id: (r.node_type, r.status) for r in await store.load(run_id)}
    assert statuses == {
        "start": ("start", "succeeded"),
        "each#0": ("iteration_item", "succeeded"),
        "each#1": ("iteration_item", "succeeded"),
        "each#2": ("iteration_item", "failed"),
        "each": ("iteration", "failed"),
    }
    resumed = await Executor(workflow, ports=ports, store=store).run_to_completion(run_id, inputs)
    assert resumed.status == "succeeded"
    assert resumed.outputs == {"out": ["A", "B", "item c", "item d"]}
    assert len(gateway.requests) == 5  # three before, two after: items a and b were not asked again
    restored = [e.node_id for e in resumed.events if e.type == "node_restored"]
    assert restored == ["start", "each#0", "each#1"]


CHECKS: tuple[Check, ...] = (
    check_unknown_run_loads_empty,
    check_checkpoint_round_trips_every_field,
    check_load_returns_every_node,
    check_checkpoint_again_replaces,
    check_runs_are_isolated,
    check_run_record_round_trips_and_updates,
    check_executor_resumes_from_the_store,
    check_body_record_ids_round_trip,
    check_executor_resumes_an_iteration_item_by_item,
)


class RunStoreConformance:
    """Subclass it in a test module and implement ``make_store``; every check becomes a test."""

    async def make_store(self) -> RunStore:
        """A store to check (a fresh one, or a shared one: checks use their own run ids)."""
        raise NotImplementedError

    async def test_unknown_run_loads_empty(self) -> None:
        """See ``check_unknown_run_loads_empty``."""
        await check_unknown_run_loads_empty(await self.make_store())

    async def test_checkpoint_round_trips_every_field(self) -> None:
        """See ``check_checkpoint_round_trips_every_field``."""
        await check_checkpoint_round_trips_every_field(await self.make_store())

    async def test_load_returns_every_node(self) -> None:
        """See ``check_load_returns_every_node``."""
        await check_load_returns_every_node(await self.make_store())

    async def test_checkpoint_again_replaces(self) -> None:
        """See ``check_checkpoint_again_replaces``."""
        await check_checkpoint_again_replaces(await self.make_store())

    async def test_runs_are_isolated(self) -> None:
        """See ``check_runs_are_isolated``."""
        await check_runs_are_isolated(await self.make_store())

    async def test_run_record_round_trips_and_updates(self) -> None:
        """See ``check_run_record_round_trips_and_updates``."""
        await check_run_record_round_trips_and_updates(await self.make_store())

    async def test_executor_resumes_from_the_store(self) -> None:
        """See ``check_executor_resumes_from_the_store``."""
        await check_executor_resumes_from_the_store(await self.make_store())

    async def test_body_record_ids_round_trip(self) -> None:
        """See ``check_body_record_ids_round_trip``."""
        await check_body_record_ids_round_trip(await self.make_store())

    async def test_executor_resumes_an_iteration_item_by_item(self) -> None:
        """See ``check_executor_resumes_an_iteration_item_by_item``."""
        await check_executor_resumes_an_iteration_item_by_item(await self.make_store())


__all__ = [
    "CHECKS",
    "RunStoreConformance",
    "check_body_record_ids_round_trip",
    "check_checkpoint_again_replaces",
    "check_checkpoint_round_trips_every_field",
    "check_executor_resumes_an_iteration_item_by_item",
    "check_executor_resumes_from_the_store",
    "check_load_returns_every_node",
    "check_run_record_round_trips_and_updates",
    "check_runs_are_isolated",
    "check_unknown_run_loads_empty",
]
