"""Parsing (bytes -> text), cleaning and chunking; pure functions, no database.

Text formats reuse the engine's ``workflows.extract_text`` (txt, md, html, pdf, docx); csv, xlsx and json
are parsed here so that each row / record becomes a line of ``key: value`` pairs a retriever can match.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from typing import Any

from workflows import NodeError, extract_text

SUPPORTED_EXTENSIONS = frozenset(
    {"txt", "text", "md", "markdown", "html", "htm", "pdf", "docx", "csv", "xlsx", "json"}
)
_URL = re.compile(r"https?://\S+|www\.\S+")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_SPACES = re.compile(r"[ \t\r\f\v\u3000]+")
_BLANK_LINES = re.compile(r"\n{3,}")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"\w+", re.UNICODE)


class ParseError(Exception):
    """The document cannot be read (unsupported, corrupt or empty); the message is shown to users."""


@dataclass(frozen=True, slots=True)
class Piece:
    """One chunk to index: ``parent_position`` links a child to its parent piece (parent-child mode)."""

    position: int
    text: str
    is_parent: bool = False
    parent_position: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


def extension_of(name: str) -> str:
    """The lower-case extension of ``name`` without the dot ('' when none)."""
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def parse_document(content: bytes, name: str, mime_type: str = "") -> str:
    """The text of a document; raises ``ParseError`` for unsupported, corrupt or empty files."""
    extension = extension_of(name)
    if extension not in SUPPORTED_EXTENSIONS:
        raise ParseError(f"Unsupported file type {extension or '(none)'!r}.")
    if not content.strip():
        raise ParseError("The file is empty.")
    try:
        if extension == "csv":
            text = _csv(content)
        elif extension == "xlsx":
            text = _xlsx(content)
        elif extension == "json":
            text = _json(content)
        else:
            text = extract_text(content, name, "")
    except NodeError as exc:
        message = str(exc)
        raise ParseError(message[:1].upper() + message[1:]) from exc
    except Exception as exc:  # parsers raise many types for corrupt files; all mean "unreadable"
        raise ParseError(f"Cannot read {extension} file {name!r}: {type(exc).__name__}: {exc}") from exc
    if not text.strip():
        raise ParseError("No text could be extracted from the file.")
    return text


def _decode(content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return content.decode("latin-1")


def _rows_as_lines(rows: list[list[Any]]) -> str:
    if not rows:
        return ""
    header = [str(cell or "").strip() for cell in rows[0]]
    lines = []
    for row in rows[1:]:
        pairs = [f"{h}: {v}" for h, v in zip(header, row, strict=False) if v not in (None, "")]
        if pairs:
            lines.append("; ".join(pairs))
    return "\n".join(lines) if lines else "; ".join(header)


def _csv(content: bytes) -> str:
    return _rows_as_lines([list(row) for row in csv.reader(io.StringIO(_decode(content)))])


def _xlsx(content: bytes) -> str:
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    sheets = [_rows_as_lines([list(row) for row in sheet.iter_rows(values_only=True)]) for sheet in workbook]
    return "\n\n".join(sheet for sheet in sheets if sheet)


def _json(content: bytes) -> str:
    data = json.loads(_decode(content))
    records = data if isinstance(data, list) else [data]
    lines = []
    for record in records:
        if isinstance(record, dict):
            lines.append("; ".join(f"{k}: {_flat(v)}" for k, v in record.items()))
        else:
            lines.append(_flat(record))
    return "\n".join(lines)


def _flat(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def clean_text(text: str, *, collapse_whitespace: bool = True, remove_urls_emails: bool = False) -> str:
    """Apply the cleaning rules: URL/e-mail removal, then whitespace collapsing (paragraphs are kept)."""
    if remove_urls_emails:
        text = _EMAIL.sub("", _URL.sub("", text))
    if collapse_whitespace:
        text = _BLANK_LINES.sub("\n\n", _SPACES.sub(" ", text))
        text = "\n".join(line.strip() for line in text.split("\n"))
    return text.strip()


def _splitter(settings: dict[str, Any], size: int) -> Any:
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    overlap = min(int(settings.get("chunk_overlap", 50)), size // 2)
    kind = settings.get("splitter", "recursive")
    if kind == "token":
        # Offline cl100k counting (plain tiktoken would download its vocabulary).
        from llmops.providers.tokens import count_text

        def tokens(text: str) -> int:
            return count_text(text, model="gpt-4o")

        return RecursiveCharacterTextSplitter(chunk_size=size, chunk_overlap=overlap, length_function=tokens)
    # Chinese sentence ends come before the generic separators so Chinese text splits at sentences.
    separators = ["\n\n", "\n", "。", "！", "？", "；", ". ", "! ", "? ", "，", ", ", " ", ""]  # noqa: RUF001
    return RecursiveCharacterTextSplitter(chunk_size=size, chunk_overlap=overlap, separators=separators)


def _sections(text: str, settings: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Markdown-header mode splits at headers first (header path in metadata); others keep one section."""
    if settings.get("splitter") != "markdown":
        return [(text, {})]
    from langchain_text_splitters import MarkdownHeaderTextSplitter

    headers = [("#", "h1"), ("##", "h2"), ("###", "h3")]
    docs = MarkdownHeaderTextSplitter(headers_to_split_on=headers, strip_headers=False).split_text(text)
    return [(doc.page_content, dict(doc.metadata)) for doc in docs] or [(text, {})]


def chunk_text(text: str, settings: dict[str, Any]) -> list[Piece]:
    """Split cleaned ``text`` into pieces; in parent-child mode parents hold children's context."""
    size = int(settings.get("chunk_size", 500))
    child_splitter = _splitter(settings, size)
    pieces: list[Piece] = []
    for section, meta in _sections(text, settings):
        if not settings.get("parent_child"):
            for child in child_splitter.split_text(section):
                pieces.append(Piece(len(pieces), child, metadata=meta))
            continue
        parent_splitter = _splitter(settings, int(settings.get("parent_chunk_size", size * 4)))
        for parent in parent_splitter.split_text(section):
            parent_position = len(pieces)
            pieces.append(Piece(parent_position, parent, is_parent=True, metadata=meta))
            for child in child_splitter.split_text(parent):
                pieces.append(Piece(len(pieces), child, parent_position=parent_position, metadata=meta))
    return pieces


def has_cjk(text: str) -> bool:
    """Whether ``text`` contains Chinese characters."""
    return bool(_CJK.search(text))


def segment(text: str) -> str:
    """Space-joined jieba search-mode tokens of the CJK words of ``text`` ('' when it has none).

    Non-CJK words are left to PostgreSQL's English configuration (stemming); CJK tokens go into a
    ``simple``-configuration tsvector, which indexes them as they are.
    """
    if not has_cjk(text):
        return ""
    import jieba

    tokens = (token.strip() for token in jieba.cut_for_search(text))
    return " ".join(token for token in tokens if token and _CJK.search(token))


def query_terms(query: str) -> tuple[list[str], list[str]]:
    """(non-CJK words, CJK tokens) of a query, each a safe tsquery lexeme (word characters only)."""
    cjk = segment(query).split()
    words = [w for w in _WORD.findall(_CJK.sub(" ", query)) if not w.isdigit() or len(w) > 1]
    return words, cjk
