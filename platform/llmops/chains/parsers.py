"""Output parsers: turn a model's answer into a chain's ``output`` (text, JSON checked by a schema, list)."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema

from llmops.chains.content import OutputParser
from llmops.core.errors import UnprocessableEntity

_FENCE = re.compile(r"^\s*```[a-zA-Z0-9_-]*\s*\n(?P<body>.*?)\n?\s*```\s*$", re.DOTALL)
_BULLET = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)])\s+")


class OutputParserError(UnprocessableEntity):
    """The model's answer does not fit the chain's output parser (HTTP 422, code ``output_parser_failed``)."""

    code = "output_parser_failed"


def _excerpt(text: str) -> str:
    return text if len(text) <= 200 else text[:200] + "..."


def _parse_json(parser: OutputParser, text: str) -> Any:
    fenced = _FENCE.match(text)
    body = fenced.group("body") if fenced else text
    try:
        value = json.loads(body)
    except (json.JSONDecodeError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        message = f"The json output parser could not parse the model's answer ({reason}): {_excerpt(text)!r}"
        raise OutputParserError(message, fields={"output_parser": [reason]}) from None
    if parser.json_schema is not None:
        try:
            jsonschema.validate(value, parser.json_schema)
        except jsonschema.ValidationError as exc:
            where = "/".join(str(part) for part in exc.absolute_path) or "(root)"
            message = f"The json output parser's schema rejected the answer at {where}: {exc.message}"
            raise OutputParserError(message, fields={"output_parser.schema": [exc.message]}) from None
    return value


def _parse_list(parser: OutputParser, text: str) -> list[str]:
    if parser.separator == "comma":
        items = text.split(",")
    else:
        items = [_BULLET.sub("", line) for line in text.splitlines()]
    return [item.strip() for item in items if item.strip()]


def output_parse(parser: OutputParser, text: str) -> Any:
    """Parse ``text`` with ``parser``; a misfit raises :class:`OutputParserError` naming the parser."""
    if parser.type == "json":
        return _parse_json(parser, text)
    if parser.type == "list":
        return _parse_list(parser, text)
    return text
