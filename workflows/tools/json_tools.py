"""JSON utilities: read a value by path, insert, delete and replace values (Dify's ``json_process``).

Paths are a small JSONPath subset: ``$`` (the root, optional), ``.name`` or ``['name']``, ``[0]`` (negative
counts from the end), and ``[*]`` or ``.*`` for every item. ``$.items[*].name``, ``user.tags[0]``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from workflows._errors import ToolError
from workflows._ports import CallContext, ToolResult, ToolSpec
from workflows.tools._base import Tool, schema

Step = str | int | None  # a key, an index, or None for every item
Location = tuple[str | int, ...]

_MAX_CONTENT = 2_000_000
_TOKEN = re.compile(r"\.([A-Za-z_$][\w$-]*|\*)|\[\s*(-?\d+|\*|'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")\s*\]")
_CONTENT = {
    "type": ["string", "object", "array"],
    "maxLength": _MAX_CONTENT,
    "description": "The JSON document: JSON text, or an object or array",
}
_PATH = {
    "type": "string",
    "maxLength": 500,
    "description": "Where, in JSONPath: '$.user.name', '$.items[0]', '$.items[*].id' ('$' is the whole document)",
}
_VALUE = {"description": "The new value; a string holding JSON (e.g. '{\"a\": 1}' or '3') is decoded first"}


def parse_path(path: str) -> list[Step]:
    """``$.a[0].b`` -> ``["a", 0, "b"]``; ``None`` steps match every item. A ``ToolError`` if malformed."""
    text = path.strip()
    text = text[1:] if text.startswith("$") else text
    if text and not text.startswith((".", "[")):
        text = "." + text
    steps: list[Step] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise ToolError(f"cannot read the path {path!r} at {text[position:][:20]!r}")
        name, bracket = match.group(1), match.group(2)
        if name is not None:
            steps.append(None if name == "*" else name)
        elif bracket == "*":
            steps.append(None)
        elif bracket[0] in "'\"":
            steps.append(re.sub(r"\\(.)", r"\1", bracket[1:-1]))  # ['it\'s'] -> it's
        else:
            steps.append(int(bracket))
        position = match.end()
    return steps


def find(document: Any, steps: list[Step]) -> list[tuple[Location, Any]]:
    """Every ``(location, value)`` the steps reach, in document order."""
    found: list[tuple[Location, Any]] = [((), document)]
    for step in steps:
        found = [hit for location, value in found for hit in _children(location, value, step)]
    return found


def _children(location: Location, value: Any, step: Step) -> list[tuple[Location, Any]]:
    if isinstance(value, dict):
        if step is None:
            return [((*location, k), v) for k, v in value.items()]
        return [((*location, step), value[step])] if isinstance(step, str) and step in value else []
    if isinstance(value, list):
        if step is None:
            return [((*location, i), v) for i, v in enumerate(value)]
        if isinstance(step, int) and -len(value) <= step < len(value):
            index = step % len(value)
            return [((*location, index), value[index])]
    return []


def _load(content: Any) -> Any:
    if not isinstance(content, str):
        return content
    try:
        return json.loads(content)
    except json.JSONDecodeError as exc:
        raise ToolError(f"content is not valid JSON: {exc}") from None


def _decoded(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _parent(document: Any, location: Location) -> Any:
    for step in location[:-1]:
        document = document[step]
    return document


def _matches(document: Any, path: str) -> tuple[list[Step], list[tuple[Location, Any]]]:
    steps = parse_path(path)
    found = find(document, steps)
    if not found:
        raise ToolError(f"nothing in the document at {path!r}")
    return steps, found


def _result(document: Any) -> ToolResult:
    return ToolResult(document, json.dumps(document, ensure_ascii=False))


async def _parse(arguments: Mapping[str, Any], context: CallContext) -> ToolResult:
    document = _load(arguments["content"])
    path = str(arguments.get("path") or "$")
    steps = parse_path(path)
    values = [value for _, value in find(document, steps)]
    data = values if None in steps else (values[0] if values else None)
    if isinstance(data, str):
        return ToolResult(data, data)
    return ToolResult(data, json.dumps(data, ensure_ascii=bool(arguments.get("ensure_ascii"))))


async def _insert(arguments: Mapping[str, Any], context: CallContext) -> ToolResult:
    document = _load(arguments["content"])
    path, value = str(arguments["path"]), _decoded(arguments["value"])
    steps = parse_path(path)
    found = find(document, steps)
    if not found:
        if not arguments.get("create_path"):
            raise ToolError(f"nothing in the document at {path!r} (set create_path to create it)")
        return _result(_create(document, steps, value, path))
    index = arguments.get("index")
    for location, target in found:
        if isinstance(target, dict):
            if not isinstance(value, dict):
                raise ToolError(f"{path!r} is an object: only an object's keys can be inserted into it")
            target.update(value)
        elif isinstance(target, list):
            target.insert(index if index is not None else len(target), value)
        elif not location:
            document = value
        else:
            _parent(document, location)[location[-1]] = value
    return _result(document)


def _create(document: Any, steps: list[Step], value: Any, path: str) -> Any:
    if not steps or not all(isinstance(s, str) for s in steps) or not isinstance(document, dict):
        raise ToolError(f"cannot create {path!r}: only a path of object keys can be created")
    current = document
    for step in steps[:-1]:
        current = current.setdefault(step, {})
        if not isinstance(current, dict):
            raise ToolError(f"cannot create {path!r}: {step!r} is not an object")
    current[steps[-1]] = value
    return document


async def _delete(arguments: Mapping[str, Any], context: CallContext) -> ToolResult:
    document = _load(arguments["content"])
    _, found = _matches(document, str(arguments["path"]))
    if any(not location for location, _ in found):
        raise ToolError("the whole document cannot be deleted")
    # Deleting from the end keeps the remaining list indices valid.
    for location, _ in sorted(found, key=lambda hit: _order(hit[0]), reverse=True):
        del _parent(document, location)[location[-1]]
    return _result(document)


def _order(location: Location) -> tuple[tuple[int, int, str], ...]:
    return tuple((0, s, "") if isinstance(s, int) else (1, 0, s) for s in location)


async def _replace(arguments: Mapping[str, Any], context: CallContext) -> ToolResult:
    document = _load(arguments["content"])
    path, mode = str(arguments["path"]), str(arguments.get("mode") or "value")
    _, found = _matches(document, path)
    for location, old in reversed(found):
        if not location:
            document = _replaced(old, mode, arguments)
            continue
        parent = _parent(document, location)
        if mode == "key":
            if not isinstance(parent, dict):
                raise ToolError(f"{path!r} is a list item: only object keys can be renamed")
            renamed = {str(arguments["value"]) if k == location[-1] else k: v for k, v in parent.items()}
            parent.clear()
            parent.update(renamed)
        else:
            parent[location[-1]] = _replaced(old, mode, arguments)
    return _result(document)


def _replaced(old: Any, mode: str, arguments: Mapping[str, Any]) -> Any:
    if mode == "pattern":
        if not isinstance(old, str) or not arguments.get("pattern"):
            raise ToolError("mode 'pattern' replaces text inside string values and needs a 'pattern'")
        return old.replace(str(arguments["pattern"]), str(arguments["value"]))
    if mode == "key":
        raise ToolError("the document's root has no key to rename")
    return _decoded(arguments["value"])


def _spec(name: str, description: str, properties: dict[str, Any], required: tuple[str, ...]) -> ToolSpec:
    return ToolSpec(
        name,
        description,
        schema({"content": _CONTENT, **properties}, ("content", *required)),
        timeout_seconds=10.0,
        max_output_chars=200_000,
    )


JSON_PARSE = _spec(
    "json_parse",
    "Read a value out of a JSON document by a JSONPath ('$.data.items[0].title'); a path with [*] returns "
    "every match as a list. Without a path, returns the parsed document.",
    {"path": _PATH, "ensure_ascii": {"type": "boolean", "description": "Escape non-ASCII in the text"}},
    (),
)
JSON_INSERT = _spec(
    "json_insert",
    "Insert a value into a JSON document: appended to (or at 'index' of) a list, merged into an object, or "
    "replacing a plain value. With create_path, missing object keys on the path are created. Returns the "
    "whole new document.",
    {
        "path": _PATH,
        "value": _VALUE,
        "index": {"type": "integer", "description": "Position in a list (default: at the end)"},
        "create_path": {"type": "boolean", "description": "Create missing keys (default false)"},
    },
    ("path", "value"),
)
JSON_DELETE = _spec(
    "json_delete",
    "Delete every value a JSONPath matches from a JSON document (an object's key or a list's item). "
    "Returns the whole new document.",
    {"path": _PATH},
    ("path",),
)
JSON_REPLACE = _spec(
    "json_replace",
    "Replace in a JSON document at a JSONPath: mode 'value' sets the matched values, 'key' renames the "
    "matched keys to 'value', 'pattern' replaces the text 'pattern' with 'value' inside matched strings. "
    "Returns the whole new document.",
    {
        "path": _PATH,
        "value": _VALUE,
        "mode": {"type": "string", "enum": ["value", "key", "pattern"], "description": "Default 'value'"},
        "pattern": {"type": "string", "description": "The text to replace (mode 'pattern')"},
    },
    ("path", "value"),
)


def tools() -> list[Tool]:
    """The JSON tools."""
    return [
        Tool(JSON_PARSE, _parse),
        Tool(JSON_INSERT, _insert),
        Tool(JSON_DELETE, _delete),
        Tool(JSON_REPLACE, _replace),
    ]
