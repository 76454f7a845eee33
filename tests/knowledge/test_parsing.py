"""Parsers on generated files, cleaning rules and splitters (no database)."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmops.knowledge.models import default_chunking
from llmops.knowledge.parsing import (
    ParseError,
    chunk_text,
    clean_text,
    parse_document,
    query_terms,
    segment,
)
from llmops.providers.tokens import count_text
from tests.knowledge.factories import docx_bytes, json_bytes, pdf_bytes, xlsx_bytes


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("notes.txt", b"Owls hunt at night.", "Owls hunt at night."),
        ("notes.md", "# 标题\n\n猫头鹰在夜间捕猎。".encode(), "猫头鹰在夜间捕猎。"),
        ("page.html", b"<html><head><style>x{}</style></head><body><p>Owls hunt</p><script>no</script></body></html>", "Owls hunt"),
        ("paper.pdf", pdf_bytes(["Owls hunt at night.", "They eat mice."]), "They eat mice."),
        ("report.docx", docx_bytes(["Owls hunt at night.", "猫头鹰吃老鼠。"]), "猫头鹰吃老鼠。"),
        ("table.csv", b"animal,food\nowl,mice\nheron,fish\n", "animal: heron; food: fish"),
        ("table.xlsx", xlsx_bytes([["animal", "food"], ["owl", "mice"], ["熊猫", "竹子"]]), "animal: 熊猫; food: 竹子"),
        ("records.json", json_bytes([{"animal": "owl", "tags": ["night"]}]), 'animal: owl; tags: ["night"]'),
    ],
)  # fmt: skip
def test_every_supported_format_is_parsed_to_text(name: str, content: bytes, expected: str) -> None:
    assert expected in parse_document(content, name)


ENCODINGS = Path(__file__).resolve().parents[1] / "data" / "encodings"


@pytest.mark.parametrize(
    ("file", "expected"),
    [
        ("notes-gbk.txt", "中文文档常以 GBK 编码保存：旧版 Windows 的记事本默认如此。"),
        ("faq-gbk.csv", "问题: 检索增强生成是什么？; 答案: 先检索相关段落，再让模型作答。"),
        ("notes-big5.txt", "繁體中文筆記：檢索增強生成先切分文件，再計算向量。"),
        ("notes-cp1252.txt", "Café notes — “naïve” résumé of retrieval."),
    ],
)
def test_text_in_a_legacy_encoding_is_detected_and_decoded(file: str, expected: str) -> None:
    # given a file saved in GBK (old Windows Notepad in China), Big5 or Windows-1252, not UTF-8
    content = (ENCODINGS / file).read_bytes()
    with pytest.raises(UnicodeDecodeError):
        content.decode("utf-8")
    # then its text is read as written, not as mojibake
    assert expected in parse_document(content, file)


def test_utf16_with_a_byte_order_mark_is_read() -> None:
    text = "猫头鹰在夜间捕猎。Owls hunt at night."
    assert parse_document(text.encode("utf-16"), "notes.txt") == text


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("broken.pdf", b"%PDF-1.4\nthis is not really a pdf", "Cannot read pdf"),
        ("empty.txt", b"   \n", "empty"),
        ("blank.txt", b"", "empty"),
        ("spaces.md", "\u3000\u3000\n\t".encode(), "No text"),  # ideographic spaces only
        ("spaces-gbk.txt", "\u3000\u3000".encode("gbk"), "No text"),
        ("archive.zip", b"PK\x03\x04", "Unsupported file type"),
        ("broken.docx", b"not a zip", "Cannot read docx"),
        ("broken.json", b"{nope", "Cannot read json"),
        ("blank.pdf", pdf_bytes([]), "No text"),
    ],
)
def test_bad_files_raise_a_clear_reason(name: str, content: bytes, reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        parse_document(content, name)


def test_cleaning_collapses_whitespace_and_optionally_removes_urls_and_emails() -> None:
    raw = "Contact  us\t at a@b.com\n\n\n\nor https://example.com/x  now"
    assert clean_text(raw) == "Contact us at a@b.com\n\nor https://example.com/x now"
    assert clean_text(raw, remove_urls_emails=True) == "Contact us at\n\nor now"


def test_recursive_splitter_respects_chunk_size_and_chinese_sentence_ends() -> None:
    text = "。".join(f"第{i}句话讲的是猫头鹰在夜里捕猎老鼠" for i in range(40)) + "。"
    settings = {**default_chunking(), "splitter": "recursive", "chunk_size": 100, "chunk_overlap": 0}
    pieces = chunk_text(text, settings)
    assert len(pieces) > 5
    assert all(len(p.text) <= 100 for p in pieces)
    assert all(p.text.endswith("。") and p.text.startswith("第") for p in pieces)  # no sentence is cut
    assert [p.position for p in pieces] == list(range(len(pieces)))


def test_markdown_splitter_keeps_header_path_in_metadata() -> None:
    text = "# Birds\n\n## Owls\n\nOwls hunt at night.\n\n## Herons\n\nHerons eat fish."
    pieces = chunk_text(text, {**default_chunking(), "splitter": "markdown"})
    herons = next(p for p in pieces if "Herons eat" in p.text)
    assert herons.metadata == {"h1": "Birds", "h2": "Herons"}


def test_token_splitter_counts_tokens() -> None:
    text = " ".join(["owls"] * 600)
    pieces = chunk_text(
        text, {**default_chunking(), "splitter": "token", "chunk_size": 100, "chunk_overlap": 0}
    )
    assert len(pieces) > 3
    assert all(count_text(p.text, model="gpt-4o") <= 100 for p in pieces)


def test_parent_child_mode_links_children_to_their_parent() -> None:
    text = "\n\n".join(
        f"Paragraph {i} about owls hunting mice in the forest at night." * 3 for i in range(10)
    )
    settings = {
        **default_chunking(), "splitter": "recursive", "parent_child": True, "chunk_size": 100,
        "parent_chunk_size": 400,
    }  # fmt: skip
    pieces = chunk_text(text, settings)
    parents = {p.position: p for p in pieces if p.is_parent}
    children = [p for p in pieces if not p.is_parent]
    assert parents and len(children) > len(parents)
    assert all(c.parent_position in parents and c.text in parents[c.parent_position].text for c in children)


def test_chinese_is_segmented_with_jieba_and_english_is_left_to_postgres() -> None:
    assert "猫头鹰" in segment("猫头鹰在夜间捕猎").split()
    assert segment("owls only") == ""
    words, cjk = query_terms("夜间 hunting owls?")
    assert words == ["hunting", "owls"] and "夜间" in cjk
