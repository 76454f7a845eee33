"""Typed payloads sent to workspace websocket groups by ingestion."""

from __future__ import annotations

from typing import Literal, TypedDict


class DocumentProgress(TypedDict):
    """A document's ingestion status or progress changed."""

    type: Literal["knowledge.document"]
    knowledge_base: str
    document: int
    status: str
    progress: int
    error: str
