"""Parsing a model's (or a server's) text is bounded too: a fence-shaped answer cannot make the fence regex
backtrack for minutes, and JSON nested past the interpreter's stack is a node error, not a crash."""

from __future__ import annotations

import time

import pytest

from workflows import NodeError
from workflows.nodes._llm import parse_json

FENCE = "`" * 3


@pytest.mark.parametrize(
    "text",
    [
        FENCE + " " * 50_000 + "x",
        FENCE + "json" + " \n" * 50_000 + FENCE + " x",
        FENCE + "`" * 50_000,
        "[" * 100_000,
        "{" + '"a":' * 50_000,
    ],
    ids=["open-fence-spaces", "fence-lines", "backticks", "deep-array", "deep-object"],
)
def test_hostile_model_output_is_a_node_error_in_bounded_time(text: str) -> None:
    started = time.monotonic()
    with pytest.raises(NodeError, match="model output"):
        parse_json(text)
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('{"a": 1}', {"a": 1}),
        (f'{FENCE}json\n{{"a": [1, 2]}}\n{FENCE}', {"a": [1, 2]}),
        (f"  {FENCE}\n[1]\n{FENCE}  ", [1]),
        ('"plain"', "plain"),
    ],
)
def test_fenced_and_plain_json_still_parse(text: str, value: object) -> None:
    assert parse_json(text) == value
