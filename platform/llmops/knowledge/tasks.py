"""Celery tasks of the knowledge app (routed to the ``ingest`` queue by name)."""

from __future__ import annotations

from celery import shared_task

from llmops.knowledge.ingestion import document_ingest_run
from llmops.knowledge.versions import knowledge_garbage_collect


@shared_task(name="llmops.knowledge.document_ingest", acks_late=True)
def document_ingest(document_id: int) -> None:
    """Parse, chunk, embed and index one document; safe to run twice (the newest generation wins)."""
    document_ingest_run(document_id=document_id)


@shared_task(name="llmops.knowledge.garbage_collect")
def garbage_collect() -> dict[str, int]:
    """Remove the chunk generations and deleted documents no version or head needs (a beat task)."""
    return knowledge_garbage_collect()
