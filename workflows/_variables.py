"""Variable references: ``{{ node_id.output.path }}`` in templates and ``node_id.output.path`` selectors.

The variable pool is a plain dict of namespaces (``sys``, ``env``, ``conversation`` and one per finished node,
holding that node's outputs). Nodes only add their own namespace, so a container body gets a shallow copy of
the top-level dict (one entry per node), never a deep copy of the values.
"""

from __future__ import annotations

import json
import re
from collections import ChainMap
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jinja2
from jinja2 import nodes as jnodes
from jinja2.runtime import ChainableUndefined

from workflows._errors import TemplateError
from workflows._jinja import BoundedSandbox, TemplateLimitError, TemplateLimits, render_bounded

Pool = dict[str, Any]


class ConversationState(dict[str, Any]):
    """The pool's ``conversation`` namespace: values by name, plus each declared variable's type (``types``).

    A plain dict to templates and selectors; the variable assigner writes into it in place, so every scope of
    the run (container bodies hold the same object) and every later node sees the new value.
    """

    def __init__(self, values: Mapping[str, Any], types: Mapping[str, str]) -> None:
        super().__init__(values)
        self.types = dict(types)


_SELECTOR = re.compile(r"^\s*(?:\{\{\s*)?([A-Za-z_]\w*(?:\.[\w-]+)*)(?:\s*\}\})?\s*$")
_SIMPLE_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_]\w*(?:\.\w+)*)\s*\}\}")


@dataclass(frozen=True, slots=True)
class Reference:
    """A use of a variable: its namespace (node id, ``sys``, ...), output name and the path below it."""

    root: str
    output: str | None = None
    path: tuple[str, ...] = ()

    def __str__(self) -> str:
        return ".".join((self.root, *([self.output] if self.output else []), *self.path))


class _Environment(BoundedSandbox):
    """Bounded, sandboxed Jinja2 looking keys up before attributes: ``{{ body.items }}`` is the key, not dict.items."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, Mapping) and attribute in obj:
            return obj[attribute]
        if isinstance(obj, list | tuple) and attribute.isascii() and attribute.isdigit():
            index = int(attribute)
            return obj[index] if index < len(obj) else self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)


def _finalize(value: Any) -> Any:
    # Structured outputs render as JSON (what a prompt author expects), not as Python reprs.
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


ENVIRONMENT = _Environment(
    undefined=ChainableUndefined, autoescape=False, finalize=_finalize, keep_trailing_newline=True
)


@lru_cache(maxsize=4096)
def compile_template(source: str) -> jinja2.Template:
    """Compile once per distinct source; runs and nodes share the compiled template."""
    try:
        return ENVIRONMENT.from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax error on line {exc.lineno}: {exc.message}") from None


def render(
    source: str,
    pool: Mapping[str, Any],
    extra: Mapping[str, Any] | None = None,
    limits: TemplateLimits | None = None,
) -> str:
    """Render ``source`` against the pool (plus node-local names in ``extra``), within ``limits``."""
    template = compile_template(source)
    # A ChainMap instead of Template.render(**pool): Jinja would copy the whole pool on every render.
    layers = (extra, pool, template.globals) if extra else (pool, template.globals)
    context = template.new_context(ChainMap(*layers), shared=True)  # type: ignore[arg-type]
    try:
        return render_bounded(template, context, limits)
    except TemplateLimitError as exc:
        raise TemplateError(f"template stopped: {exc}") from None
    except jinja2.TemplateError as exc:
        raise TemplateError(f"template failed to render: {exc}") from None
    except (TypeError, ValueError, ArithmeticError, LookupError, AttributeError) as exc:
        raise TemplateError(f"template failed to render: {type(exc).__name__}: {exc}") from None


# Names Jinja provides itself: globals (range, dict, cycler ...) and loop/macro locals.
_JINJA_NAMES = frozenset(ENVIRONMENT.globals) | {"loop", "self", "varargs", "kwargs", "caller"}


@lru_cache(maxsize=4096)
def template_references(source: str) -> tuple[Reference, ...]:
    """Every pool reference a template makes (names the template binds itself are left out)."""
    tree = ENVIRONMENT.parse(source)
    bound = {n.name for n in tree.find_all(jnodes.Name) if n.ctx in ("store", "param")} | _JINJA_NAMES
    bound |= {macro.name for macro in tree.find_all(jnodes.Macro)}
    refs: list[Reference] = []
    for node in _outermost_lookups(tree):
        chain = _lookup_chain(node)
        if chain is not None and chain[0] not in bound:
            refs.append(Reference(chain[0], chain[1] if len(chain) > 1 else None, tuple(chain[2:])))
    return tuple(dict.fromkeys(refs))


def _outermost_lookups(tree: jnodes.Node) -> Iterator[jnodes.Node]:
    # A lookup chain a.b.c is Getattr(Getattr(Name a, b), c); yield only its outermost node.
    inner: set[int] = set()
    for node in tree.find_all((jnodes.Getattr, jnodes.Getitem, jnodes.Name)):
        if id(node) in inner:
            continue
        current: jnodes.Node = node
        while isinstance(current, jnodes.Getattr | jnodes.Getitem):
            current = current.node
            inner.add(id(current))
        yield node


def _lookup_chain(node: jnodes.Node) -> list[str] | None:
    parts: list[str] = []
    while True:
        if isinstance(node, jnodes.Name):
            return [node.name, *reversed(parts)] if node.ctx == "load" else None
        if isinstance(node, jnodes.Getattr):
            parts.append(node.attr)
        elif isinstance(node, jnodes.Getitem) and isinstance(node.arg, jnodes.Const):
            parts.append(str(node.arg.value))
        elif isinstance(node, jnodes.Getitem):
            parts.clear()  # a computed key: only the part before it is statically known
        else:
            return None
        node = node.node


def template_syntax_error(source: str) -> str | None:
    """The syntax error of a template, or None when it compiles."""
    try:
        compile_template(source)
    except TemplateError as exc:
        return str(exc)
    return None


@lru_cache(maxsize=4096)
def parse_selector(selector: str) -> tuple[str, ...]:
    """Split ``node.output.path`` (optionally wrapped in ``{{ }}``) into its parts."""
    match = _SELECTOR.match(selector)
    if match is None:
        raise ValueError(f"not a variable selector: {selector!r} (expected node_id.output[.path])")
    return tuple(match.group(1).split("."))


def selector_reference(selector: str) -> Reference:
    """The reference a selector makes."""
    parts = parse_selector(selector)
    return Reference(parts[0], parts[1] if len(parts) > 1 else None, parts[2:])


_MISSING = object()


def resolve(pool: Mapping[str, Any], selector: str, default: Any = None) -> Any:
    """The value a selector points at, or ``default`` when any step is missing."""
    value: Any = pool
    for part in parse_selector(selector):
        value = _step(value, part)
        if value is _MISSING:
            return default
    return value


def _step(value: Any, part: str) -> Any:
    if isinstance(value, Mapping):
        return value.get(part, _MISSING)
    if isinstance(value, list | tuple) and part.isascii() and part.lstrip("-").isdigit():
        index = int(part)
        return value[index] if -len(value) <= index < len(value) else _MISSING
    return _MISSING


@lru_cache(maxsize=1024)
def simple_segments(source: str) -> tuple[tuple[str, str], ...] | None:
    """Split a template made only of text and ``{{ a.b }}`` placeholders into ("text"|"ref", value) parts.

    Returns None for templates with filters, tags or comments; those cannot be streamed piecewise.
    """
    segments: list[tuple[str, str]] = []
    position = 0
    for match in _SIMPLE_PLACEHOLDER.finditer(source):
        segments.append(("text", source[position : match.start()]))
        segments.append(("ref", match.group(1)))
        position = match.end()
    segments.append(("text", source[position:]))
    if any(kind == "text" and ("{{" in v or "{%" in v or "{#" in v) for kind, v in segments):
        return None
    return tuple((kind, v) for kind, v in segments if kind == "ref" or v)


def stringify(value: Any) -> str:
    """How a value appears when interpolated into text (same rule as templates)."""
    shown = _finalize(value)
    return shown if isinstance(shown, str) else str(shown)
