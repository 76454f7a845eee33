"""The executor: ordering, concurrency, branches, retry, timeout, error strategies, limits, cancel, resume."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from tests.workflows._helpers import ATTEMPTS, TIMELINE, end, events_of, probe, start, template, wf
from workflows import Executor, NodeRecord, Ports, RunFinished, RunLimits
from workflows.testing import InMemoryRunStore, RecordingEventSink


def branching_workflow() -> dict[str, Any]:
    return {
        "inputs": [{"name": "n", "type": "number"}],
        "nodes": [
            start(),
            {
                "id": "check",
                "type": "if_else",
                "config": {
                    "cases": [
                        {"id": "big", "conditions": [{"selector": "start.n", "operator": ">", "value": 10}]},
                    ]
                },
            },
            template("yes", "big {{ start.n }}"),
            template("no", "small {{ start.n }}"),
            {
                "id": "join",
                "type": "variable_aggregator",
                "config": {"variables": ["yes.output", "no.output"]},
            },
            end({"result": "join.output"}),
        ],
    }


async def test_chain_of_templates_produces_end_outputs_in_order(store: InMemoryRunStore) -> None:
    # given
    workflow = wf(
        [
            start(),
            template("a", "{{ start.name }}!"),
            template("b", "Hello {{ a.output }}"),
            end({"greeting": "b.output"}),
        ],
        ["start->a", "a->b", "b->end"],
        inputs=[{"name": "name"}],
    )
    # when
    result = await Executor(workflow, store=store).run_to_completion("r1", {"name": "Ada"})
    # then
    assert result.status == "succeeded"
    assert result.outputs == {"greeting": "Hello Ada!"}
    started = [e.node_id for e in events_of(result.events, "node_started")]
    assert started == ["start", "a", "b", "end"]
    assert result.events[0].type == "run_started"
    assert result.events[-1].type == "run_finished"
    assert result.steps == 4


@pytest.mark.parametrize(("n", "expected", "skipped"), [(42, "big 42", "no"), (3, "small 3", "yes")])
async def test_untaken_branch_is_skipped_and_join_runs(n: int, expected: str, skipped: str) -> None:
    workflow = wf(
        **branching_workflow(),
        edges=["start->check", "check:big->yes", "check:else->no", "yes->join", "no->join", "join->end"],
    )
    result = await Executor(workflow).run_to_completion("r", {"n": n})
    assert result.outputs == {"result": expected}
    assert result.nodes[skipped].status == "skipped"
    assert skipped not in [e.node_id for e in events_of(result.events, "node_started")]


async def test_ready_nodes_run_concurrently() -> None:
    # given three independent 0.2 s branches
    nodes = [start(), *(probe(f"p{i}", sleep=0.2) for i in range(3)), end()]
    edges = [*(f"start->p{i}" for i in range(3)), *(f"p{i}->end" for i in range(3))]
    # when
    result = await Executor(wf(nodes, edges)).run_to_completion("concurrent")
    # then: together they take about one sleep, not three
    assert result.status == "succeeded"
    assert result.elapsed_ms < 450


async def test_failed_attempts_are_retried_with_backoff_and_reported() -> None:
    workflow = wf(
        [
            start(),
            probe("flaky", fail_times=2, value="ok", retry={"max_attempts": 3, "backoff_seconds": 0.01}),
            end({"v": "flaky.value"}),
        ],
        ["start->flaky", "flaky->end"],
    )
    result = await Executor(workflow).run_to_completion("retry-1")
    retries = events_of(result.events, "node_retry")
    assert [r.attempt for r in retries] == [1, 2]
    assert [r.delay_seconds for r in retries] == [0.01, 0.02]
    assert retries[0].error == {"type": "RuntimeError", "message": "probe failure 1"}
    assert result.outputs == {"v": "ok"}
    assert result.nodes["flaky"].attempts == 3


async def test_node_failing_with_fail_strategy_fails_the_run_with_error_details() -> None:
    workflow = wf([start(), probe("bad", fail_times=9), end()], ["start->bad", "bad->end"])
    result = await Executor(workflow).run_to_completion("fail-1")
    finished = next(e for e in events_of(result.events, "node_finished") if e.node_id == "bad")
    assert finished.status == "failed"
    assert finished.error == {"type": "RuntimeError", "message": "probe failure 1"}
    assert result.status == "failed"
    assert result.error is not None and result.error["type"] == "RuntimeError"
    assert events_of(result.events, "error")[0].node_id == "bad"
    assert "end" not in [e.node_id for e in events_of(result.events, "node_started")]


async def test_default_value_strategy_continues_with_defaults_and_partial_success() -> None:
    workflow = wf(
        [
            start(),
            probe("bad", fail_times=9, error_strategy="default_value", default_outputs={"value": "fallback"}),
            end({"v": "bad.value", "why": "bad.error_message"}),
        ],
        ["start->bad", "bad->end"],
    )
    result = await Executor(workflow).run_to_completion("default-1")
    assert result.status == "partial_succeeded"
    assert result.outputs == {"v": "fallback", "why": "probe failure 1"}
    assert result.nodes["bad"].status == "failed"


async def test_fail_branch_edge_routes_to_fallback_node() -> None:
    workflow = wf(
        [
            start(),
            probe("bad", fail_times=9, error_strategy="fail_branch"),
            template("ok", "fine"),
            template("fallback", "recovered from {{ bad.error_type }}"),
            {
                "id": "join",
                "type": "variable_aggregator",
                "config": {"variables": ["ok.output", "fallback.output"]},
            },
            end({"v": "join.output"}),
        ],
        ["start->bad", "bad->ok", "bad:fail->fallback", "ok->join", "fallback->join", "join->end"],
    )
    result = await Executor(workflow).run_to_completion("branch-1")
    assert result.outputs == {"v": "recovered from RuntimeError"}
    assert result.nodes["ok"].status == "skipped"
    assert result.status == "partial_succeeded"


async def test_node_timeout_fails_the_attempt() -> None:
    workflow = wf(
        [
            start(),
            probe("slow", sleep=5, timeout_seconds=0.05, error_strategy="fail_branch"),
            template("late", "timed out: {{ slow.error_message }}"),
            end({"v": "late.output"}),
        ],
        ["start->slow", "slow:fail->late", "late->end"],
    )
    result = await Executor(workflow).run_to_completion("timeout-1")
    assert result.outputs == {"v": "timed out: node timed out after 0.05s"}
    assert result.nodes["slow"].error == {"type": "NodeTimeoutError", "message": "node timed out after 0.05s"}


async def test_step_limit_fails_the_run() -> None:
    workflow = wf([start(), template("a", "x"), template("b", "y"), end()], ["start->a", "a->b", "b->end"])
    result = await Executor(workflow, limits=RunLimits(max_steps=2)).run_to_completion("steps")
    assert result.status == "failed"
    assert result.error is not None and result.error["type"] == "StepLimitExceeded"


async def test_wall_time_limit_cancels_running_nodes_and_fails_the_run() -> None:
    workflow = wf([start(), probe("slow", sleep=10), end()], ["start->slow", "slow->end"])
    result = await Executor(workflow, limits=RunLimits(max_seconds=0.1)).run_to_completion("wall")
    assert result.status == "failed"
    assert result.error is not None and result.error["type"] == "RunTimeout"
    cancelled = [e for e in events_of(result.events, "node_finished") if e.node_id == "slow"]
    assert cancelled[0].status == "cancelled"
    assert result.elapsed_ms < 2000


async def test_cancel_stops_running_nodes_and_ends_cancelled(store: InMemoryRunStore) -> None:
    # given a run stuck in a slow node
    workflow = wf([start(), probe("slow", sleep=10), end()], ["start->slow", "slow->end"])
    executor = Executor(workflow, store=store)
    events = []
    # when it is cancelled once the node started
    async for event in executor.run("cancel-1"):
        events.append(event)
        if event.type == "node_started" and event.node_id == "slow":
            executor.cancel()
    # then
    assert events[-1].type == "run_finished" and events[-1].status == "cancelled"
    assert [e.status for e in events_of(events, "node_finished") if e.node_id == "slow"] == ["cancelled"]
    saved = await store.load_run("cancel-1")
    assert saved is not None and saved.status == "cancelled"


async def test_cancel_before_the_run_starts_cancels_it() -> None:
    executor = Executor(wf([start(), probe("slow", sleep=10), end()], ["start->slow", "slow->end"]))
    executor.cancel()
    result = await executor.run_to_completion("cancel-early")
    assert result.status == "cancelled"


async def test_resume_continues_without_rerunning_finished_nodes(store: InMemoryRunStore) -> None:
    # given a run whose second node failed (as a crashed worker would leave it)
    nodes = [
        start(),
        probe("first", value=1),
        probe("second", fail_times=1, value=2),
        end({"a": "first.value", "b": "second.value"}),
    ]
    workflow = wf(nodes, ["start->first", "first->second", "second->end"])
    failed = await Executor(workflow, store=store).run_to_completion("resume-1")
    assert failed.status == "failed"
    # when a new executor picks the run up from the store
    resumed = await Executor(workflow, store=store).run_to_completion("resume-1")
    # then finished nodes are restored, not re-run
    assert resumed.status == "succeeded"
    assert resumed.outputs == {"a": 1, "b": 2}
    assert ATTEMPTS["resume-1/first"] == 1 and ATTEMPTS["resume-1/second"] == 2
    assert [e.node_id for e in events_of(resumed.events, "node_restored")] == ["start", "first"]
    assert [e.node_id for e in events_of(resumed.events, "node_started")] == ["second", "end"]
    assert events_of(resumed.events, "run_started")[0].resumed is True


async def test_resume_keeps_the_branch_taken_before(store: InMemoryRunStore) -> None:
    workflow = wf(
        **branching_workflow(),
        edges=["start->check", "check:big->yes", "check:else->no", "yes->join", "no->join", "join->end"],
    )
    await Executor(workflow, store=store).run_to_completion("resume-branch", {"n": 50})
    store.forget("resume-branch", "join")
    store.forget("resume-branch", "end")
    result = await Executor(workflow, store=store).run_to_completion("resume-branch", {"n": 50})
    assert result.outputs == {"result": "big 50"}
    assert [e.node_id for e in events_of(result.events, "node_started")] == ["join", "end"]


async def test_checkpoint_is_written_before_successors_start() -> None:
    checkpointed_at: dict[str, float] = {}

    class SpyStore(InMemoryRunStore):
        async def checkpoint(self, run_id: str, record: NodeRecord) -> None:
            await asyncio.sleep(0.01)  # a slow database must still finish before successors start
            await super().checkpoint(run_id, record)
            checkpointed_at[record.node_id] = time.perf_counter()

    workflow = wf([start(), probe("a"), probe("b"), end()], ["start->a", "a->b", "b->end"])
    await Executor(workflow, store=SpyStore()).run_to_completion("ck")
    started_b = next(t for node, what, t in TIMELINE if node == "b" and what == "start")
    assert checkpointed_at["a"] < started_b


async def test_a_failing_store_fails_the_run_instead_of_crashing() -> None:
    class BrokenStore(InMemoryRunStore):
        async def checkpoint(self, run_id: str, record: NodeRecord) -> None:
            raise ConnectionError("database is gone")

    workflow = wf([start(), end()], ["start->end"])
    result = await Executor(workflow, store=BrokenStore()).run_to_completion("broken")
    assert result.status == "failed"
    assert result.error is not None and "database is gone" in result.error["message"]


async def test_invalid_inputs_fail_the_run_listing_each_input() -> None:
    workflow = wf([start(), end()], ["start->end"], inputs=[{"name": "age", "type": "number"}, {"name": "q"}])
    result = await Executor(workflow).run_to_completion("bad-inputs", {"age": "old"})
    assert result.status == "failed"
    assert result.error is not None and result.error["type"] == "InputValidationError"
    assert "inputs.age" in result.error["message"] and "inputs.q" in result.error["message"]


async def test_every_event_is_json_serializable_and_sent_to_the_sink() -> None:
    sink = RecordingEventSink()
    workflow = wf([start(), probe("p", tokens=3), end({"v": "p.attempt"})], ["start->p", "p->end"])
    result = await Executor(workflow, ports=Ports(events=sink)).run_to_completion("json")
    assert [e.type for e in sink.events] == [e.type for e in result.events]
    for event in result.events:
        assert json.loads(json.dumps(event.to_dict()))["type"] == event.type
    finished = result.events[-1].to_dict()
    assert finished["usage"] == {
        "prompt_tokens": 3,
        "completion_tokens": 3,
        "cached_tokens": 0,
        "total_tokens": 6,
    }


async def test_secret_environment_values_are_redacted_from_events() -> None:
    workflow = wf(
        [
            start(),
            template("leak", "key={{ env.API_KEY }} region={{ env.REGION }}"),
            end({"v": "leak.output"}),
        ],
        ["start->leak", "leak->end"],
        environment=[{"name": "API_KEY", "type": "secret"}, {"name": "REGION", "value": "eu"}],
    )
    result = await Executor(workflow).run_to_completion("secret", env={"API_KEY": "sk-very-secret"})
    dumped = json.dumps([e.to_dict() for e in result.events])
    assert "sk-very-secret" not in dumped
    assert result.outputs == {"v": "key=[REDACTED] region=eu"}


async def test_system_and_conversation_variables_are_readable() -> None:
    workflow = wf(
        [
            start(),
            template("t", "{{ sys.run_id }}/{{ sys.user_id }}/{{ sys.query }}/{{ conversation.topic }}"),
            end({"v": "t.output", "time": "sys.time"}),
        ],
        ["start->t", "t->end"],
        conversation_variables=[{"name": "topic", "default": "none"}],
    )
    result = await Executor(workflow).run_to_completion(
        "sysvars", user_id="u1", query="hi", conversation={"topic": "cats"}
    )
    assert result.outputs["v"] == "sysvars/u1/hi/cats"
    assert result.outputs["time"].startswith("20")


async def test_an_executor_runs_one_run_at_a_time() -> None:
    executor = Executor(wf([start(), probe("p", sleep=0.05), end()], ["start->p", "p->end"]))
    first = asyncio.ensure_future(executor.run_to_completion("one"))
    await asyncio.sleep(0.01)
    with pytest.raises(RuntimeError, match="already running"):
        await executor.run_to_completion("two")
    assert (await first).status == "succeeded"
    assert (await executor.run_to_completion("three")).status == "succeeded"


async def test_a_cancelled_run_resumes_running_only_unfinished_nodes(store: InMemoryRunStore) -> None:
    # given a run cancelled while its second node was running
    workflow = wf(
        [start(), probe("first", value=1), probe("slow", sleep=0.2, value=2), end({"v": "slow.value"})],
        ["start->first", "first->slow", "slow->end"],
    )
    executor = Executor(workflow, store=store)
    async for event in executor.run("cancel-resume"):
        if event.type == "node_started" and event.node_id == "slow":
            executor.cancel()
    # when a new executor resumes it
    result = await Executor(workflow, store=store).run_to_completion("cancel-resume")
    # then the cancelled node runs again, the finished one does not
    assert result.status == "succeeded" and result.outputs == {"v": 2}
    assert ATTEMPTS["cancel-resume/first"] == 1 and ATTEMPTS["cancel-resume/slow"] == 2


async def test_resume_restores_a_handled_failure_and_its_fail_branch(store: InMemoryRunStore) -> None:
    workflow = wf(
        [
            start(),
            probe("bad", fail_times=1, error_strategy="fail_branch"),
            template("ok", "ok"),
            template("fallback", "fallback"),
            probe("last", fail_times=1),
            {
                "id": "join",
                "type": "variable_aggregator",
                "config": {"variables": ["ok.output", "fallback.output"]},
            },
            end({"v": "join.output"}),
        ],
        [
            "start->bad",
            "bad->ok",
            "bad:fail->fallback",
            "ok->join",
            "fallback->join",
            "join->last",
            "last->end",
        ],
    )
    first = await Executor(workflow, store=store).run_to_completion("resume-fail-branch")
    assert first.status == "failed" and first.nodes["last"].status == "failed"
    resumed = await Executor(workflow, store=store).run_to_completion("resume-fail-branch")
    assert resumed.status == "partial_succeeded"
    assert resumed.outputs == {"v": "fallback"}
    assert ATTEMPTS["resume-fail-branch/bad"] == 1
    assert resumed.nodes["ok"].status == "skipped"


async def test_cancel_reaches_nodes_inside_a_container() -> None:
    workflow = wf(
        [
            start(),
            {
                "id": "each",
                "type": "iteration",
                "config": {"items": "start.xs", "output_selector": "b.value"},
            },
            probe("b", sleep=10, parent="each"),
            end(),
        ],
        ["start->each", "each->end"],
        inputs=[{"name": "xs", "type": "json"}],
    )
    executor = Executor(workflow)
    events = []
    async for event in executor.run("cancel-nested", {"xs": [1, 2]}):
        events.append(event)
        if event.type == "node_started" and event.node_id == "b":
            executor.cancel()
    cancelled = {e.node_id for e in events_of(events, "node_finished") if e.status == "cancelled"}
    assert cancelled == {"b", "each"}
    assert isinstance(events[-1], RunFinished) and events[-1].status == "cancelled"


def test_an_invalid_workflow_cannot_be_executed() -> None:
    from workflows import WorkflowValidationError

    with pytest.raises(WorkflowValidationError):
        Executor(wf([start()], []))
