"""Text extraction from documents: plain text, Markdown, HTML, PDF (pypdf) and DOCX (python-docx)."""

from __future__ import annotations

import io
import mimetypes
from collections.abc import Callable

from workflows._errors import NodeError

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
    except NodeError:
        raise
    except Exception as exc:  # parsers raise many types for corrupt files; all mean "unreadable"
        raise NodeError(f"cannot read {kind} document {name!r}: {type(exc).__name__}: {exc}") from exc


def _text(content: bytes) -> str:
    for encoding in ("utf-8-sig", "utf-16") if content[:2] in (b"\xff\xfe", b"\xfe\xff") else ("utf-8-sig",):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    return content.decode("latin-1")


def _html(content: bytes) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(content, "html.parser")
    for hidden in soup(["script", "style", "noscript", "template", "head"]):
        hidden.decompose()
    lines = (line.strip() for line in soup.get_text("\n").splitlines())
    return "\n".join(line for line in lines if line)


def _pdf(content: bytes) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(content))
    return "\n\n".join((page.extract_text() or "").strip() for page in reader.pages)


def _docx(content: bytes) -> str:
    import docx

    document = docx.Document(io.BytesIO(content))
    parts = [p.text for p in document.paragraphs if p.text.strip()]
    for table in document.tables:
        parts += [" | ".join(cell.text.strip() for cell in row.cells) for row in table.rows]
    return "\n".join(parts)


_EXTRACTORS: dict[str, Callable[[bytes], str]] = {"text": _text, "html": _html, "pdf": _pdf, "docx": _docx}
