"""Fixtures of the knowledge tests: a knowledge base on the real local MiniLM embeddings server."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import pytest

from llmops.accounts.models import Workspace
from llmops.knowledge.ingestion import document_ingest_run
from llmops.knowledge.models import Document, DocumentSource, DocumentStatus, KnowledgeBase
from tests.knowledge.factories import KnowledgeBaseFactory, embedding_endpoint


@pytest.fixture
def kb(workspace: Workspace, local_embedding_model_url: str) -> KnowledgeBase:
    """Knowledge base ``docs`` in ``acme`` embedding with the real all-MiniLM-L6-v2 (384 dims)."""
    embedding_endpoint(workspace, local_embedding_model_url)
    return KnowledgeBaseFactory.create(workspace=workspace, slug="docs", name="Docs")


def make_document(kb: KnowledgeBase, file_name: str, content: bytes, **fields: Any) -> Document:
    """A queued document row, made directly (as a factory would): no task is enqueued, so a session worker
    started by another test never races the in-process ingestion these tests run."""
    return Document.objects.create(
        knowledge_base=kb, title=fields.pop("title", file_name), source=fields.pop("source", DocumentSource.UPLOAD),
        file_name=file_name,
        content=content, size=len(content), checksum=hashlib.sha256(content).hexdigest(), **fields,
    )  # fmt: skip


def ingest_text(kb: KnowledgeBase, title: str, text: str, **metadata: Any) -> Document:
    """Make a text document and ingest it in this process (as the worker would)."""
    document = make_document(kb, f"{title}.txt", text.encode(), title=title, metadata=metadata)
    document_ingest_run(document_id=document.pk)
    document.refresh_from_db()
    return document


def wait_document(document_id: int, generation: int = 1, timeout: float = 60) -> Document:
    """Wait until the worker has finished ``generation`` of the document (ready or failed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        document = Document.objects.get(pk=document_id)
        final = document.status in (DocumentStatus.READY, DocumentStatus.FAILED)
        if final and document.latest_generation >= generation:
            return document
        time.sleep(0.1)
    raise AssertionError(f"document {document_id} is still {Document.objects.get(pk=document_id).status}")
