"""JSON Schema of the DSL for the editor: the workflow document with each node's config per node type."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import Field, TypeAdapter, create_model

from workflows._dsl import Node, Workflow
from workflows.nodes import NODE_KINDS


def workflow_json_schema() -> dict[str, Any]:
    """A JSON Schema (draft 2020-12) where ``nodes`` items are discriminated by ``type``."""
    variants = [
        create_model(
            f"{''.join(p.title() for p in name.split('_'))}Node",
            __base__=Node,
            type=(Literal[name], ...),  # type: ignore[arg-type]
            config=(kind.config_model, Field(default_factory=kind.config_model)),
            __doc__=kind.description or f"A {name} node.",
        )
        for name, kind in sorted(NODE_KINDS.items())
    ]
    # The union is built at run time from the registry, so it is typed as Any for mypy.
    node_union: Any = Annotated[Union[tuple(variants)], Field(discriminator="type")]  # noqa: UP007
    document = create_model(
        "WorkflowDocument", __base__=Workflow, nodes=(list[node_union], Field(default_factory=list))
    )
    schema: dict[str, Any] = TypeAdapter(document).json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Workflow"
    return schema
