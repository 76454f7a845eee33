"""Workflow documents as the platform accepts them: the engine's limits filled from settings, and a
document refused with the platform's 400 (``document`` field) instead of an engine exception."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from llmops.core.errors import ValidationError
from workflows import DocumentError, DocumentLimits, load_yaml


def document_limits() -> DocumentLimits:
    """The size, node and edge caps of ``LLMOPS_WORKFLOW_MAX_*`` (read per call: tests override them)."""
    return DocumentLimits(
        max_bytes=settings.LLMOPS_WORKFLOW_MAX_DOCUMENT_BYTES,
        max_nodes=settings.LLMOPS_WORKFLOW_MAX_NODES,
        max_edges=settings.LLMOPS_WORKFLOW_MAX_EDGES,
    )


def document_load(text: str) -> Any:
    """Parse an uploaded YAML/JSON document; aliases, oversized or over-deep documents are a 400."""
    try:
        return load_yaml(text, limits=document_limits())
    except DocumentError as exc:
        raise ValidationError(
            f"The document cannot be read: {exc}.", fields={"document": [str(exc)]}
        ) from None
