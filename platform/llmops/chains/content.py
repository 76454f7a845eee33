"""The content of a chain version, validated with pydantic plus checks against the workspace's prompts.

::

    {"prompt": {"slug": "summarize", "version": "production"},
     "model": "gpt-4o@production",
     "parameters": {"temperature": 0},
     "output_parser": {"type": "json", "schema": {"type": "object", "required": ["title"]}},
     "retriever": {"knowledge_base_ids": ["kb-1"], "top_k": 4, "query_variable": "question",
                   "context_variable": "context"},
     "memory": {"type": "window", "k": 3, "placeholder": "history"},
     "moderation": {"input": {"keywords": ["password"]}}}

``prompt.version`` is a number, a label or ``"latest"``; ``model`` (a model endpoint reference, see
``llmops.core.refs``) overrides the prompt's; ``parameters`` are merged over the prompt's. Output parsers:
``text``; ``json`` (optionally checked against a JSON Schema); ``list`` split by ``lines`` or ``comma``.
"""

from __future__ import annotations

from typing import Any, Literal

import jsonschema
from pydantic import BaseModel, ConfigDict, Field

from llmops.accounts.models import Workspace
from llmops.core.errors import LLMOpsError, ValidationError
from llmops.core.refs import REF_MAX_LENGTH, REF_PATTERN, SLUG_PATTERN, ResourceRef, version_parse
from llmops.prompts.moderation import ModerationConfig
from llmops.prompts.selectors import prompt_snapshot_by_ref
from llmops.prompts.validation import parse_model

IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"


class PromptReference(BaseModel):
    """Which prompt version a chain renders."""

    model_config = ConfigDict(extra="forbid")

    slug: str = Field(pattern=SLUG_PATTERN, max_length=100)
    version: int | str = Field(default="latest", description='A number, a label or "latest".')

    def ref(self) -> ResourceRef:
        """As a prompt reference (a stored ``"@label"`` is read as the label, as it always was)."""
        version = self.version.removeprefix("@") if isinstance(self.version, str) else self.version
        return ResourceRef(self.slug, version_parse(version, field="prompt.version"))


class OutputParser(BaseModel):
    """How the model's answer becomes the chain's ``output``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    type: Literal["text", "json", "list"] = "text"
    json_schema: dict[str, Any] | None = Field(default=None, alias="schema")
    separator: Literal["lines", "comma"] = "lines"


class RetrieverConfig(BaseModel):
    """Knowledge-base retrieval whose passages fill a prompt variable before the call."""

    model_config = ConfigDict(extra="forbid")

    knowledge_base_ids: list[str] = Field(min_length=1, max_length=20)
    top_k: int = Field(default=4, ge=1, le=50)
    score_threshold: float | None = Field(default=None, ge=0, le=1)
    mode: Literal["vector", "full_text", "hybrid"] = "hybrid"
    query_variable: str = Field(default="query", pattern=IDENTIFIER)
    context_variable: str = Field(default="context", pattern=IDENTIFIER)


class MemoryConfig(BaseModel):
    """Window memory: the last ``k`` turns of the conversation are sent with each call."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["window"] = "window"
    k: int = Field(default=5, ge=1, le=100)
    placeholder: str = Field(default="history", pattern=IDENTIFIER)


class ChainContent(BaseModel):
    """A chain's draft or version content."""

    model_config = ConfigDict(extra="forbid")

    prompt: PromptReference
    model: str | None = Field(default=None, pattern=REF_PATTERN, max_length=REF_MAX_LENGTH)
    parameters: dict[str, Any] = Field(default_factory=dict)
    output_parser: OutputParser = Field(default_factory=OutputParser)
    retriever: RetrieverConfig | None = None
    memory: MemoryConfig | None = None
    moderation: ModerationConfig | None = None

    def dump(self) -> dict[str, Any]:
        """The stored form."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def _schema_problems(content: ChainContent) -> dict[str, list[str]]:
    schema = content.output_parser.json_schema
    if schema is None:
        return {}
    if content.output_parser.type != "json":
        return {"output_parser.schema": ["Only the json parser takes a schema."]}
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as exc:
        return {"output_parser.schema": [f"Not a valid JSON Schema: {exc.message}"]}
    return {}


def _prompt_problems(content: ChainContent, workspace: Workspace) -> dict[str, list[str]]:
    try:
        snapshot = prompt_snapshot_by_ref(workspace=workspace, ref=content.prompt.ref())
    except LLMOpsError as exc:
        return {"prompt": [exc.message]}
    prompt = snapshot.compiled.content
    problems: dict[str, list[str]] = {}
    if not content.model and not prompt.model:
        problems["model"] = ["Neither the chain nor its prompt names a model endpoint."]
    if content.retriever and prompt.variable(content.retriever.context_variable) is None:
        name = content.retriever.context_variable
        problems["retriever.context_variable"] = [f"The prompt declares no variable {name!r}."]
    return problems


def chain_content_parse(
    data: Any, *, workspace: Workspace | None = None, prefix: str = "draft"
) -> ChainContent:
    """Validate chain content; with ``workspace``, also that its prompt resolves and a model is named."""
    content = parse_model(ChainContent, data, prefix=prefix, what="chain")
    problems = _schema_problems(content)
    if workspace is not None:
        problems.update(_prompt_problems(content, workspace))
    if problems:
        raise ValidationError(
            "Invalid chain.", fields={f"{prefix}.{path}": messages for path, messages in problems.items()}
        )
    return content


def chain_content_normalize(data: Any, *, workspace: Workspace) -> dict[str, Any]:
    """The validated content as stored (defaults filled in, unset optional values dropped)."""
    return chain_content_parse(data, workspace=workspace).dump()
