"""iteration: runs its body once per list item (sequentially or in parallel), collecting one value each.

Each item is a checkpointed body run (``NodeContext.run_body_checkpointed``): with a RunStore, a finished item
is recorded as ``<iteration>#<index>`` (outputs ``{"output": <value>}``) and a resumed run restores it instead
of running the body again, in whatever order parallel workers had finished them. Items failed under
``continue``/``remove_failed`` are restored as failed; an item that failed a ``terminate`` iteration runs again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field

from workflows._errors import NodeError
from workflows._events import IterationProgress
from workflows._variables import resolve
from workflows.nodes._base import BodySelector, NodeConfig, NodeContext, NodeKind, NodeResult, Selector
from workflows.nodes._containers import raise_first

_REMOVED = object()


class IterationConfig(NodeConfig):
    """Body nodes read ``{{ <this id>.item }}`` and ``{{ <this id>.index }}``.

    ``error_mode``: ``terminate`` fails the node on the first failed item; ``continue`` keeps None for failed
    items; ``remove_failed`` drops them from the output.
    """

    items: Selector
    output_selector: BodySelector
    parallel: bool = False
    max_parallel: int = Field(default=10, ge=1, le=100)
    error_mode: Literal["terminate", "continue", "remove_failed"] = "terminate"


class IterationNode(NodeKind[IterationConfig]):
    """Outputs ``output``: the body's ``output_selector`` value for each item, in item order."""

    type = "iteration"
    config_model = IterationConfig
    container = True
    description = "Maps its body over a list."

    def outputs(self, config: IterationConfig) -> Mapping[str, str] | None:
        return {"output": "array", "failed": "number"}

    def body_names(self, config: IterationConfig) -> Mapping[str, str] | None:
        return {"item": "any", "index": "number"}

    async def run(self, config: IterationConfig, ctx: NodeContext) -> NodeResult:
        items = ctx.resolve(config.items)
        if not isinstance(items, list):
            raise NodeError(f"iteration needs a list at {config.items!r}, got {type(items).__name__}")
        state = _Progress(ctx, config, items)
        if config.parallel and len(items) > 1:
            await _parallel(state, config.max_parallel)
        else:
            for index in range(len(items)):
                await state.run_item(index)
        output = [r for r in state.results if r is not _REMOVED]
        return NodeResult({"output": output, "failed": state.failed})


class _Progress:
    def __init__(self, ctx: NodeContext, config: IterationConfig, items: list[Any]) -> None:
        self.ctx, self.config, self.items = ctx, config, items
        self.results: list[Any] = [None] * len(items)
        self.completed = 0
        self.failed = 0

    def summarize(self, pool: dict[str, Any]) -> dict[str, Any]:
        return {"output": resolve(pool, self.config.output_selector)}

    async def run_item(self, index: int) -> None:
        ctx, config = self.ctx, self.config
        overlay = {ctx.node.id: {"item": self.items[index], "index": index}}
        try:
            summary = await ctx.run_body_checkpointed(
                overlay, index, self.summarize, keep_failures=config.error_mode != "terminate"
            )
            self.results[index] = summary["output"]
        except Exception as exc:
            if config.error_mode == "terminate":
                raise NodeError(f"item {index} failed: {exc}") from exc
            self.failed += 1
            self.results[index] = _REMOVED if config.error_mode == "remove_failed" else None
        self.completed += 1
        ctx.emit(
            IterationProgress(
                run_id=ctx.run_id,
                node_id=ctx.node.id,
                index=index,
                completed=self.completed,
                total=len(self.items),
                failed=self.failed,
            )
        )


async def _parallel(state: _Progress, limit: int) -> None:
    # A fixed pool of workers pulling indices: 1,000 items never means 1,000 tasks at once.
    indices = iter(range(len(state.items)))

    async def worker() -> None:
        for index in indices:
            await state.run_item(index)

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(min(limit, len(state.items))):
                group.create_task(worker())
    except BaseExceptionGroup as errors:
        raise_first(errors)
