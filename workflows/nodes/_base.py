"""What a node type is: a config model, typed outputs, branch handles and an async ``run``.

Config fields typed ``Template`` or ``Selector`` are found by walking the parsed config, so validation checks
every variable reference of every node type without per-type code.
"""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Generic, TypeVar, cast

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from workflows._errors import PortNotConfiguredError, Problem, TemplateError
from workflows._jinja import TemplateLimits
from workflows._ports import CallContext, ChatMessage, Ports, Usage
from workflows._variables import (
    Reference,
    compile_template,
    parse_selector,
    render,
    resolve,
    selector_reference,
    simple_segments,
    template_references,
)

if TYPE_CHECKING:
    from workflows._dsl import Node
    from workflows._events import Event
    from workflows._graph import CompiledGraph


class TemplateStr(str):
    """A config string rendered as a Jinja2 template against the variable pool."""

    __slots__ = ()


class SelectorStr(str):
    """A config string naming a value in the pool: ``node_id.output.path``."""

    __slots__ = ()


class BodySelectorStr(str):
    """A selector into a container's body (resolved against the body's pool, e.g. an iteration's result)."""

    __slots__ = ()


def _as_template(value: str) -> TemplateStr:
    try:
        compile_template(value)
    except TemplateError as exc:
        raise ValueError(str(exc)) from None
    return TemplateStr(value)


def _as_selector(value: str) -> SelectorStr:
    parse_selector(value)
    return SelectorStr(value)


def _as_body_selector(value: str) -> BodySelectorStr:
    parse_selector(value)
    return BodySelectorStr(value)


Template = Annotated[str, AfterValidator(_as_template), Field(json_schema_extra={"format": "template"})]
Selector = Annotated[str, AfterValidator(_as_selector), Field(json_schema_extra={"format": "selector"})]
BodySelector = Annotated[
    str, AfterValidator(_as_body_selector), Field(json_schema_extra={"format": "selector"})
]


class NodeConfig(BaseModel):
    """Base of every node config: unknown keys are errors (typos must not pass silently)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(slots=True)
class NodeResult:
    """What a node run produced: outputs, the branch handle it takes, and model usage."""

    outputs: dict[str, Any]
    branch: str = "source"
    usage: Usage = field(default_factory=Usage)


C = TypeVar("C", bound=NodeConfig)

Summarize = Callable[[dict[str, Any]], dict[str, Any]]
"""What a container keeps of one body run, from the body's pool (see ``NodeContext.run_body_checkpointed``)."""
BodyRunner = Callable[
    ["NodeContext", Mapping[str, Any], int, Summarize, str, bool], Awaitable[dict[str, Any]]
]


class NodeContext:
    """Everything a running node may touch: the pool (read-only), ports, and ways to emit progress."""

    __slots__ = (
        "_emit",
        "_on_text",
        "_run_body",
        "_run_checkpointed",
        "call",
        "history",
        "index",
        "node",
        "parent_id",
        "pool",
        "ports",
        "run_id",
        "template_limits",
    )

    def __init__(
        self,
        *,
        node: Node,
        pool: Mapping[str, Any],
        ports: Ports,
        call: CallContext,
        emit: Callable[[Event], None],
        on_text: Callable[[str, str], None],
        run_body: Callable[[NodeContext, Mapping[str, Any], int], Awaitable[dict[str, Any]]],
        history: tuple[ChatMessage, ...] = (),
        parent_id: str | None = None,
        index: int | None = None,
        run_checkpointed: BodyRunner | None = None,
        template_limits: TemplateLimits | None = None,
    ) -> None:
        self.node = node
        self.pool = pool
        self.ports = ports
        self.call = call
        self.run_id = call.run_id
        self._emit = emit
        self._on_text = on_text
        self._run_body = run_body
        self._run_checkpointed = run_checkpointed
        self.history = history
        self.parent_id = parent_id
        self.index = index
        self.template_limits = template_limits

    def render(self, template: str, extra: Mapping[str, Any] | None = None) -> str:
        """Render a template against the pool (``extra`` adds node-local names), within the run's limits."""
        return render(template, self.pool, extra, self.template_limits)

    async def render_off_loop(self, template: str, extra: Mapping[str, Any] | None = None) -> str:
        """``render`` in a worker thread, for nodes whose work *is* rendering a user's template.

        The render is bounded (``TemplateLimits``) either way; off the loop, the process keeps serving
        everything else meanwhile (other nodes, a worker's heartbeat, a web process's requests).
        """
        if simple_segments(template) is not None:
            # Text and references only: no loop can run, and a thread hop would cost more than the render.
            return render(template, self.pool, extra, self.template_limits)
        return await asyncio.to_thread(render, template, self.pool, extra, self.template_limits)

    def value(self, template: str) -> Any:
        """A template's value: a lone placeholder gives the raw value (``{{ a.list }}`` stays a list)."""
        segments = simple_segments(template)
        if segments is not None and len(segments) == 1 and segments[0][0] == "ref":
            return resolve(self.pool, segments[0][1])
        return render(template, self.pool, None, self.template_limits)

    def resolve(self, selector: str, default: Any = None) -> Any:
        """The value a selector points at."""
        return resolve(self.pool, selector, default)

    def emit(self, event: Event) -> None:
        """Publish an event (text chunks, progress) into the run's stream."""
        self._emit(event)

    def stream_text(self, delta: str) -> None:
        """Publish a streamed piece of this node's ``text`` output (answer nodes downstream stream it on)."""
        if delta:
            self._on_text(self.node.id, delta)

    async def run_body(self, overlay: Mapping[str, Any], index: int) -> dict[str, Any]:
        """Run this container's body once with ``overlay`` added to the pool; returns the body's pool."""
        return await self._run_body(self, overlay, index)

    async def run_body_checkpointed(
        self,
        overlay: Mapping[str, Any],
        index: int,
        summarize: Summarize,
        *,
        unit: str = "item",
        keep_failures: bool = False,
    ) -> dict[str, Any]:
        """Run body run ``index`` like ``run_body`` and return ``summarize(body pool)``, resumably.

        The summary is what the container keeps of that body run (JSON-compatible). With a RunStore it is
        checkpointed as a body record (``NodeRecord.is_body_run``, node type ``<container type>_<unit>``) as
        soon as the body finishes, and a resumed run returns it again without running the body when the
        ``overlay`` (the body's input: item, index, loop variables) is unchanged. A failing body raises as
        with ``run_body``; its failure is checkpointed too, and on resume it is raised again (as
        ``BodyNodeError``) when ``keep_failures`` (the container carries on past a failed body run), or the
        body runs again otherwise. A body made only of ``pure`` nodes is never recorded: it just runs again.
        """
        if self._run_checkpointed is None:  # a context built outside the executor: nothing to persist
            return summarize(await self._run_body(self, overlay, index))
        return await self._run_checkpointed(self, overlay, index, summarize, unit, keep_failures)

    def port(self, name: str) -> Any:
        """A configured port, or PortNotConfiguredError naming what is missing."""
        adapter = getattr(self.ports, name)
        if adapter is None:
            raise PortNotConfiguredError(f"node type {self.node.type!r} needs the {name!r} port")
        return adapter


class NodeKind(Generic[C]):
    """A node type. Subclasses set ``type`` and ``config_model`` and implement ``run``."""

    type: ClassVar[str]
    config_model: ClassVar[builtins.type[NodeConfig]]
    container: ClassVar[bool] = False
    # Cheap, free of side effects, and the same outputs for the same pool: a container body made only of
    # such nodes runs again on resume instead of checkpointing each item (a row per item buys nothing).
    pure: ClassVar[bool] = False
    description: ClassVar[str] = ""

    def parse_config(self, data: Mapping[str, Any]) -> C:
        """Validate a raw config mapping (raises pydantic.ValidationError)."""
        return cast(C, self.config_model.model_validate(data))

    def outputs(self, config: C) -> Mapping[str, str] | None:
        """Declared outputs (name -> JSON type), or None when they depend on run time data."""
        return {}

    def handles(self, config: C) -> tuple[str, ...]:
        """The branch handles outgoing edges may use."""
        return ("source",)

    def body_names(self, config: C) -> Mapping[str, str] | None:
        """For containers: the names body nodes read from ``{{ container_id.<name> }}`` (item, index ...)."""
        return {}

    def stream_template(self, config: C) -> str | None:
        """A template the executor streams as ``text_chunk`` events while upstream nodes produce it."""
        return None

    def check(self, config: C, node: Node, graph: CompiledGraph) -> list[Problem]:
        """Extra semantic checks beyond the config schema."""
        return []

    def references(self, config: C) -> Iterator[tuple[str, Reference, bool]]:
        """(config path, reference, is_body_reference) for every template and selector in the config."""
        yield from walk_references(config, "config")

    async def run(self, config: C, ctx: NodeContext) -> NodeResult:
        """Execute the node."""
        raise NotImplementedError


def walk_references(value: Any, path: str) -> Iterator[tuple[str, Reference, bool]]:
    """Find Template/Selector strings anywhere in a parsed config."""
    if isinstance(value, TemplateStr):
        for ref in template_references(value):
            yield path, ref, False
    elif isinstance(value, SelectorStr):
        yield path, selector_reference(value), False
    elif isinstance(value, BodySelectorStr):
        yield path, selector_reference(value), True
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from walk_references(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from walk_references(item, f"{path}.{i}")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from walk_references(item, f"{path}.{key}")
