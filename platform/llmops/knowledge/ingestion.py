"""The ingestion pipeline of one document: fetch/parse -> clean -> chunk -> embed -> bulk write -> flip.

Idempotent and safe under concurrency: each run takes a new generation number (``latest_generation + 1``,
one UPDATE), writes its chunks under it with binary COPY, then flips ``active_generation`` forward with a
compare-and-set (``WHERE active_generation < gen``) and deletes older generations. Two concurrent runs of
one document both write; the higher generation wins, the loser deletes its own chunks. Readers join on
``active_generation`` and never see a half-written generation. Status and progress are only written by the
newest generation, so an overtaken run cannot overwrite a newer run's state.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, cast

import httpx
import numpy as np
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection, transaction
from psycopg.types import TypeInfo
from psycopg.types.json import Jsonb

from llmops.accounts.events import workspace_group
from llmops.core.errors import LLMOpsError
from llmops.knowledge.events import DocumentProgress
from llmops.knowledge.indexes import hnsw_index_ensure
from llmops.knowledge.models import Chunk, Document, DocumentStatus, KnowledgeBase
from llmops.knowledge.parsing import ParseError, Piece, chunk_text, clean_text, parse_document, segment
from llmops.providers.gateway import PlatformModelGateway
from llmops.providers.ssrf import allowlist
from workflows import BlockedURLError, SSRFGuardSyncTransport
from workflows._ports import CallContext

logger = logging.getLogger(__name__)
_COPY_COLUMNS = (
    "knowledge_base_id, document_id, generation, position, is_parent, parent_position, text, segmented, "
    "embedding, dims, embedding_model, metadata, enabled"
)
_COPY_TYPES = [
    "bigint", "bigint", "integer", "integer", "boolean", "integer", "text", "text", "vector", "smallint", "text",
    "jsonb", "boolean",
]  # fmt: skip


class IngestError(Exception):
    """Ingestion cannot complete; the message becomes the document's failure reason."""


def embed_texts(
    knowledge_base: KnowledgeBase, texts: Sequence[str], *, on_batch: Callable[[int], None] | None = None
) -> list[list[float]]:
    """Embed ``texts`` through the metered gateway in batches of ``LLMOPS_KNOWLEDGE_EMBED_BATCH``."""
    gateway = PlatformModelGateway(workspace=knowledge_base.workspace_id, source="ingest")
    context = CallContext(run_id="", node_id=f"knowledge:{knowledge_base.slug}")
    size = settings.LLMOPS_KNOWLEDGE_EMBED_BATCH
    vectors: list[list[float]] = []
    for start in range(0, len(texts), size):
        result = async_to_sync(gateway.embed)(
            knowledge_base.embedding_model, texts[start : start + size], context
        )
        vectors.extend(result.vectors)
        if on_batch:
            on_batch(len(vectors))
    return vectors


def _vector_type() -> TypeInfo:
    info = TypeInfo.fetch(connection.connection, "vector")
    if info is None:
        raise IngestError("the vector extension is not installed")
    return cast(TypeInfo, info)


def chunks_copy(
    *, document: Document, generation: int, pieces: Sequence[Piece], vectors: Sequence[Any]
) -> int:
    """Bulk-write ``pieces`` (children with their ``vectors``, parents without) with binary COPY."""
    from pgvector.psycopg.vector import register_vector_info

    connection.ensure_connection()
    base = dict(document.metadata)
    model = document.knowledge_base.embedding_model
    vector_iter = iter(vectors)
    with connection.connection.cursor() as cursor:
        register_vector_info(cursor, _vector_type())
        sql = f"COPY knowledge_chunk ({_COPY_COLUMNS}) FROM STDIN WITH (FORMAT BINARY)"
        with cursor.copy(sql) as copy:
            copy.set_types(_COPY_TYPES)
            for piece in pieces:
                vector = None if piece.is_parent else np.asarray(next(vector_iter), dtype=np.float32)
                copy.write_row((
                    document.knowledge_base_id, document.pk, generation, piece.position, piece.is_parent,
                    piece.parent_position, piece.text, segment(piece.text), vector,
                    None if vector is None else len(vector), "" if vector is None else model,
                    Jsonb({**base, **piece.metadata}), True,
                ))  # fmt: skip
    return len(pieces)


def _progress(document: Document, generation: int, status: str, progress: int, **extra: Any) -> bool:
    """Record status/progress if ``generation`` is still the newest; tell the workspace's websocket."""
    changed = Document.objects.filter(id=document.pk, latest_generation=generation).update(
        status=status, progress=progress, **extra
    )
    if changed:
        event: DocumentProgress = {
            "type": "knowledge.document",
            "knowledge_base": document.knowledge_base.slug,
            "document": document.pk,
            "status": status,
            "progress": progress,
            "error": extra.get("error", ""),
        }
        layer = get_channel_layer()
        if layer is not None:
            try:
                group = workspace_group(document.knowledge_base.workspace_id)
                async_to_sync(layer.group_send)(group, {"type": "event.message", "event": event})
            except Exception:  # live progress is best effort; the row is the record
                logger.warning("knowledge progress event not delivered", exc_info=True)
    return bool(changed)


def _fetch(url: str) -> tuple[bytes, str, str]:
    """GET ``url`` through the SSRF guard; (content, file name, MIME type)."""
    limit = settings.LLMOPS_KNOWLEDGE_MAX_UPLOAD_BYTES
    transport = SSRFGuardSyncTransport(allow=allowlist())
    try:
        with httpx.Client(transport=transport, timeout=20, follow_redirects=True) as client:
            response = client.get(url)
    except BlockedURLError as exc:
        raise IngestError(f"URL not allowed: {exc}") from None
    except httpx.HTTPError as exc:
        raise IngestError(f"Cannot fetch {url}: {type(exc).__name__}") from None
    if response.status_code >= 400:
        raise IngestError(f"Fetching {url} answered HTTP {response.status_code}.")
    if len(response.content) > limit:
        raise IngestError(f"The page is over the {limit}-byte limit.")
    mime = response.headers.get("content-type", "text/html").split(";")[0].strip()
    extension = {"application/pdf": "pdf", "text/plain": "txt", "application/json": "json"}.get(mime, "html")
    return response.content, f"page.{extension}", mime


def _pieces(document: Document, content: bytes, name: str, mime: str) -> list[Piece]:
    kb = document.knowledge_base
    text = parse_document(content, name, mime)
    text = clean_text(
        text,
        collapse_whitespace=bool(kb.chunking.get("collapse_whitespace", True)),
        remove_urls_emails=bool(kb.chunking.get("remove_urls_emails", False)),
    )
    pieces = chunk_text(text, kb.chunking)
    if not pieces:
        raise IngestError("The document has no text to index.")
    if len(pieces) > settings.LLMOPS_KNOWLEDGE_MAX_CHUNKS_PER_DOCUMENT:
        raise IngestError(f"The document makes {len(pieces)} chunks; the limit is "
                          f"{settings.LLMOPS_KNOWLEDGE_MAX_CHUNKS_PER_DOCUMENT}.")  # fmt: skip
    return pieces


def _learn_dims(kb: KnowledgeBase, dims: int) -> None:
    """Record the knowledge base's dimension on first use and make sure its HNSW index exists."""
    KnowledgeBase.objects.filter(id=kb.pk, dims__isnull=True).update(dims=dims)
    kb.refresh_from_db(fields=["dims"])
    if kb.dims != dims:
        raise IngestError(
            f"The embedding model returned {dims} dimensions; this knowledge base has {kb.dims}."
        )
    hnsw_index_ensure(dims=dims, distance=kb.distance)


def _flip(document: Document, generation: int, count: int) -> bool:
    """Make ``generation`` the searchable one unless a newer one already is; drop superseded chunks."""
    with transaction.atomic():
        flipped = Document.objects.filter(id=document.pk, active_generation__lt=generation).update(
            active_generation=generation
        )
        if flipped:
            Chunk.objects.filter(document_id=document.pk, generation__lt=generation).delete()
        else:
            Chunk.objects.filter(document_id=document.pk, generation=generation).delete()
    _progress(document, generation, DocumentStatus.READY, 100, chunk_count=count, error="")
    return bool(flipped)


def _next_generation(document_id: int) -> int | None:
    """Take the next generation number atomically (UPDATE ... RETURNING: two runs never share one)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE knowledge_document SET latest_generation = latest_generation + 1 WHERE id = %s "
            "RETURNING latest_generation",
            [document_id],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else None


def document_ingest_run(*, document_id: int) -> None:
    """Ingest one document end to end; failures end with status ``failed`` and a reason, nothing partial."""
    generation = _next_generation(document_id)
    if generation is None:
        return
    document = Document.objects.select_related("knowledge_base").get(id=document_id)
    try:
        _progress(document, generation, DocumentStatus.PARSING, 5, error="")
        content, name, mime = bytes(document.content), document.file_name, document.mime_type
        if document.source_url and not content:
            content, name, mime = _fetch(document.source_url)
        pieces = _pieces(document, content, name, mime)
        _progress(document, generation, DocumentStatus.CHUNKING, 15)
        children = [p.text for p in pieces if not p.is_parent]
        _progress(document, generation, DocumentStatus.EMBEDDING, 20)
        total = len(children)

        def on_batch(done: int) -> None:
            _progress(document, generation, DocumentStatus.EMBEDDING, 20 + 70 * done // total)

        vectors = embed_texts(document.knowledge_base, children, on_batch=on_batch)
        _learn_dims(document.knowledge_base, len(vectors[0]))
        count = chunks_copy(document=document, generation=generation, pieces=pieces, vectors=vectors)
        _flip(document, generation, count)
    except (ParseError, IngestError, LLMOpsError) as exc:
        _fail(document, generation, getattr(exc, "message", None) or str(exc))
    except Exception as exc:
        logger.exception("ingestion of document %s failed", document_id)
        _fail(document, generation, f"Internal error: {type(exc).__name__}: {exc}")


def _fail(document: Document, generation: int, reason: str) -> None:
    Chunk.objects.filter(document_id=document.pk, generation=generation).delete()
    _progress(document, generation, DocumentStatus.FAILED, 100, error=reason[:2000])
