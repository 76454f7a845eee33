"""Compact workflow builders and a probe node type for executor tests."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from contextlib import aclosing
from typing import Any

from workflows import NodeConfig, NodeContext, NodeKind, NodeResult, Usage, Workflow, register_node_kind
from workflows.nodes._base import Selector


def wf(nodes: list[dict[str, Any]], edges: list[str], **fields: Any) -> Workflow:
    """A workflow from node dicts and edges written ``"a->b"`` or ``"a:handle->b"``."""
    return Workflow.model_validate({"nodes": nodes, "edges": [edge(e) for e in edges], **fields})


def edge(text: str) -> dict[str, str]:
    """Parse ``"a:handle->b"``."""
    source, target = text.split("->")
    node, _, handle = source.partition(":")
    return {"source": node.strip(), "target": target.strip(), "source_handle": handle.strip() or "source"}


def start(**extra: Any) -> dict[str, Any]:
    return {"id": "start", "type": "start", **extra}


def end(outputs: dict[str, str] | None = None, node_id: str = "end") -> dict[str, Any]:
    return {"id": node_id, "type": "end", "config": {"outputs": outputs or {}}}


def template(node_id: str, text: str, **extra: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "template", "config": {"template": text}, **extra}


def probe(node_id: str, **config: Any) -> dict[str, Any]:
    extra = {k: config.pop(k) for k in list(config) if k in _NODE_FIELDS}
    return {"id": node_id, "type": "probe", "config": config, **extra}


_NODE_FIELDS = {"retry", "timeout_seconds", "error_strategy", "default_outputs", "parent", "title"}

ATTEMPTS: Counter[str] = Counter()
TIMELINE: list[tuple[str, str, float]] = []


class ProbeConfig(NodeConfig):
    """Test knobs: sleep, fail the first N attempts, emit a value, report usage."""

    sleep: float = 0.0
    fail_times: int = 0
    value: Any = None
    tokens: int = 0


class ProbeNode(NodeKind[ProbeConfig]):
    """A node whose behaviour a test controls; counts attempts per run and node."""

    type = "probe"
    config_model = ProbeConfig

    def outputs(self, config: ProbeConfig) -> dict[str, str]:
        return {"value": "any", "attempt": "number"}

    async def run(self, config: ProbeConfig, ctx: NodeContext) -> NodeResult:
        key = f"{ctx.run_id}/{ctx.node.id}"
        ATTEMPTS[key] += 1
        TIMELINE.append((ctx.node.id, "start", time.perf_counter()))
        try:
            if config.sleep:
                await asyncio.sleep(config.sleep)
            if ATTEMPTS[key] <= config.fail_times:
                raise RuntimeError(f"probe failure {ATTEMPTS[key]}")
        finally:
            TIMELINE.append((ctx.node.id, "end", time.perf_counter()))
        return NodeResult(
            {"value": config.value, "attempt": ATTEMPTS[key]}, usage=Usage(config.tokens, config.tokens)
        )


register_node_kind(ProbeNode())

# Calls of the tally node, per run and item: started, and finished (returned a value).
STARTED: Counter[str] = Counter()
FINISHED: Counter[str] = Counter()


class TallyConfig(NodeConfig):
    """``item`` selects the value counted (e.g. ``each.item``); ``hang_on`` items never finish their first
    call (the worker dies meanwhile); ``fail_on`` items fail their first call."""

    item: Selector
    hang_on: list[Any] = []
    fail_on: list[Any] = []
    tokens: int = 0


class TallyNode(NodeKind[TallyConfig]):
    """A body node that counts its calls per item, as a model call would cost."""

    type = "tally"
    config_model = TallyConfig

    def outputs(self, config: TallyConfig) -> dict[str, str]:
        return {"value": "string"}

    async def run(self, config: TallyConfig, ctx: NodeContext) -> NodeResult:
        item = ctx.resolve(config.item)
        key = f"{ctx.run_id}/{item}"
        STARTED[key] += 1
        if item in config.hang_on and STARTED[key] == 1:
            await asyncio.sleep(3600)
        if item in config.fail_on and STARTED[key] == 1:
            raise RuntimeError(f"tally failed on {item}")
        FINISHED[key] += 1
        return NodeResult({"value": f"<{item}>"}, usage=Usage(config.tokens, config.tokens))


register_node_kind(TallyNode())


def tally(node_id: str, item: str, **config: Any) -> dict[str, Any]:
    extra = {k: config.pop(k) for k in list(config) if k in _NODE_FIELDS}
    return {"id": node_id, "type": "tally", "config": {"item": item, **config}, **extra}


async def interrupt(
    executor: Any, run_id: str, inputs: dict[str, Any], when: Callable[[Any], bool], how: str
) -> list[Any]:
    """Run until ``when(event)``, then ``cancel`` the run, or ``crash``: stop consuming it, as a worker that
    dies does (running tasks are cancelled, no final state is saved)."""
    events: list[Any] = []
    async with aclosing(executor.run(run_id, inputs)) as stream:
        async for event in stream:
            events.append(event)
            if when(event):
                if how == "crash":
                    break
                executor.cancel()
    return events


def events_of(events: list[Any], type_name: str) -> list[Any]:
    return [e for e in events if e.type == type_name]


async def run_single(
    node: dict[str, Any],
    outputs: dict[str, str],
    inputs: dict[str, Any] | None = None,
    ports: Any = None,
    *,
    input_fields: list[dict[str, Any]] | None = None,
    **options: Any,
) -> Any:
    """Run start -> node -> end(outputs) and return the RunResult."""
    from workflows import Executor

    fields = input_fields
    if fields is None:
        fields = [
            {"name": k, "type": "text" if isinstance(v, str) else "json"} for k, v in (inputs or {}).items()
        ]
    workflow = wf(
        [start(), node, end(outputs)], [f"start->{node['id']}", f"{node['id']}->end"], inputs=fields
    )
    return await Executor(workflow, ports=ports).run_to_completion("run-single", inputs or {}, **options)


def failure(result: Any, node_id: str) -> dict[str, str]:
    """The error of a node that failed (and failed the run)."""
    assert result.status == "failed", result
    record = result.nodes[node_id]
    assert record.status == "failed"
    return dict(record.error)
