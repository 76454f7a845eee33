"""The ingestion pipeline of one document: fetch/parse -> clean -> chunk -> embed -> bulk write -> flip.

Idempotent and safe under concurrency: each run takes a new generation number (``latest_generation + 1``,
one UPDATE), writes its chunks under it with binary COPY, then flips ``active_generation`` forward unless a
newer generation is already there and deletes older generations. Two concurrent runs of one document both
write; the higher generation wins, the loser deletes its own chunks. Readers join on
``active_generation`` and never see a half-written generation. Status and progress are only written by the
newest generation, so an overtaken run cannot overwrite a newer run's state.

Re-embedding (a new embedding endpoint or distance) reuses the generations: while the knowledge base's
searchable vectors were made with other settings than this run's, the run *stages* its generation
(``staged_generation``) and the previous one stays active; the run that stages the last missing one flips every
document of the knowledge base and its searchable settings in one transaction (``knowledge_base_reembed_finish``).
Every write of ``active_generation``/``staged_generation`` and of the searchable settings holds the knowledge
base's row lock (``FOR NO KEY UPDATE``: the foreign-key checks of concurrent COPYs are not blocked), so
finishing runs, settings changes and deletions serialize and exactly one sees the re-embed complete. A run that finishes after the settings changed under it drops its chunks: a newer run is queued.
"""

from __future__ import annotations

import logging
import time
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
from llmops.core.outbound import URL_DOCUMENTS, url_document_client
from llmops.knowledge.events import DocumentProgress
from llmops.knowledge.indexes import hnsw_index_ensure
from llmops.knowledge.models import Chunk, Document, DocumentStatus, KnowledgeBase
from llmops.knowledge.parse_isolated import parse_document_isolated
from llmops.knowledge.parsing import ParseError, Piece, chunk_text, clean_text, segment
from llmops.knowledge.rerank import knowledge_base_metering
from llmops.knowledge.versions import PINNED_SQL, unpinned
from workflows import BlockedURLError

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
    knowledge_base: KnowledgeBase,
    texts: Sequence[str],
    *,
    model: str | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> list[list[float]]:
    """Embed ``texts`` through the metered gateway in batches of ``LLMOPS_KNOWLEDGE_EMBED_BATCH``, with
    ``model`` (an endpoint slug; the knowledge base's ``embedding_model`` when not given)."""
    metering = knowledge_base_metering(knowledge_base)
    gateway, context = metering.gateway, metering.context
    size = settings.LLMOPS_KNOWLEDGE_EMBED_BATCH
    model = model or knowledge_base.embedding_model
    vectors: list[list[float]] = []
    for start in range(0, len(texts), size):
        batch = texts[start : start + size]
        result = async_to_sync(gateway.embed)(model, batch, context)
        _batch_check(model, batch, result.vectors, dims=len(vectors[0]) if vectors else None)
        vectors.extend(result.vectors)
        if on_batch:
            on_batch(len(vectors))
    return vectors


def _batch_check(
    model: str, texts: Sequence[str], vectors: Sequence[Sequence[float]], dims: int | None
) -> None:
    """One vector per text, all of one dimension (the earlier batches' too): an endpoint whose model was
    swapped mid-document must fail the document, not leave it half-indexed in two dimensions."""
    if len(vectors) != len(texts):
        raise IngestError(
            f"The embedding endpoint {model!r} returned {len(vectors)} vectors for {len(texts)} texts."
        )
    sizes = sorted({len(vector) for vector in vectors} | ({dims} if dims is not None else set()))
    if len(sizes) > 1:
        raise IngestError(
            f"The embedding endpoint {model!r} changed its vector dimension while embedding this document "
            f"({', '.join(map(str, sizes))}); nothing of it was indexed. Ingest it again once the endpoint "
            "is stable."
        )


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
    """GET ``url`` through the SSRF guard (every redirect hop is checked and pinned by the transport);
    (content, file name, MIME type). The body is streamed and the fetch stops as soon as it passes
    ``LLMOPS_KNOWLEDGE_MAX_UPLOAD_BYTES`` (decoded bytes, so a compressed bomb stops too)."""
    started = time.monotonic()
    try:
        with (
            url_document_client(timeout=20) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code >= 400:
                raise IngestError(f"Fetching {url} answered HTTP {response.status_code}.")
            content = _capped_body(response, started)
    except BlockedURLError as exc:
        raise IngestError(f"URL not allowed: {exc} ({URL_DOCUMENTS})") from None
    except httpx.HTTPError as exc:
        raise IngestError(f"Cannot fetch {url}: {type(exc).__name__}") from None
    mime = response.headers.get("content-type", "text/html").split(";")[0].strip()
    extension = {"application/pdf": "pdf", "text/plain": "txt", "application/json": "json"}.get(mime, "html")
    return content, f"page.{extension}", mime


def _capped_body(response: httpx.Response, started: float) -> bytes:
    """The body of a streamed ``response``, refused once it is over the upload limit or the fetch has taken
    longer than ``LLMOPS_KNOWLEDGE_FETCH_SECONDS`` (closing the stream drops the connection; nothing read so
    far is kept)."""
    limit, deadline = settings.LLMOPS_KNOWLEDGE_MAX_UPLOAD_BYTES, settings.LLMOPS_KNOWLEDGE_FETCH_SECONDS
    too_large = IngestError(f"The page is over the {limit}-byte limit.")
    declared = response.headers.get("content-length", "")
    if declared.isascii() and declared.isdecimal() and int(declared) > limit:
        raise too_large
    body = bytearray()
    for part in response.iter_bytes():
        body += part
        if len(body) > limit:
            raise too_large
        if time.monotonic() - started > deadline:
            raise IngestError(f"The page took longer than {deadline} s to download.")
    return bytes(body)


def _pieces(document: Document, content: bytes, name: str, mime: str) -> list[Piece]:
    kb = document.knowledge_base
    text = parse_document_isolated(content, name, mime)
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


def _expected_dims(kb: KnowledgeBase) -> int | None:
    """The dimension the vectors of ``kb``'s current settings have (None until the first of them)."""
    return kb.pending_dims if kb.reembedding else kb.dims


def _check_dims(kb: KnowledgeBase, dims: int) -> None:
    allowed = settings.LLMOPS_EMBEDDING_ALLOWED_DIMENSIONS
    if dims not in allowed:
        raise IngestError(
            f"The embedding endpoint {kb.embedding_model!r} returns {dims}-dimensional vectors; knowledge bases "
            f"accept {', '.join(map(str, sorted(allowed)))} (LLMOPS_EMBEDDING_ALLOWED_DIMENSIONS)."
        )
    expected = _expected_dims(kb)
    if expected is not None and expected != dims:
        raise IngestError(
            f"The embedding model returned {dims} dimensions; this knowledge base has {expected}."
        )


def _learn_dims(kb: KnowledgeBase, dims: int) -> None:
    """Under ``kb``'s row lock: record the dimension (and, for the first vectors, the searchable settings)."""
    _check_dims(kb, dims)
    if not kb.active_embedding_model:  # the knowledge base's first vectors
        kb.active_embedding_model, kb.active_distance, kb.dims = kb.embedding_model, kb.distance, dims
    elif kb.reembedding and kb.pending_dims is None:
        kb.pending_dims = dims
    elif not kb.reembedding and kb.dims is None:
        kb.dims = dims
    else:
        return
    KnowledgeBase.objects.filter(pk=kb.pk).update(
        active_embedding_model=kb.active_embedding_model, active_distance=kb.active_distance, dims=kb.dims,
        pending_dims=kb.pending_dims,
    )  # fmt: skip


def _flip(document: Document, generation: int, count: int, kb: KnowledgeBase) -> bool:
    """Under ``kb``'s row lock: make ``generation`` searchable, or stage it while ``kb`` re-embeds a document
    that has searchable vectors of the previous settings; drop superseded chunks. False if overtaken."""
    doc = Document.objects.only("active_generation", "staged_generation").get(pk=document.pk)
    if generation <= max(doc.active_generation, doc.staged_generation):
        Chunk.objects.filter(document_id=document.pk, generation=generation).delete()
        return False
    older = Chunk.objects.filter(document_id=document.pk, generation__lt=generation)
    if kb.reembedding and doc.active_generation not in (0, doc.staged_generation):
        unpinned(older.exclude(generation=doc.active_generation)).delete()
        Document.objects.filter(pk=document.pk).update(staged_generation=generation)
        return True
    unpinned(older).delete()  # what a published version holds stays (``llmops.knowledge.versions``)
    # a document without vectors of the previous settings is searchable at once (its own vectors join
    # vector search when the knowledge base flips); it counts as staged
    staged = generation if kb.reembedding else 0
    Document.objects.filter(pk=document.pk).update(
        active_generation=generation, staged_generation=staged, chunk_count=count
    )
    return True


def knowledge_base_reembed_finish(knowledge_base: KnowledgeBase) -> bool:
    """Under the knowledge base's row lock: if it re-embeds and every document that has searchable vectors
    has a staged generation, flip them all and the searchable settings at once; True if it flipped."""
    kb = knowledge_base
    if not kb.reembedding:
        return False
    waiting = Document.objects.filter(knowledge_base_id=kb.pk, active_generation__gt=0, staged_generation=0)
    if waiting.exists():
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE knowledge_document d SET active_generation = d.staged_generation, chunk_count = ("
            "SELECT count(*) FROM knowledge_chunk c WHERE c.document_id = d.id AND c.generation = d.staged_generation"
            ") WHERE d.knowledge_base_id = %s AND d.staged_generation > d.active_generation",
            [kb.pk],
        )
        cursor.execute(
            "DELETE FROM knowledge_chunk c USING knowledge_document d WHERE d.id = c.document_id "
            f"AND d.knowledge_base_id = %s AND c.generation < d.active_generation AND NOT {PINNED_SQL}",
            [kb.pk],
        )
    Document.objects.filter(knowledge_base_id=kb.pk, staged_generation__gt=0).update(staged_generation=0)
    kb.active_embedding_model, kb.active_distance = kb.embedding_model, kb.distance
    kb.dims, kb.pending_dims = kb.pending_dims, None
    KnowledgeBase.objects.filter(pk=kb.pk).update(
        active_embedding_model=kb.active_embedding_model, active_distance=kb.active_distance, dims=kb.dims,
        pending_dims=None,
    )  # fmt: skip
    return True


def _finish(document: Document, generation: int, count: int, dims: int) -> None:
    """Flip or stage ``generation`` (see the module docstring), then report the document ready."""
    started = document.knowledge_base  # the settings this run embedded with
    with transaction.atomic():
        kb = KnowledgeBase.objects.select_for_update(no_key=True).filter(pk=started.pk).first()
        if kb is None:  # deleted meanwhile, with the document and its chunks
            return
        if (kb.embedding_model, kb.distance) != (started.embedding_model, started.distance):
            Chunk.objects.filter(document_id=document.pk, generation=generation).delete()
            stale = True
        else:
            _learn_dims(kb, dims)
            stale = False
            if _flip(document, generation, count, kb):
                knowledge_base_reembed_finish(kb)
    if stale:  # the settings changed while this run embedded; the run queued by that change takes over
        _progress(document, generation, DocumentStatus.QUEUED, 0)
    else:
        _progress(document, generation, DocumentStatus.READY, 100, error="", attempts=0)


def _next_generation(document_id: int) -> tuple[int, int] | None:
    """Take the next generation number atomically (UPDATE ... RETURNING: two runs never share one) and count
    the attempt; (generation, attempts). Committed before any parsing, so a run its worker dies in counts."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE knowledge_document SET latest_generation = latest_generation + 1, attempts = attempts + 1 "
            "WHERE id = %s RETURNING latest_generation, attempts",
            [document_id],
        )
        row = cursor.fetchone()
    return (int(row[0]), int(row[1])) if row else None


def document_ingest_run(*, document_id: int) -> None:
    """Ingest one document end to end; failures end with status ``failed`` and a reason, nothing partial.

    A document whose previous ``LLMOPS_KNOWLEDGE_MAX_ATTEMPTS`` ingestions never finished (each one's worker
    died: a crash, the kernel's OOM killer) fails for good here, before it is parsed again.
    """
    taken = _next_generation(document_id)
    if taken is None:
        return
    generation, attempts = taken
    document = Document.objects.select_related("knowledge_base").get(id=document_id)
    limit = settings.LLMOPS_KNOWLEDGE_MAX_ATTEMPTS
    if attempts > limit:
        reason = (f"Ingestion was started {limit} times and its worker stopped each time (the document may be "
                  "too large or malformed); it is not retried.")  # fmt: skip
        _fail(document, generation, reason, finished=False)
        return
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

        kb = document.knowledge_base
        vectors = embed_texts(kb, children, on_batch=on_batch)
        dims = len(vectors[0])
        if any(len(vector) != dims for vector in vectors):
            raise IngestError("The embedding endpoint returned vectors of different lengths.")
        _check_dims(kb, dims)  # early, before an index is built for it; _finish checks again under the lock
        hnsw_index_ensure(dims=dims, distance=kb.distance)  # outside a transaction: CONCURRENTLY
        count = chunks_copy(document=document, generation=generation, pieces=pieces, vectors=vectors)
        _finish(document, generation, count, dims)
    except (ParseError, IngestError, LLMOpsError) as exc:
        _fail(document, generation, getattr(exc, "message", None) or str(exc))
    except Exception as exc:
        logger.exception("ingestion of document %s failed", document_id)
        _fail(document, generation, f"Internal error: {type(exc).__name__}: {exc}")


def _fail(document: Document, generation: int, reason: str, *, finished: bool = True) -> None:
    """Fail with ``reason``; a run that ``finished`` (its failure is known) no longer counts as an attempt
    its worker died in."""
    Chunk.objects.filter(document_id=document.pk, generation=generation).delete()
    counted = {"attempts": 0} if finished else {}
    _progress(document, generation, DocumentStatus.FAILED, 100, error=reason[:2000], **counted)
