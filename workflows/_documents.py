"""Text extraction from documents: plain text, Markdown, HTML, PDF (pypdf) and DOCX (python-docx).

Bombs are refused before they are expanded: an Office file (a zip) whose members would inflate past
``MAX_UNCOMPRESSED_BYTES``, or a large member compressed more than ``MAX_COMPRESSION_RATIO`` times, is refused
from its central directory (python-docx reads every member whole); a PDF stops once its text passes
``MAX_TEXT_CHARS`` (pypdf caps each decoded stream at 75 MB, but many pages of them still add up).
"""

from __future__ import annotations

import io
import mimetypes
import zipfile
from collections.abc import Callable

from workflows._errors import NodeError

MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
MAX_COMPRESSION_RATIO = 100
MAX_TEXT_CHARS = 50_000_000
# Small members (styles, relationships) legitimately compress far better than text; only large ones count.
_RATIO_FROM_BYTES = 1024 * 1024

_BY_EXTENSION = {
    ".txt": "text",
    ".text": "text",
    ".md": "text",
    ".markdown": "text",
    ".csv": "text",
    ".json": "text",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
    ".docx": "docx",
}
_BY_MIME = {
    "text/plain": "text",
    "text/markdown": "text",
    "text/csv": "text",
    "application/json": "text",
    "text/html": "html",
    "application/xhtml+xml": "html",
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
}


def document_kind(name: str, mime_type: str = "") -> str:
    """``text``, ``html``, ``pdf`` or ``docx`` from the MIME type, else the file extension."""
    mime = mime_type.split(";")[0].strip().lower()
    if mime in _BY_MIME:
        return _BY_MIME[mime]
    extension = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension in _BY_EXTENSION:
        return _BY_EXTENSION[extension]
    guessed = mimetypes.guess_type(name)[0] or ""
    if guessed in _BY_MIME:
        return _BY_MIME[guessed]
    raise NodeError(f"unsupported document type (name {name!r}, MIME type {mime_type!r})")


def extract_text(content: bytes, name: str = "", mime_type: str = "") -> str:
    """The text of a document; raises NodeError for unsupported or unreadable files."""
    kind = document_kind(name, mime_type)
    try:
        return _EXTRACTORS[kind](content).strip()
    except (NodeError, MemoryError):
        raise
    except Exception as exc:  # parsers raise many types for corrupt files; all mean "unreadable"
        raise NodeError(f"cannot read {kind} document {name!r}: {type(exc).__name__}: {exc}") from exc


def decode_text(content: bytes) -> str:
    """The text of a plain-text file: UTF-8 (with or without a BOM), UTF-16 with a BOM, else the legacy
    encoding its bytes show: GB18030 (which reads GBK and GB2312, common for Chinese files) when that reads them
    as Chinese text, else ``charset_normalizer``'s best guess (Big5, Shift-JIS, cp1252 ...), else Latin-1."""
    encodings = ("utf-8-sig", "utf-16") if content[:2] in (b"\xff\xfe", b"\xfe\xff") else ("utf-8-sig",)
    for encoding in encodings:
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    try:
        text = content.decode("gb18030")
        if _mostly_chinese(text):
            return text
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(content[:_DETECT_BYTES]).best()
    if best is not None and best.encoding and best.encoding.replace("-", "_") in _MULTIBYTE:
        return content.decode(best.encoding, errors="replace")
    # Single-byte text: which Western codepage is guesswork on short files; Windows-1252 (Latin-1 plus the
    # quotes and dashes Word writes) reads the common case, Latin-1 whatever it cannot.
    try:
        return content.decode("cp1252")
    except UnicodeDecodeError:
        return content.decode("latin-1")


# Encodings charset_normalizer names that hold whole scripts (CJK), trusted over the Western default.
_MULTIBYTE = frozenset(
    {"big5", "big5hkscs", "cp950", "shift_jis", "cp932", "euc_jp", "euc_kr", "cp949", "iso2022_jp", "hz"}
)


_DETECT_BYTES = 256 * 1024  # what the detector reads: enough to tell, bounded time on a large file


def _mostly_chinese(text: str) -> bool:
    """Whether at least 80 % of the non-ASCII characters are CJK ideographs or CJK/full-width punctuation."""
    wide = [c for c in text if ord(c) > 127]
    chinese = sum(
        1 for c in wide if "\u4e00" <= c <= "\u9fff" or "\u3000" <= c <= "\u303f" or "\uff00" <= c <= "\uffef"
    )
    return bool(wide) and chinese >= 0.8 * len(wide)


def _text(content: bytes) -> str:
    return decode_text(content)


def _html(content: bytes) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(content, "html.parser")
    for hidden in soup(["script", "style", "noscript", "template", "head"]):
        hidden.decompose()
    lines = (line.strip() for line in soup.get_text("\n").splitlines())
    return "\n".join(line for line in lines if line)


def archive_check(content: bytes) -> None:
    """Refuse a zip-based document (docx, xlsx) that would inflate past ``MAX_UNCOMPRESSED_BYTES`` or has a
    large member compressed more than ``MAX_COMPRESSION_RATIO`` times; raises NodeError saying which.

    The sizes come from the central directory, which cannot understate: ``zipfile`` stops a member at its
    declared size (and fails its CRC), so a lying header only truncates the bomb.
    """
    try:
        members = zipfile.ZipFile(io.BytesIO(content)).infolist()
    except (zipfile.BadZipFile, ValueError):
        return  # not a zip at all: the document's parser says it cannot read it
    total = 0
    for member in members:
        total += member.file_size
        if total > MAX_UNCOMPRESSED_BYTES:
            raise NodeError(
                f"the document expands to more than {MAX_UNCOMPRESSED_BYTES // (1024 * 1024)} MiB when unzipped"
            )
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > _RATIO_FROM_BYTES and ratio > MAX_COMPRESSION_RATIO:
            raise NodeError(
                f"the document's part {member.filename!r} is compressed {ratio:.0f} times (at most "
                f"{MAX_COMPRESSION_RATIO} is accepted): a compression bomb"
            )


def _pdf(content: bytes) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(content))
    texts, size = [], 0
    for page in reader.pages:
        text = (page.extract_text() or "").strip()
        size += len(text)
        if size > MAX_TEXT_CHARS:
            raise NodeError(f"the PDF has more than {MAX_TEXT_CHARS} characters of text")
        texts.append(text)
    return "\n\n".join(texts)


def _docx(content: bytes) -> str:
    import docx

    archive_check(content)
    document = docx.Document(io.BytesIO(content))
    parts = [p.text for p in document.paragraphs if p.text.strip()]
    for table in document.tables:
        parts += [" | ".join(cell.text.strip() for cell in row.cells) for row in table.rows]
    return "\n".join(parts)


_EXTRACTORS: dict[str, Callable[[bytes], str]] = {"text": _text, "html": _html, "pdf": _pdf, "docx": _docx}
