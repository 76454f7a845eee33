"""Rendering a prompt's content with variables into chat messages (compiled once per content hash)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jinja2.environment import Template

from llmops.core.errors import ValidationError
from llmops.core.models import content_hash
from llmops.prompts.content import PromptContent, prompt_content_parse, type_error
from llmops.prompts.templating import TemplateCache, TemplateRenderError, compile_template, render_template
from workflows import ChatMessage, RenderedPrompt

_CACHE = TemplateCache()
_CHAT_ROLES = ("system", "user", "assistant")


@dataclass(frozen=True, slots=True)
class CompiledPrompt:
    """Validated content with its templates compiled: one per message (``None`` for placeholders)."""

    content: PromptContent
    templates: tuple[Template | None, ...]
    digest: str


def compiled_prompt(content: Mapping[str, Any], digest: str | None = None) -> CompiledPrompt:
    """Validate and compile ``content``; cached by its content hash (a version's ``content_hash``)."""
    key = digest or content_hash(content)

    def build() -> CompiledPrompt:
        parsed = prompt_content_parse(content, prefix="content")
        if parsed.type == "text":
            return CompiledPrompt(parsed, (compile_template(parsed.template),), key)
        templates = tuple(
            None if message.role == "placeholder" else compile_template(message.content)
            for message in parsed.messages
        )
        return CompiledPrompt(parsed, templates, key)

    compiled: CompiledPrompt = _CACHE.get_or_build(key, build)
    return compiled


def cache_size() -> int:
    """How many compiled prompts this process holds."""
    return len(_CACHE)


def resolve_variables(content: PromptContent, given: Mapping[str, Any]) -> dict[str, Any]:
    """Declared variables from ``given``, defaults and type checks applied (``variables.<name>`` errors)."""
    values: dict[str, Any] = {}
    problems: dict[str, list[str]] = {}
    for variable in content.variables:
        if variable.name in given and given[variable.name] is not None:
            value = given[variable.name]
            if problem := type_error(variable.type, value):
                problems[f"variables.{variable.name}"] = [problem]
            values[variable.name] = value
        elif variable.default is not None:
            values[variable.name] = variable.default
        elif variable.required:
            problems[f"variables.{variable.name}"] = ["This variable is required."]
        else:
            values[variable.name] = variable.empty()
    if problems:
        names = ", ".join(path.removeprefix("variables.") for path in problems)
        raise ValidationError(f"Invalid variables: {names}.", fields=problems)
    values["examples"] = [example.model_dump(mode="json") for example in content.examples]
    return values


def _placeholder_messages(name: str, value: Any) -> list[ChatMessage]:
    if value is None:
        return []
    error = ValidationError(
        f"Invalid messages for placeholder {name!r}.",
        fields={f"variables.{name}": ["Expected a list of {role, content} messages."]},
    )
    if not isinstance(value, list):
        raise error
    messages = []
    for item in value:
        if not isinstance(item, Mapping) or item.get("role") not in _CHAT_ROLES:
            raise error
        messages.append(ChatMessage(role=item["role"], content=str(item.get("content", ""))))
    return messages


def _render(template: Template | None, values: dict[str, Any], path: str) -> str:
    assert template is not None
    try:
        return render_template(template, values)
    except TemplateRenderError as exc:
        raise ValidationError(str(exc), fields={path: [str(exc)]}) from None


def render_compiled(
    compiled: CompiledPrompt,
    variables: Mapping[str, Any],
    *,
    version: str = "",
    placeholders: Mapping[str, list[dict[str, Any]]] | None = None,
) -> RenderedPrompt:
    """Render compiled content; ``placeholders`` fill placeholder messages (else the same-named variable)."""
    content = compiled.content
    values = resolve_variables(content, variables)
    fills = {**{k: v for k, v in variables.items() if k not in values}, **(placeholders or {})}
    if content.type == "text":
        text = _render(compiled.templates[0], values, "template")
        messages = [ChatMessage(role="user", content=text)]
    else:
        messages = []
        for index, (message, template) in enumerate(zip(content.messages, compiled.templates, strict=True)):
            if message.role == "placeholder":
                messages += _placeholder_messages(message.content, fills.get(message.content))
            else:
                text = _render(template, values, f"messages.{index}.content")
                messages.append(ChatMessage(role=message.role, content=text))
    return RenderedPrompt(
        messages=tuple(messages),
        version=version,
        model=content.model,
        parameters=content.parameters.model_dump(mode="json", exclude_none=True),
    )
