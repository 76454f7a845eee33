"""The compiled form of a valid workflow: parsed configs, adjacency, scopes and precomputed facts.

Everything the executor needs per node is computed here once, so a run does no graph analysis.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from workflows._dsl import Node, Workflow
from workflows.nodes._base import NodeConfig, NodeKind

SYS_VARIABLES = (
    "run_id",
    "user_id",
    "workspace_id",
    "conversation_id",
    "workflow",
    "time",
    "inputs",
    "query",
    "dialogue_count",
)


@dataclass(frozen=True, slots=True)
class CompiledEdge:
    """An edge with its handle resolved."""

    source: str
    target: str
    handle: str


@dataclass(slots=True)
class CompiledNode:
    """A node with its parsed config, its kind and its edges."""

    node: Node
    kind: NodeKind[Any]
    config: NodeConfig
    in_edges: list[CompiledEdge] = field(default_factory=list)
    out_edges: list[CompiledEdge] = field(default_factory=list)
    stream_template: str | None = None

    @property
    def id(self) -> str:
        """The node id."""
        return self.node.id


@dataclass(slots=True)
class Scope:
    """The top-level graph (``id`` None) or one container's body."""

    id: str | None
    node_ids: list[str] = field(default_factory=list)
    entries: list[str] = field(default_factory=list)


@dataclass(slots=True)
class CompiledGraph:
    """A validated workflow ready to execute; build it with ``compile_workflow``."""

    workflow: Workflow
    nodes: dict[str, CompiledNode] = field(default_factory=dict)
    scopes: dict[str | None, Scope] = field(default_factory=dict)
    declared_outputs: dict[str, Mapping[str, str] | None] = field(default_factory=dict)
    # For each answer node: the nodes whose success guarantees it will run (its text may stream early).
    stream_sources: dict[str, frozenset[str]] = field(default_factory=dict)
    # In a workflow without answer nodes: the nodes whose streamed ``text`` is the reply (the end node's
    # ``answer`` output, else its only output, is exactly ``<node>.text``) and whose success guarantees that
    # end node runs. A chat client may show their tokens as the reply while they stream.
    reply_sources: frozenset[str] = frozenset()
    # Containers whose bodies hold only pure nodes (and such containers): not checkpointed item by item.
    replayable_bodies: frozenset[str] = frozenset()

    @property
    def secret_names(self) -> frozenset[str]:
        """Names of environment variables whose values are redacted from events."""
        return frozenset(v.name for v in self.workflow.environment if v.type == "secret")

    def body(self, container_id: str) -> Scope:
        """The body scope of a container node."""
        return self.scopes[container_id]
