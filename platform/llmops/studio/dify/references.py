"""Dify variable references to ours: selectors, ``{{#node.var#}}`` templates, node ids and output names.

Dify names a value by a list (``["1711067409646", "text"]``, ``["sys", "query"]``) and interpolates it in
prompts as ``{{#1711067409646.text#}}``. Ours are ``llm.text`` selectors and ``{{ llm.text }}`` Jinja
placeholders, so node ids are renamed to readable identifiers and a few output names differ per node type.
Everything else in a Dify prompt is literal text, so Jinja delimiters in it are escaped.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from workflows import NODE_ID_PATTERN, RESERVED_NAMESPACES

DIFY_PLACEHOLDER = re.compile(
    r"\{\{#(context|histories|[A-Za-z0-9_]{1,50}(?:\.[A-Za-z_][A-Za-z0-9_]{0,29}){1,10})#\}\}"
)
_JINJA_OPEN = re.compile(r"\{[{%#]")
_VALID_ID = re.compile(NODE_ID_PATTERN)
_PATH_PART = re.compile(r"^[\w-]+$")
# Names a Jinja expression cannot start with, on top of the pool's reserved namespaces.
_JINJA_WORDS = frozenset(
    {"and", "or", "not", "in", "is", "if", "else", "elif", "for", "true", "false", "none"}
)
UNAVAILABLE_IDS = frozenset(RESERVED_NAMESPACES) | _JINJA_WORDS | frozenset(keyword.kwlist)

# Dify system variable -> ours (None: no equivalent). app_id/workflow_id become the workflow's name.
SYSTEM_VARIABLES: dict[str, str | None] = {
    "query": "query",
    "user_id": "user_id",
    "conversation_id": "conversation_id",
    "workflow_run_id": "run_id",
    "app_id": "workflow",
    "workflow_id": "workflow",
    "files": None,
    "dialogue_count": "dialogue_count",
}
_LOSSY_SYSTEM = {"app_id", "workflow_id"}


class UnmappableReference(ValueError):
    """A Dify reference with no equivalent here (``sys.files``, an unknown node...)."""


def identifier(text: str, fallback: str) -> str:
    """A lower-case identifier from free text (a title, a variable name); ``fallback`` when none is left."""
    slug = re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_").lower()[:40].rstrip("_")
    if not slug:
        return fallback
    return f"{fallback}_{slug}" if slug[0].isdigit() else slug


def field_name(name: str) -> str:
    """A Dify variable or output name as a valid name here (identity for ordinary names)."""
    if _VALID_ID.match(name):
        return name
    cleaned = re.sub(r"\W+", "_", name).strip("_") or "value"
    return f"_{cleaned}" if cleaned[0].isdigit() else cleaned


def valid_name(text: str) -> bool:
    """True when ``text`` is a valid node id, handle or output name here."""
    return bool(_VALID_ID.match(text))


def unique(base: str, taken: set[str], *, reserved: frozenset[str] = UNAVAILABLE_IDS) -> str:
    """``base`` (or ``base_2``, ``base_3``...) not yet in ``taken``; the result is added to it."""
    if base in reserved:
        base = f"{base}_1"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


@dataclass(slots=True)
class NodeInfo:
    """A Dify node as references see it: its new id and how its output names map."""

    dify_id: str
    our_id: str
    dify_type: str
    renames: dict[str, str] = field(default_factory=dict)
    groups: frozenset[str] = frozenset()  # variable aggregator groups: [agg, group, "output"] -> agg.group


def output_renames(dify_type: str, data: Mapping[str, Any]) -> dict[str, str]:
    """Dify output name -> ours, for the outputs whose names differ."""
    fixed = {
        "llm": {"structured_output": "structured"},
        "parameter-extractor": {"__is_success": "is_success", "__reason": "reason"},
        "list-operator": {"first_record": "first", "last_record": "last"},
        "if-else": {"selected_case_id": "case"},
        "tool": {"json": "result"},  # Dify's structured output is our tool node's ``result``
        "document-extractor": {"text": "texts"} if data.get("is_array_file") else {},
    }.get(dify_type, {})
    names: list[str] = []
    if dify_type == "start":
        names = [str(v.get("variable", "")) for v in data.get("variables") or []]
    elif dify_type == "code":
        names = [str(name) for name in data.get("outputs") or {}]
    elif dify_type == "parameter-extractor":
        names = [str(p.get("name", "")) for p in data.get("parameters") or []]
    elif dify_type == "loop":
        names = [str(v.get("label", "")) for v in data.get("loop_variables") or []]
    renames = dict(fixed)
    for name in names:
        ours = field_name(name)
        if dify_type == "parameter-extractor" and ours in ("is_success", "reason"):
            ours = f"{ours}_value"
        if ours != name:
            renames[name] = ours
    return renames


def aggregator_groups(data: Mapping[str, Any]) -> dict[str, str]:
    """Group name -> our output name, when a variable aggregator has groups enabled."""
    settings = data.get("advanced_settings") or {}
    if not settings.get("group_enabled"):
        return {}
    return {
        str(g.get("group_name", "")): field_name(str(g.get("group_name", ""))) for g in settings["groups"]
    }


class References:
    """Converts Dify selectors and templates once every node is registered."""

    def __init__(self) -> None:
        self.nodes: dict[str, NodeInfo] = {}
        self.env: dict[str, str] = {}
        self.conversation: dict[str, str] = {}
        self.notes: list[str] = []  # lossy conversions since the caller last drained them
        self._taken: set[str] = set()

    def register(
        self, dify_id: str, dify_type: str, title: str, data: Mapping[str, Any], fallback: str
    ) -> str:
        """Give a Dify node its id here: its own id when valid, else one made from its title or type."""
        base = dify_id if _VALID_ID.match(dify_id) and len(dify_id) <= 40 else identifier(title, fallback)
        our_id = unique(base, self._taken)
        renames = output_renames(dify_type, data)
        groups = aggregator_groups(data) if dify_type in ("variable-aggregator", "variable-assigner") else {}
        renames.update(groups)
        self.nodes[dify_id] = NodeInfo(dify_id, our_id, dify_type, renames, frozenset(groups))
        return our_id

    def selector(self, value: Any) -> str:
        """``["node", "out", ...]`` -> ``node_id.out...``."""
        return ".".join(self._parts(value))

    def placeholder(self, value: Any) -> str:
        """``["node", "out"]`` -> ``{{ node_id.out }}``."""
        return "{{ " + _jinja_path(self._parts(value)) + " }}"

    def template(self, text: str, *, context: str | None = None) -> str:
        """A Dify basic template (literal text with ``{{#...#}}`` placeholders) as one of ours."""
        pieces: list[str] = []
        errors: list[str] = []
        position = 0
        for match in DIFY_PLACEHOLDER.finditer(text):
            pieces.append(escape_literal(text[position : match.start()]))
            try:
                pieces.append(self._special(match.group(1), context))
            except UnmappableReference as exc:
                errors.append(str(exc))  # keep going: the report lists every bad reference
            position = match.end()
        if errors:
            raise UnmappableReference("; ".join(errors))
        pieces.append(escape_literal(text[position:]))
        return "".join(pieces)

    def _special(self, name: str, context: str | None) -> str:
        if name == "context":
            if context is None:
                self.notes.append(
                    "{{#context#}} is used but context is off; it renders empty here as in Dify"
                )
            return context or ""
        if name == "histories":
            self.notes.append("{{#histories#}} dropped: the conversation history is sent as chat messages")
            return ""
        return self.placeholder(name.split("."))

    def _parts(self, value: Any) -> list[str]:
        names = _selector_names(value)
        root, rest = names[0], names[1:]
        if root == "sys":
            return ["sys", *self._system(rest)]
        if root in ("env", "conversation"):
            variables = self.env if root == "env" else self.conversation
            if rest[0] not in variables:
                raise UnmappableReference(f"no {root} variable {rest[0]!r} in the file")
            parts = [root, variables[rest[0]], *rest[1:]]
        elif root in self.nodes and (legacy := _legacy_system(rest)) is not None:
            # Older Dify files name system variables under the start node: ``[<start id>, "sys.query"]``
            # (and ``{{#<start id>.sys.query#}}`` in templates); they are the plain system variables.
            return ["sys", *self._system(legacy)]
        elif root in self.nodes:
            info = self.nodes[root]
            parts = [info.our_id, *_node_path(info, rest)]
        else:
            raise UnmappableReference(f"{'.'.join(names)}: no node {root!r} in the file")
        if not all(_PATH_PART.match(p) for p in parts):
            raise UnmappableReference(f"{'.'.join(names)}: a path step is not a plain name")
        return parts

    def _system(self, rest: Sequence[str]) -> list[str]:
        name = rest[0]
        ours = SYSTEM_VARIABLES.get(name)
        if ours is None:
            raise UnmappableReference(f"sys.{name} has no equivalent here")
        if name in _LOSSY_SYSTEM:
            self.notes.append(f"sys.{name} mapped to sys.{ours} (the workflow's name, not a Dify id)")
        return [ours, *rest[1:]]


def _legacy_system(rest: Sequence[str]) -> list[str] | None:
    if rest[0] == "sys" and len(rest) > 1:
        return list(rest[1:])
    if rest[0].startswith("sys.") and len(rest[0]) > 4:
        return [*rest[0][4:].split("."), *rest[1:]]
    return None


def _selector_names(value: Any) -> list[str]:
    # YAML reads unquoted timestamp ids as numbers, so numbers name nodes too.
    if not isinstance(value, list | tuple) or len(value) < 2:
        raise UnmappableReference(f"not a variable selector: {value!r}")
    if not all(isinstance(p, str | int) and not isinstance(p, bool) for p in value):
        raise UnmappableReference(f"not a variable selector: {value!r}")
    return [str(p) for p in value]


def _node_path(info: NodeInfo, rest: list[str]) -> list[str]:
    head = rest[0]
    if head in info.groups and rest[1:2] == ["output"]:
        return [info.renames[head], *rest[2:]]
    return [info.renames.get(head, head), *rest[1:]]


def _jinja_path(parts: Sequence[str]) -> str:
    tail = "".join(f".{p}" if p.isidentifier() or p.isdigit() else f"[{p!r}]" for p in parts[1:])
    return parts[0] + tail


def escape_literal(text: str) -> str:
    """Literal text whose Jinja delimiters (``{{``, ``{%``, ``{#``) are output verbatim, not interpreted."""
    return _JINJA_OPEN.sub(lambda match: "{{ '" + match.group() + "' }}", text)


def jinja_selector(selector: str) -> str:
    """A selector as a Jinja expression (for ``{% set %}`` lines)."""
    return _jinja_path(selector.split("."))
