"""list_operator: filter, sort and limit a list."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field

from workflows._errors import NodeError
from workflows.nodes._base import NodeConfig, NodeContext, NodeKind, NodeResult, Selector
from workflows.nodes._conditions import ItemCondition, compare, expected_value


class ListOperatorConfig(NodeConfig):
    """Filter (conditions on items, or on ``key`` of dict items), then sort by ``sort_key``, then limit."""

    variable: Selector
    filters: list[ItemCondition] = Field(default_factory=list)
    logical_operator: Literal["and", "or"] = "and"
    sort_key: str | None = None
    sort_order: Literal["asc", "desc"] = "asc"
    limit: int | None = Field(default=None, ge=0)


class ListOperatorNode(NodeKind[ListOperatorConfig]):
    """Outputs ``result``, ``first``, ``last`` and ``count``."""

    type = "list_operator"
    pure = True
    config_model = ListOperatorConfig
    description = "Filters, sorts and limits a list."

    def outputs(self, config: ListOperatorConfig) -> Mapping[str, str] | None:
        return {"result": "array", "first": "any", "last": "any", "count": "number"}

    async def run(self, config: ListOperatorConfig, ctx: NodeContext) -> NodeResult:
        items = ctx.resolve(config.variable)
        if not isinstance(items, list):
            raise NodeError(f"list_operator needs a list at {config.variable!r}, got {type(items).__name__}")
        expected = [expected_value(f.value, ctx.pool) for f in config.filters]
        result = [item for item in items if _keep(config, item, expected)]
        if config.sort_key is not None:
            result = _sorted(result, config.sort_key, config.sort_order == "desc")
        if config.limit is not None:
            result = result[: config.limit]
        first, last = (result[0], result[-1]) if result else (None, None)
        return NodeResult({"result": result, "first": first, "last": last, "count": len(result)})


def _field(item: Any, key: str) -> Any:
    return item.get(key) if key and isinstance(item, dict) else (None if key else item)


def _keep(config: ListOperatorConfig, item: Any, expected: list[Any]) -> bool:
    if not config.filters:
        return True
    results = (
        compare(f.operator, _field(item, f.key), value)
        for f, value in zip(config.filters, expected, strict=True)
    )
    return all(results) if config.logical_operator == "and" else any(results)


def _sorted(items: list[Any], key: str, descending: bool) -> list[Any]:
    present = [i for i in items if _field(i, key) is not None]
    missing = [i for i in items if _field(i, key) is None]  # always last, whatever the order
    try:
        return sorted(present, key=lambda i: _field(i, key), reverse=descending) + missing
    except TypeError as exc:
        raise NodeError(f"cannot sort by {key!r}: {exc}") from None
