"""The content of a prompt version, validated with pydantic, and its semantic checks.

::

    {"type": "chat",
     "messages": [{"role": "system", "content": "You summarise {{ language }} text."},
                  {"role": "placeholder", "content": "history"},
                  {"role": "user", "content": "{{ text }}"}],
     "variables": [{"name": "text", "type": "string", "required": true},
                   {"name": "language", "type": "string", "required": false, "default": "English"}],
     "examples": [{"input": {"text": "..."}, "output": "..."}],
     "model": "gpt-4o@production",
     "parameters": {"temperature": 0.2, "max_tokens": 256},
     "moderation": {"input": {"keywords": ["password"]}}}

A text prompt has ``"type": "text"`` and a ``template`` instead of ``messages``. A ``placeholder``
message names a list of ``{role, content}`` messages spliced in at render time (a chain's memory fills
``history``). Templates read declared variables and the reserved ``examples`` (the few-shot list).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from llmops.core.errors import ValidationError
from llmops.prompts.moderation import ModerationConfig
from llmops.prompts.templating import template_check
from llmops.prompts.validation import parse_model

VariableType = Literal["string", "number", "boolean", "json", "list"]
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
RESERVED_NAMES = frozenset({"examples"})


def type_error(kind: str, value: Any) -> str | None:
    """Why ``value`` is not a valid ``kind`` variable (``None`` when it is)."""
    valid = {
        "string": isinstance(value, str),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
        "json": True,
        "list": isinstance(value, list),
    }[kind]
    return None if valid else f"Expected a {kind}, got {type(value).__name__}."


class Variable(BaseModel):
    """A typed template variable."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=IDENTIFIER.pattern)
    type: VariableType = "string"
    required: bool = True
    default: Any = None
    description: str = Field(default="", max_length=2000)

    @model_validator(mode="after")
    def _default_has_the_type(self) -> Variable:
        if self.default is not None and (problem := type_error(self.type, self.default)):
            raise ValueError(f"default: {problem}")
        return self

    def empty(self) -> Any:
        """The value of an optional variable that has no default."""
        return {"string": "", "list": [], "boolean": False}.get(self.type)


class Message(BaseModel):
    """A chat message template; a ``placeholder`` message's content is the name of a message list."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "user", "assistant", "placeholder"]
    content: str = Field(max_length=200_000)


class Example(BaseModel):
    """A few-shot example: input variables and the expected output."""

    model_config = ConfigDict(extra="forbid")

    input: dict[str, Any] = Field(default_factory=dict)
    output: Any = ""


class Parameters(BaseModel):
    """Model parameters; unknown provider-specific ones are kept as given."""

    model_config = ConfigDict(extra="allow")

    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1, le=1_000_000)
    top_p: float | None = Field(default=None, ge=0, le=1)
    stop: list[str] | None = Field(default=None, max_length=16)
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    seed: int | None = None


class PromptContent(BaseModel):
    """A prompt's draft or version content."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["chat", "text"] = "chat"
    messages: list[Message] = Field(default_factory=list, max_length=200)
    template: str = Field(default="", max_length=200_000)
    variables: list[Variable] = Field(default_factory=list, max_length=200)
    examples: list[Example] = Field(default_factory=list, max_length=200)
    model: str | None = Field(default=None, min_length=1, max_length=200)
    parameters: Parameters = Field(default_factory=Parameters)
    moderation: ModerationConfig | None = None

    def templates(self) -> list[tuple[str, str]]:
        """``(field path, source)`` of every template (placeholders excluded)."""
        if self.type == "text":
            return [("template", self.template)]
        return [
            (f"messages.{index}.content", message.content)
            for index, message in enumerate(self.messages)
            if message.role != "placeholder"
        ]

    def variable(self, name: str) -> Variable | None:
        """The declared variable called ``name``."""
        return next((variable for variable in self.variables if variable.name == name), None)


def _shape_problems(content: PromptContent) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    if content.type == "chat" and not content.messages:
        problems["messages"] = ["A chat prompt needs at least one message."]
    if content.type == "chat" and content.template:
        problems["template"] = ["A chat prompt has messages, not a template."]
    if content.type == "text" and not content.template.strip():
        problems["template"] = ["A text prompt needs a template."]
    if content.type == "text" and content.messages:
        problems["messages"] = ["A text prompt has a template, not messages."]
    for index, message in enumerate(content.messages):
        if message.role == "placeholder" and not IDENTIFIER.match(message.content):
            problems[f"messages.{index}.content"] = ["A placeholder's content is a name, like 'history'."]
    return problems


def _variable_problems(content: PromptContent) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    seen: set[str] = set()
    for index, variable in enumerate(content.variables):
        if variable.name in RESERVED_NAMES:
            problems[f"variables.{index}.name"] = [f"{variable.name!r} is reserved."]
        elif variable.name in seen:
            problems[f"variables.{index}.name"] = [f"{variable.name!r} is declared twice."]
        seen.add(variable.name)
    for index, example in enumerate(content.examples):
        for name, value in example.input.items():
            declared = content.variable(name)
            problem = "Not a declared variable." if declared is None else type_error(declared.type, value)
            if problem:
                problems[f"examples.{index}.input.{name}"] = [problem]
    return problems


def _template_problems(content: PromptContent) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    known = {variable.name for variable in content.variables} | RESERVED_NAMES
    for path, source in content.templates():
        check = template_check(source)
        found = list(check.problems)
        found += [f"Undeclared variable {name!r}." for name in sorted(check.variables - known)]
        if found:
            problems[path] = found
    return problems


def prompt_content_parse(data: Any, *, prefix: str = "draft") -> PromptContent:
    """Validate prompt content: shape (pydantic), then variables and templates; errors name field paths."""
    content = parse_model(PromptContent, data, prefix=prefix, what="prompt")
    problems = {**_shape_problems(content), **_variable_problems(content), **_template_problems(content)}
    if problems:
        fields = {f"{prefix}.{path}": messages for path, messages in problems.items()}
        raise ValidationError("Invalid prompt.", fields=fields)
    return content


def prompt_content_normalize(data: Any, *, prefix: str = "draft") -> dict[str, Any]:
    """The validated content as stored: defaults filled in, unset optional values dropped."""
    return prompt_content_parse(data, prefix=prefix).model_dump(mode="json", exclude_none=True)
