"""Checking and coercing run inputs against a workflow's typed input fields."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import jsonschema

from workflows._dsl import FileRef, InputField, InputType, is_finite_number
from workflows._errors import InputValidationError, Problem


def coerce_inputs(fields: list[InputField], inputs: dict[str, Any]) -> dict[str, Any]:
    """Return the inputs with defaults applied and values coerced; raise listing every bad input."""
    problems: list[Problem] = []
    result: dict[str, Any] = {}
    known = {f.name for f in fields}
    problems += [
        Problem(f"inputs.{n}", "unknown input", code="unknown_input") for n in inputs if n not in known
    ]
    for field in fields:
        value = inputs.get(field.name, field.default)
        if value is None or value == "":
            if field.required:
                problems.append(Problem(f"inputs.{field.name}", "is required", code="required"))
            result[field.name] = None if value is None else value
            continue
        try:
            result[field.name] = _COERCERS[field.type](field, value)
        except (TypeError, ValueError, jsonschema.ValidationError) as exc:
            message = exc.message if isinstance(exc, jsonschema.ValidationError) else str(exc)
            problems.append(Problem(f"inputs.{field.name}", message, code="invalid_input"))
    if problems:
        raise InputValidationError(problems)
    return result


def _text(field: InputField, value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    if field.max_length is not None and len(value) > field.max_length:
        raise ValueError(f"longer than {field.max_length} characters")
    return value


def _number(field: InputField, value: Any) -> float | int:
    if isinstance(value, str):
        value = float(value) if any(c in value for c in ".eE") else int(value)
    if not is_finite_number(value):
        raise TypeError("expected a finite number")
    number: float | int = value
    if field.minimum is not None and number < field.minimum:
        raise ValueError(f"less than {field.minimum}")
    if field.maximum is not None and number > field.maximum:
        raise ValueError(f"greater than {field.maximum}")
    return number


def _select(field: InputField, value: Any) -> str:
    if value not in field.options:
        raise ValueError(f"must be one of {field.options}")
    return str(value)


def _boolean(field: InputField, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    raise TypeError("expected a boolean")


def _json(field: InputField, value: Any) -> Any:
    if isinstance(value, str):
        value = json.loads(value)
    if field.json_schema is not None:
        jsonschema.validate(value, field.json_schema)
    return value


def _file(field: InputField, value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        value = {"file_id": value}
    return FileRef.model_validate(value).model_dump()


_COERCERS: dict[InputType, Callable[[InputField, Any], Any]] = {
    InputType.TEXT: _text,
    InputType.PARAGRAPH: _text,
    InputType.NUMBER: _number,
    InputType.SELECT: _select,
    InputType.BOOLEAN: _boolean,
    InputType.JSON: _json,
    InputType.FILE: _file,
}


_JSON_TYPES = {
    InputType.TEXT: "string",
    InputType.PARAGRAPH: "string",
    InputType.NUMBER: "number",
    InputType.SELECT: "string",
    InputType.BOOLEAN: "boolean",
}


def inputs_json_schema(fields: list[InputField]) -> dict[str, Any]:
    """The JSON Schema of a run's ``inputs`` object: what a workflow offered as a tool (MCP, agents) takes."""
    properties: dict[str, Any] = {}
    for field in fields:
        if field.type == InputType.JSON:
            schema: dict[str, Any] = dict(field.json_schema or {})
        elif field.type == InputType.FILE:
            schema = {"type": "object", "description": "a file reference"}
        else:
            schema = {"type": _JSON_TYPES[field.type]}
        if field.type == InputType.SELECT and field.options:
            schema["enum"] = list(field.options)
        if field.max_length is not None:
            schema["maxLength"] = field.max_length
        if field.minimum is not None:
            schema["minimum"] = field.minimum
        if field.maximum is not None:
            schema["maximum"] = field.maximum
        if field.default is not None:
            schema["default"] = field.default
        if description := (field.description or field.label):
            schema["description"] = description
        properties[field.name] = schema
    required = [f.name for f in fields if f.required and f.default is None]
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}
