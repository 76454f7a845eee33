"""The workflow DSL: pydantic models, YAML/JSON round trip and the editor's JSON Schema.

A node's ``config`` stays a plain mapping here; it is parsed against its node type's config model during
validation (``workflows._validation``) so that one bad node config is reported alongside every other problem
instead of stopping the parse at the first one.
"""

from __future__ import annotations

import json
import math
from enum import StrEnum
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from workflows._errors import DocumentError, Problem, WorkflowValidationError, problems_from_pydantic
from workflows._yaml import DocumentLimits, load_yaml

SCHEMA_VERSION = "1.0"
NODE_ID_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
# Pool namespaces and names Jinja binds itself (a node called "range" would shadow the global).
RESERVED_NAMESPACES = frozenset(
    {
        "sys",
        "env",
        "conversation",
        "loop",
        "item",
        "self",
        "varargs",
        "kwargs",
        "caller",
        "range",
        "dict",
        "lipsum",
        "cycler",
        "joiner",
        "namespace",
    }
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InputType(StrEnum):
    """The types a workflow input can have; the editor renders one widget per type."""

    TEXT = "text"
    PARAGRAPH = "paragraph"
    NUMBER = "number"
    SELECT = "select"
    BOOLEAN = "boolean"
    JSON = "json"
    FILE = "file"


class FileRef(_Model):
    """A reference to a file the platform stores; nodes resolve its bytes through the ``FileStore`` port."""

    file_id: str
    name: str = ""
    mime_type: str = ""
    size: int | None = None


class InputField(_Model):
    """One typed input of a workflow (the start node's outputs)."""

    name: Annotated[str, Field(pattern=NODE_ID_PATTERN)]
    type: InputType = InputType.TEXT
    label: str = ""
    description: str = ""
    required: bool = True
    default: Any = None
    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    options: list[str] = Field(default_factory=list)
    json_schema: dict[str, Any] | None = None


class EnvVarType(StrEnum):
    """Environment variable kinds; ``secret`` values are redacted from every event."""

    STRING = "string"
    NUMBER = "number"
    SECRET = "secret"


class EnvVar(_Model):
    """A workflow-level constant, readable as ``{{ env.NAME }}``; secrets are supplied at run time."""

    name: Annotated[str, Field(pattern=NODE_ID_PATTERN)]
    type: EnvVarType = EnvVarType.STRING
    value: Any = None
    description: str = ""


# ``array[...]`` types check their items when a variable assigner writes them (Dify's conversation types).
ConversationVariableType = Literal[
    "string", "number", "boolean", "object", "array", "array[string]", "array[number]", "array[object]"
]


class ConversationVariable(_Model):
    """State a chat workflow carries between turns, readable as ``{{ conversation.NAME }}``."""

    name: Annotated[str, Field(pattern=NODE_ID_PATTERN)]
    type: ConversationVariableType = "string"
    default: Any = None
    description: str = ""


class RetryPolicy(_Model):
    """How often a failing node is retried and how long to wait between attempts (exponential backoff)."""

    max_attempts: Annotated[int, Field(ge=1, le=20)] = 1
    backoff_seconds: Annotated[float, Field(ge=0)] = 0.5
    backoff_multiplier: Annotated[float, Field(ge=1)] = 2.0
    max_backoff_seconds: Annotated[float, Field(ge=0)] = 30.0

    def delay(self, attempt: int) -> float:
        """The wait after failed attempt number ``attempt`` (1-based)."""
        return min(self.backoff_seconds * self.backoff_multiplier ** (attempt - 1), self.max_backoff_seconds)


class ErrorStrategy(StrEnum):
    """What the run does when a node fails after its retries: fail, use defaults, or take the fail edge."""

    FAIL = "fail"
    DEFAULT_VALUE = "default_value"
    FAIL_BRANCH = "fail_branch"


class Node(_Model):
    """A step of the graph. ``parent`` places it inside an iteration or loop container."""

    id: Annotated[str, Field(pattern=NODE_ID_PATTERN, max_length=64)]
    type: str
    title: str = ""
    config: dict[str, Any] = Field(default_factory=dict)
    parent: str | None = None
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    timeout_seconds: Annotated[float, Field(gt=0)] | None = None
    error_strategy: ErrorStrategy = ErrorStrategy.FAIL
    default_outputs: dict[str, Any] = Field(default_factory=dict)
    position: dict[str, float] | None = None


class Edge(_Model):
    """A directed connection; ``source_handle`` names the source's branch (``source`` when it has one)."""

    source: str
    target: str
    source_handle: str = "source"
    id: str | None = None


class WorkflowOutput(_Model):
    """A declared output of the workflow, produced by its end node(s)."""

    name: Annotated[str, Field(pattern=NODE_ID_PATTERN)]
    type: Literal["string", "number", "boolean", "object", "array", "any"] = "any"
    description: str = ""


class Workflow(_Model):
    """A complete workflow definition, as stored in a version and exchanged as YAML or JSON."""

    schema_version: str = SCHEMA_VERSION
    name: str = ""
    description: str = ""
    mode: Literal["workflow", "chat"] = "workflow"
    inputs: list[InputField] = Field(default_factory=list)
    environment: list[EnvVar] = Field(default_factory=list)
    conversation_variables: list[ConversationVariable] = Field(default_factory=list)
    nodes: list[Node] = Field(default_factory=list)
    edges: list[Edge] = Field(default_factory=list)
    outputs: list[WorkflowOutput] = Field(default_factory=list)

    @field_validator("schema_version")
    @classmethod
    def _known_major(cls, value: str) -> str:
        # Minor versions only add optional fields, so any 1.x document parses; a 2.x one needs a migration.
        if value.split(".")[0] != SCHEMA_VERSION.split(".")[0]:
            raise ValueError(f"unsupported schema_version {value!r} (this engine reads {SCHEMA_VERSION})")
        return value

    def to_dict(self) -> dict[str, Any]:
        """A JSON-compatible dict without default-valued fields, stable for hashing and diffs."""
        return self.model_dump(mode="json", exclude_defaults=True)

    def to_json(self, *, indent: int | None = 2) -> str:
        """Serialize to JSON."""
        return json.dumps(self.to_dict(), indent=indent, sort_keys=False, ensure_ascii=False)

    def to_yaml(self) -> str:
        """Serialize to YAML (block style, key order preserved)."""
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)

    @classmethod
    def from_dict(cls, data: Any, *, limits: DocumentLimits | None = None) -> Workflow:
        """Parse a mapping; raises ``WorkflowValidationError`` listing every structural problem.

        With ``limits`` (documents from users: drafts, imports), the node and edge counts are checked first,
        so an oversized graph costs nothing to refuse; without, none are (a stored, already validated version
        keeps running when an operator lowers the caps).
        """
        oversized = _oversized(data, limits) if limits else []
        if oversized:
            raise WorkflowValidationError(oversized)
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise WorkflowValidationError(problems_from_pydantic(exc, prefix="")) from None

    @classmethod
    def from_json(cls, text: str | bytes, *, limits: DocumentLimits | None = None) -> Workflow:
        """Parse a JSON document (bounded size; nesting beyond the interpreter's stack is a problem too)."""
        cap = (limits or DocumentLimits()).max_bytes
        try:
            if len(text) > cap:
                raise DocumentError(f"the document is over {cap} bytes")
            data = json.loads(text)
        except (DocumentError, json.JSONDecodeError, RecursionError) as exc:
            message = "the document is nested too deeply" if isinstance(exc, RecursionError) else str(exc)
            raise WorkflowValidationError([Problem("", message, code="document")]) from None
        return cls.from_dict(data, limits=limits)

    @classmethod
    def from_yaml(cls, text: str | bytes, *, limits: DocumentLimits | None = None) -> Workflow:
        """Parse a YAML document (safe loader, no aliases, bounded size and depth)."""
        try:
            data = load_yaml(text, limits=limits)
        except DocumentError as exc:
            raise WorkflowValidationError([Problem("", str(exc), code="document")]) from None
        return cls.from_dict(data, limits=limits)

    def validate_inputs(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """Check and coerce run inputs against the declared fields; raises ``InputValidationError``."""
        from workflows._inputs import coerce_inputs

        return coerce_inputs(self.inputs, inputs)


def _oversized(data: Any, limits: DocumentLimits) -> list[Problem]:
    problems = []
    for key, cap in (("nodes", limits.max_nodes), ("edges", limits.max_edges)):
        items = data.get(key) if isinstance(data, dict) else None
        if isinstance(items, list) and len(items) > cap:
            message = f"a workflow has at most {cap} {key}; this one has {len(items)}"
            problems.append(Problem(key, message, code="too_many"))
    return problems


def is_finite_number(value: Any) -> bool:
    """True for int/float values that are not bool, NaN or infinite."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
