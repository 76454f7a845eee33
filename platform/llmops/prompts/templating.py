"""Sandboxed Jinja2 templates: static checks on save, compiled-and-cached rendering at run time.

Templates run in the engine's ``BoundedSandbox`` (an ``ImmutableSandboxedEnvironment`` whose renders are
bounded in time, iterations and size, the same rules as workflow templates: ``LLMOPS_TEMPLATE_MAX_*``) with
``StrictUndefined``: ``{{ topic }}`` works as in Dify and Langfuse, a missing variable is an error rather than
an empty string, and attribute tricks such as ``{{ ''.__class__.__mro__ }}`` are refused twice: statically on
save (any ``_``-prefixed attribute or key) and by the sandbox at render time.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from jinja2 import StrictUndefined, TemplateSyntaxError, meta, nodes
from jinja2.environment import Template
from jinja2.exceptions import SecurityError, UndefinedError

from workflows import BoundedSandbox, TemplateLimitError, TemplateLimits, render_bounded

ENVIRONMENT = BoundedSandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


def template_limits() -> TemplateLimits:
    """What one render may spend (``LLMOPS_TEMPLATE_MAX_*``): prompts here, workflow templates in runs."""
    return TemplateLimits(
        max_output_chars=settings.LLMOPS_TEMPLATE_MAX_OUTPUT_CHARS,
        max_iterations=settings.LLMOPS_TEMPLATE_MAX_ITERATIONS,
        max_seconds=settings.LLMOPS_TEMPLATE_MAX_SECONDS,
    )


class TemplateRenderError(Exception):
    """A template failed at render time (sandbox refusal or undefined value); ``str()`` explains it."""


@dataclass(frozen=True, slots=True)
class TemplateCheck:
    """What a static check of one template found."""

    variables: frozenset[str] = frozenset()
    problems: tuple[str, ...] = ()


def _unsafe_accesses(tree: nodes.Template) -> list[str]:
    names = [node.attr for node in tree.find_all(nodes.Getattr) if node.attr.startswith("_")]
    for item in tree.find_all(nodes.Getitem):
        if isinstance(item.arg, nodes.Const) and str(item.arg.value).startswith("_"):
            names.append(str(item.arg.value))
    return names


def template_check(source: str) -> TemplateCheck:
    """Parse ``source``: the variables it reads, and its syntax or safety problems."""
    try:
        tree = ENVIRONMENT.parse(source)
    except TemplateSyntaxError as exc:
        return TemplateCheck(problems=(f"Template syntax error on line {exc.lineno}: {exc.message}",))
    problems = tuple(
        f"Access to the private attribute {name!r} is not allowed." for name in _unsafe_accesses(tree)
    )
    return TemplateCheck(frozenset(meta.find_undeclared_variables(tree)), problems)


def render_template(template: Template, variables: dict[str, Any]) -> str:
    """Render a compiled template within ``template_limits()``; sandbox, limit and undefined errors become
    :class:`TemplateRenderError`."""
    try:
        return render_bounded(template, variables, template_limits())
    except TemplateLimitError as exc:
        raise TemplateRenderError(f"The template went past its limits: {exc}.") from None
    except SecurityError as exc:
        raise TemplateRenderError(f"The sandbox refused the template: {exc}") from None
    except UndefinedError as exc:
        raise TemplateRenderError(f"The template used an undefined value: {exc}") from None
    except (TypeError, ValueError, ArithmeticError, LookupError) as exc:
        raise TemplateRenderError(f"The template failed: {exc}") from None


@dataclass
class TemplateCache:
    """A small LRU of compiled templates keyed by content hash, shared by every thread of a process."""

    maxsize: int = 512
    _items: OrderedDict[str, Any] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get_or_build(self, key: str, build: Callable[[], Any]) -> Any:
        """The cached value for ``key``, building (outside the lock) and storing it on a miss."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = build()
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._items)


def compile_template(source: str) -> Template:
    """Compile ``source`` in the sandbox (callers cache the result per content hash)."""
    return ENVIRONMENT.from_string(source)
