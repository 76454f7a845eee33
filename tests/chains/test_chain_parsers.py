"""Output parsers: text as is, JSON (fenced or bare, checked by a JSON Schema), lists by lines or commas."""

from __future__ import annotations

from typing import Any

import pytest

from llmops.chains.content import OutputParser
from llmops.chains.parsers import OutputParserError, output_parse

SCHEMA = {"type": "object", "required": ["title"], "properties": {"title": {"type": "string"}}}


@pytest.mark.parametrize(
    ("parser", "text", "output"),
    [
        ({"type": "text"}, " hi \n", " hi \n"),
        ({"type": "json"}, '{"a": 1}', {"a": 1}),
        ({"type": "json", "schema": SCHEMA}, '```json\n{"title": "x"}\n```', {"title": "x"}),
        ({"type": "list"}, "- one\n* two\n3. three\n\n", ["one", "two", "three"]),
        ({"type": "list", "separator": "comma"}, "a, b ,c,", ["a", "b", "c"]),
    ],
)
def test_parsers_turn_answers_into_outputs(parser: dict[str, Any], text: str, output: Any) -> None:
    assert output_parse(OutputParser.model_validate(parser), text) == output


def test_unparsable_json_names_the_parser() -> None:
    with pytest.raises(OutputParserError) as failed:
        output_parse(OutputParser(type="json"), "Sure! Here it is")
    assert failed.value.code == "output_parser_failed" and failed.value.status == 422
    assert failed.value.message.startswith("The json output parser could not parse the model's answer")


def test_json_against_the_schema_names_where_it_failed() -> None:
    with pytest.raises(OutputParserError) as failed:
        output_parse(OutputParser.model_validate({"type": "json", "schema": SCHEMA}), '{"title": 3}')
    assert (
        failed.value.message
        == "The json output parser's schema rejected the answer at title: 3 is not of type 'string'"
    )
