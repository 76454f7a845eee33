"""Parsing (bytes -> text), cleaning and chunking; pure functions, no database.

Text formats reuse the engine's ``workflows.extract_text`` (txt, md, html, pdf, docx); csv, xlsx and json
are parsed here so that each row / record becomes a line of ``key: value`` pairs a retriever can match.

Tables are streamed row by row under hard caps (``MAX_ROWS``, ``MAX_CELLS``, counting the empty cells a
parser pads rows with), and an xlsx's declared dimension is ignored: openpyxl would otherwise pad every row
to it, so 1.5 KB declaring ``A1:XFD1048576`` grew by 128 KB a row. Office files are checked for zip bombs
first (``workflows.archive_check``). What no cap foresees is bounded by parsing in a memory-capped child
(``llmops.knowledge.parse_isolated``).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from workflows import NodeError, archive_check, decode_text, extract_text

SUPPORTED_EXTENSIONS = frozenset(
    {"txt", "text", "md", "markdown", "html", "htm", "pdf", "docx", "csv", "xlsx", "json"}
)
MAX_ROWS = 1_048_576  # Excel's own limit
MAX_CELLS = 2_000_000
MAX_JSON_DEPTH = 100
_URL = re.compile(r"https?://\S+|www\.\S+")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_SPACES = re.compile(r"[ \t\r\f\v\u3000]+")
_BLANK_LINES = re.compile(r"\n{3,}")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"\w+", re.UNICODE)


class ParseError(Exception):
    """The document cannot be read (unsupported, corrupt, empty or over a limit); the message is shown to
    users."""


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
    """The text of a document; raises ``ParseError`` for unsupported, corrupt, empty or oversized files.

    Runs in the calling process: ingestion calls it through ``parse_isolated.parse_document_isolated``.
    """
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
    except (NodeError, ParseError) as exc:
        message = str(exc)
        raise ParseError(message[:1].upper() + message[1:]) from exc
    except csv.Error as exc:
        raise ParseError(f"Cannot read csv file {name!r}: {exc}.") from exc
    except RecursionError:
        raise ParseError(f"The {extension} file is nested too deeply to read.") from None
    except MemoryError:
        raise  # not "unreadable": the isolated parser reports it as over its memory cap
    except Exception as exc:  # parsers raise many types for corrupt files; all mean "unreadable"
        raise ParseError(f"Cannot read {extension} file {name!r}: {type(exc).__name__}: {exc}") from exc
    if not text.strip():
        raise ParseError("No text could be extracted from the file.")
    return text


def _decode(content: bytes) -> str:
    return decode_text(content)  # UTF-8, else the legacy encoding (GBK ...) the bytes show


def _capped(rows: Iterable[Sequence[Any]]) -> Iterator[Sequence[Any]]:
    """``rows`` as they come, refused once past ``MAX_ROWS`` rows or ``MAX_CELLS`` cells (padding included)."""
    cells = 0
    for number, row in enumerate(rows, start=1):
        cells += len(row)
        if number > MAX_ROWS:
            raise ParseError(f"The table has more than {MAX_ROWS:,} rows.")
        if cells > MAX_CELLS:
            raise ParseError(f"The table has more than {MAX_CELLS:,} cells.")
        yield row


def _rows_as_lines(rows: Iterable[Sequence[Any]]) -> str:
    """The first row is the header; each later row becomes ``header: value; ...`` (empty cells left out)."""
    iterator = iter(_capped(rows))
    header = ["" if cell is None else str(cell).strip() for cell in next(iterator, ())]
    lines = []
    for row in iterator:
        if not row:  # a missing row of a sheet (cheap to skip: a sheet may number rows far apart)
            continue
        pairs = [f"{h}: {v}" for h, v in zip(header, row, strict=False) if v not in (None, "")]
        if pairs:
            lines.append("; ".join(pairs))
    return "\n".join(lines) if lines else "; ".join(header)


def _csv(content: bytes) -> str:
    # csv's own field limit (131,072 characters) refuses a giant field
    return _rows_as_lines(csv.reader(io.StringIO(_decode(content))))


def _xlsx(content: bytes) -> str:
    from openpyxl import load_workbook

    archive_check(content)
    workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    try:
        sheets = []
        for sheet in workbook.worksheets:
            sheet.reset_dimensions()  # a read-only sheet: rows are no longer padded to its claim
            sheets.append(_rows_as_lines(sheet.iter_rows(values_only=True)))
    finally:
        workbook.close()
    return "\n\n".join(sheet for sheet in sheets if sheet)


def _json(content: bytes) -> str:
    data = json.loads(_decode(content))
    _depth_check(data)
    records = data if isinstance(data, list) else [data]
    lines = []
    for record in records:
        if isinstance(record, dict):
            lines.append("; ".join(f"{k}: {_flat(v)}" for k, v in record.items()))
        else:
            lines.append(_flat(record))
    return "\n".join(lines)


def _depth_check(data: Any) -> None:
    """Refuse JSON nested deeper than ``MAX_JSON_DEPTH`` (iteratively: the check itself cannot recurse)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise ParseError(f"The JSON document is nested deeper than {MAX_JSON_DEPTH} levels.")
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))


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


# Paragraphs, lines, then sentence ends (Chinese and Western), then clauses and words: a chunk is cut inside a
# sentence only when that one sentence is longer than a chunk. Sentence ends stay with their sentence.
SEPARATORS = ["\n\n", "\n", "。", "！", "？", "；", ". ", "! ", "? ", "; ", "，", ", ", " ", ""]


def _splitter(settings: dict[str, Any], size: int) -> Any:
    """A sentence-aware splitter measuring ``size`` in characters, or in tokens for the ``token`` splitter."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    overlap = min(int(settings.get("chunk_overlap", 50)), size // 2)
    length: Callable[[str], int] = _tokens if settings.get("splitter", "recursive") == "token" else len
    return RecursiveCharacterTextSplitter(
        chunk_size=size,
        chunk_overlap=overlap,
        length_function=length,
        separators=SEPARATORS,
        keep_separator="end",
    )


def _tokens(text: str) -> int:
    # Offline cl100k counting (plain tiktoken would download its vocabulary).
    from llmops.providers.tokens import count_text

    return count_text(text, model="gpt-4o")


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


# Function words and question words: in a question they match every passage and drown the terms that matter.
# (English stop words are PostgreSQL's ``english`` configuration's.) Only queries drop them; chunks keep them.
CHINESE_STOP_WORDS = frozenset(
    "的 了 是 在 和 与 或 及 而 并 但 也 都 还 又 就 才 把 被 对 从 到 向 给 用 以 为 为了 之 其 所 等 着 过 吗 呢 吧 啊 "  # noqa: SIM905
    "什么 怎么 怎样 如何 为什么 哪个 哪些 哪里 哪 多少 几 多久 多大 是否 有没有 能否 可以 应该 需要 要 会 能 该 "
    "时 时候 之后 以后 之前 以前 后 前 中 里 上 下 这 那 这个 那个 这些 那些 一个 个 有 没有 如果 我们 你 我 他 它".split()
)


def query_terms(query: str) -> tuple[list[str], list[str]]:
    """(non-CJK words, CJK tokens) of a query, each a safe tsquery lexeme (word characters only)."""
    cjk = [token for token in segment(query).split() if token not in CHINESE_STOP_WORDS]
    words = [w for w in _WORD.findall(_CJK.sub(" ", query)) if not w.isdigit() or len(w) > 1]
    return words, cjk
