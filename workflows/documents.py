"""Document text extraction (txt, md, html, pdf, docx), shared with the platform's ingestion."""

from __future__ import annotations

from workflows._documents import document_kind, extract_text

__all__ = ["document_kind", "extract_text"]
