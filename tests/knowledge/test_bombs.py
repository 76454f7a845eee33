"""Spreadsheet, document and data bombs: each is refused with a clear reason while the parse stays small, and
what no cap foresees is stopped by the parser child's memory and time caps, never by the worker's death."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable

import pytest
from django.test import override_settings

from llmops.knowledge import parsing
from llmops.knowledge.parse_isolated import _child_env, parse_document_isolated
from llmops.knowledge.parsing import ParseError, parse_document
from tests.knowledge import bombs

PEAK_BYTES = 64 * bombs.MIB


def peak_of(parse: Callable[[], object]) -> tuple[object, int]:
    """(result or raised ParseError, peak bytes Python allocated meanwhile)."""
    tracemalloc.start()
    try:
        try:
            result: object = parse()
        except ParseError as exc:
            result = exc
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_an_xlsx_declaring_the_whole_sheet_is_read_as_its_real_cells_in_little_memory() -> None:
    # given: 1,000 real rows of 3 cells in a sheet that claims A1:XFD1048576 (openpyxl padded each row to
    # 16,384 cells: 130 MB for these 18 KB)
    content = bombs.xlsx_declared_dimension(rows=1000)
    # when
    text, peak = peak_of(lambda: parse_document(content, "owls.xlsx"))
    # then
    assert (
        isinstance(text, str) and text.count("\n") == 999 and text.endswith("animal: owl; food: mice; n: 999")
    )
    assert peak < PEAK_BYTES


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (bombs.xlsx_wide_rows, "The table has more than 2,000,000 cells."),
        (bombs.xlsx_far_row, "The table has more than 1,048,576 rows."),
        (lambda: bombs.docx_zip_bomb(300 * bombs.MIB), "expands to more than 200 MiB when unzipped"),
        (lambda: bombs.docx_zip_bomb(50 * bombs.MIB), "'word/document.xml' is compressed 1025 times"),
        (bombs.json_deep, "The json file is nested too deeply to read."),
        (lambda: b'{"a":' * 150 + b"1" + b"}" * 150, "The JSON document is nested deeper than 100 levels."),
        (bombs.csv_giant_field, "field larger than field limit (131072)"),
    ],
    ids=[
        "xlsx-wide-rows",
        "xlsx-far-row",
        "docx-300-mib",
        "docx-ratio",
        "json-deep",
        "json-150",
        "csv-field",
    ],
)
def test_bombs_are_refused_with_a_reason_before_they_expand(make: Callable[[], bytes], reason: str) -> None:
    content = make()
    name = {b"PK": "bomb.xlsx" if b"xl/" in content else "bomb.docx"}.get(content[:2], "bomb.json")
    name = "bomb.csv" if content.startswith(b"animal,") else name
    # when
    error, peak = peak_of(lambda: parse_document(content, name))
    # then
    assert isinstance(error, ParseError) and reason in str(error)
    assert peak < PEAK_BYTES + 6 * len(content)  # the csv is decoded whole (10 MiB): bounded by the upload


def test_the_cell_cap_counts_real_cells_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parsing, "MAX_CELLS", 10_000)
    # when: 120 x 100 real cells
    with pytest.raises(ParseError, match="more than 10,000 cells"):
        parse_document(bombs.xlsx_many_cells(120, 100), "numbers.xlsx")
    # and a table under the cap is read
    assert parse_document(bombs.xlsx_many_cells(90, 100), "numbers.xlsx").startswith("0: 100; 1: 101; 2: 102")


@override_settings(LLMOPS_KNOWLEDGE_PARSE_MEMORY_MB=128)
@pytest.mark.parametrize(
    ("name", "make"),
    [("records.json", bombs.json_many_objects), ("paper.pdf", lambda: bombs.pdf_stream_bomb(3_000_000))],
    ids=["json-3m-objects", "pdf-content-stream"],
)
def test_what_no_cap_foresees_is_stopped_by_the_parsers_memory_cap(
    name: str, make: Callable[[], bytes]
) -> None:
    # given: 9 MB of JSON objects (about 300 MB as Python objects), a 30 MB content stream in 60 KB of PDF
    content = make()
    # when / then: the child hit its cap and said so; this process never held the document's expansion
    error, peak = peak_of(lambda: parse_document_isolated(content, name))
    assert isinstance(error, ParseError)
    assert str(error) == (
        "Parsing needs more than 128 MiB of memory; the document is too large or a decompression bomb."
    )
    assert peak < PEAK_BYTES


@override_settings(LLMOPS_KNOWLEDGE_PARSE_MEMORY_MB=4096, LLMOPS_KNOWLEDGE_PARSE_SECONDS=1)
def test_a_parse_that_takes_too_long_is_killed_with_a_reason() -> None:
    with pytest.raises(ParseError, match=r"^Parsing took longer than 1 s; the document is too large or"):
        parse_document_isolated(bombs.pdf_stream_bomb(7_000_000), "paper.pdf")


def test_the_isolated_parser_returns_the_same_text_and_reasons_as_the_parser() -> None:
    content = "animal,food\nowl,mice\n熊猫,竹子\n".encode()
    assert parse_document_isolated(content, "table.csv") == parse_document(content, "table.csv")
    with pytest.raises(ParseError, match=r"^Cannot read pdf"):
        parse_document_isolated(b"%PDF-1.4 broken", "broken.pdf")


def test_the_parser_child_gets_none_of_the_worker_s_secrets_and_still_parses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a worker whose environment holds secrets, as a deployed one does
    for name in ("DATABASE_URL", "REDIS_URL", "DJANGO_SECRET_KEY", "OPENAI_API_KEY", "LLMOPS_FIELD_KEYS"):
        monkeypatch.setenv(name, "s3cret-value")
    # then the child that parses untrusted bytes is handed none of them
    env = _child_env()
    assert not [name for name, value in env.items() if "s3cret" in value], env
    assert set(env) <= {"PATH", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "PYTHONPATH", "PYTHONNOUSERSITE"}
    # and it still parses a document
    content = b"animal,food\nowl,mice\n"
    assert parse_document_isolated(content, "table.csv") == parse_document(content, "table.csv")


@override_settings(LLMOPS_KNOWLEDGE_PARSE_SECONDS=0.001)
def test_plain_text_is_read_in_process_without_a_child() -> None:
    # No child starts within a millisecond: only an in-process read gets through.
    text = "Owls hunt at night.\n" * 10_000
    assert parse_document_isolated(text.encode(), "notes.md") == text.strip()
