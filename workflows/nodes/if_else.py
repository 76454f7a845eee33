"""if_else: takes the handle of the first case whose conditions hold, else ``else``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated

from pydantic import Field

from workflows._dsl import NODE_ID_PATTERN
from workflows._errors import Problem
from workflows.nodes._base import NodeConfig, NodeContext, NodeKind, NodeResult
from workflows.nodes._conditions import ConditionGroup, group_holds

if TYPE_CHECKING:
    from workflows._dsl import Node
    from workflows._graph import CompiledGraph


class Case(ConditionGroup):
    """A branch: its ``id`` is the edge's source handle."""

    id: Annotated[str, Field(pattern=NODE_ID_PATTERN)]


class IfElseConfig(NodeConfig):
    """Cases are tried in order; none holding takes the ``else`` handle."""

    cases: list[Case] = Field(min_length=1)


class IfElseNode(NodeKind[IfElseConfig]):
    """Outputs ``case``: the handle taken."""

    type = "if_else"
    pure = True
    config_model = IfElseConfig
    description = "Branches on and/or conditions."

    def outputs(self, config: IfElseConfig) -> Mapping[str, str] | None:
        return {"case": "string"}

    def handles(self, config: IfElseConfig) -> tuple[str, ...]:
        return (*(case.id for case in config.cases), "else")

    def check(self, config: IfElseConfig, node: Node, graph: CompiledGraph) -> list[Problem]:
        ids = [case.id for case in config.cases]
        return [
            Problem(
                f"config.cases.{i}.id",
                f"duplicate or reserved case id {case_id!r}",
                node.id,
                "duplicate_case",
            )
            for i, case_id in enumerate(ids)
            if case_id == "else" or ids.index(case_id) != i
        ]

    async def run(self, config: IfElseConfig, ctx: NodeContext) -> NodeResult:
        for case in config.cases:
            if group_holds(case, ctx.pool):
                return NodeResult({"case": case.id}, branch=case.id)
        return NodeResult({"case": "else"}, branch="else")
