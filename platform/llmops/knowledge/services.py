"""Writes on knowledge bases, documents and chunks (ingestion itself lives in ``ingestion.py``)."""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, connection, transaction

from llmops.accounts.models import Workspace
from llmops.core.enqueue import enqueue_on_commit
from llmops.core.errors import Conflict, PayloadTooLarge, ValidationError
from llmops.core.outbound import URL_DOCUMENTS, check_base_url
from llmops.core.versioning import unique_write
from llmops.knowledge.ingestion import embed_texts, knowledge_base_reembed_finish
from llmops.knowledge.models import (
    Chunk,
    Distance,
    Document,
    DocumentSource,
    DocumentStatus,
    KnowledgeBase,
    KnowledgeBaseVersionDocument,
    RetrievalMode,
    default_chunking,
    default_retrieval,
)
from llmops.knowledge.parsing import SUPPORTED_EXTENSIONS, extension_of, segment
from llmops.knowledge.versions import document_pinned, document_remove

_SPLITTERS = {"recursive", "markdown", "token"}
_FUSIONS = {"rrf", "weighted", "zscore"}


def _validated_chunking(chunking: dict[str, Any] | None) -> dict[str, Any]:
    merged = {**default_chunking(), **(chunking or {})}
    errors: dict[str, list[str]] = {}
    if merged["splitter"] not in _SPLITTERS:
        errors["chunking.splitter"] = [f"One of {sorted(_SPLITTERS)}."]
    size, overlap = merged["chunk_size"], merged["chunk_overlap"]
    if not isinstance(size, int) or not 50 <= size <= 8000:
        errors["chunking.chunk_size"] = ["An integer between 50 and 8000."]
    elif not isinstance(overlap, int) or not 0 <= overlap < size:
        errors["chunking.chunk_overlap"] = ["An integer between 0 and chunk_size - 1."]
    if errors:
        raise ValidationError("Invalid chunking settings.", fields=errors)
    return merged


def _validated_retrieval(retrieval: dict[str, Any] | None) -> dict[str, Any]:
    merged = {**default_retrieval(), **(retrieval or {})}
    errors: dict[str, list[str]] = {}
    if merged["mode"] not in RetrievalMode.values:
        errors["retrieval.mode"] = [f"One of {RetrievalMode.values}."]
    if not isinstance(merged["top_k"], int) or not 1 <= merged["top_k"] <= 100:
        errors["retrieval.top_k"] = ["An integer between 1 and 100."]
    threshold = merged["score_threshold"]
    if threshold is not None and not (isinstance(threshold, int | float) and 0 <= threshold <= 1):
        errors["retrieval.score_threshold"] = ["A number between 0 and 1, or null."]
    if merged["fusion"] not in _FUSIONS:
        errors["retrieval.fusion"] = [f"One of {sorted(_FUSIONS)}."]
    if not isinstance(merged["vector_weight"], int | float) or not 0 <= merged["vector_weight"] <= 1:
        errors["retrieval.vector_weight"] = ["A number between 0 and 1."]
    if not isinstance(merged["rerank_model"], str):
        errors["retrieval.rerank_model"] = ["A rerank endpoint slug, or an empty string."]
    if errors:
        raise ValidationError("Invalid retrieval settings.", fields=errors)
    return merged


@transaction.atomic
def knowledge_base_create(
    *,
    workspace: Workspace,
    slug: str,
    name: str,
    embedding_model: str,
    description: str = "",
    distance: str = Distance.COSINE,
    chunking: dict[str, Any] | None = None,
    retrieval: dict[str, Any] | None = None,
) -> KnowledgeBase:
    """Create a knowledge base; the slug is unique in the workspace (a taken one is a 409 naming the field)."""
    taken = _slug_taken(slug)
    if KnowledgeBase.objects.filter(workspace=workspace, slug=slug).exists():
        raise taken
    return unique_write(
        lambda: KnowledgeBase.objects.create(
            workspace=workspace,
            slug=slug,
            name=name,
            description=description,
            embedding_model=embedding_model,
            distance=distance,
            chunking=_validated_chunking(chunking),
            retrieval=_validated_retrieval(retrieval),
        ),
        taken,
    )


def _slug_taken(slug: str) -> Conflict:
    return Conflict(f"A knowledge base {slug!r} exists already.", fields={"slug": ["Already taken."]})


@transaction.atomic
def knowledge_base_update(*, knowledge_base: KnowledgeBase, **changes: Any) -> KnowledgeBase:
    """Update settings; a slug taken in the workspace is a 409.

    A new embedding endpoint or distance re-embeds every document in the background; searches keep using the
    previous vectors until every document has new ones, then switch all at once (see ``models``).
    """
    # the row lock orders this change with finishing ingestions (which learn dims and flip generations);
    # reloading under it means ``save`` never writes back searchable settings read before one finished
    kb = knowledge_base
    kb.refresh_from_db(from_queryset=KnowledgeBase.objects.select_for_update(no_key=True))
    if "chunking" in changes:
        changes["chunking"] = _validated_chunking({**kb.chunking, **changes["chunking"]})
    if "retrieval" in changes:
        changes["retrieval"] = _validated_retrieval({**kb.retrieval, **changes["retrieval"]})
    slug = changes.get("slug", kb.slug)
    if slug != kb.slug and KnowledgeBase.objects.filter(workspace_id=kb.workspace_id, slug=slug).exists():
        raise _slug_taken(slug)
    reembed = any(
        key in changes and changes[key] != getattr(kb, key) for key in ("embedding_model", "distance")
    )
    for key, value in changes.items():
        setattr(kb, key, value)
    fields = [*changes, "updated_at"]
    if reembed:
        kb.pending_dims = None  # learnt again from the first vectors of the new settings
        fields.append("pending_dims")
    unique_write(lambda: kb.save(update_fields=fields), _slug_taken(slug))
    if reembed:
        _reembed_start(kb)
    return kb


def _reembed_start(kb: KnowledgeBase) -> None:
    """Drop generations staged for the settings just replaced, queue every document, and switch at once if
    nothing needs re-embedding (no document has searchable vectors)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM knowledge_chunk c USING knowledge_document d WHERE d.id = c.document_id "
            "AND d.knowledge_base_id = %s AND d.staged_generation > d.active_generation "
            "AND c.generation = d.staged_generation",
            [kb.pk],
        )
    kb.documents.filter(staged_generation__gt=0).update(staged_generation=0)
    _documents_reingest(kb.documents.all())
    knowledge_base_reembed_finish(kb)


def knowledge_base_delete(*, knowledge_base: KnowledgeBase) -> None:
    """Delete a knowledge base with its documents and chunks."""
    knowledge_base.delete()


def _checksum(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _max_length(field: str) -> int:
    return int(getattr(Document._meta.get_field(field), "max_length", 0) or 0)


def _checked(value: str, field: str, *, path: str | None = None) -> str:
    """``value`` of the user's own ``field`` (a title, a URL), refused with a field error when over its column."""
    limit = _max_length(field)
    if len(value) > limit:
        raise ValidationError(
            f"The {field.replace('_', ' ')} is {len(value)} characters long; at most {limit} are accepted.",
            fields={path or field: [f"At most {limit} characters."]},
        )
    return value


def _clipped(value: str, field: str) -> str:
    """``value`` derived from a file name or a request header, cut to its column (the extension is kept)."""
    limit = _max_length(field)
    if len(value) <= limit:
        return value
    stem, dot, extension = value.rpartition(".")
    if dot and stem and 0 < len(extension) < 10:
        return stem[: limit - len(extension) - 1] + dot + extension
    return value[:limit]


def _document_create(knowledge_base: KnowledgeBase, content: bytes, **fields: Any) -> Document:
    from llmops.knowledge.tasks import document_ingest

    checksum = _checksum(content + fields.get("source_url", "").encode())
    existing = Document.all_objects.filter(knowledge_base=knowledge_base, checksum=checksum).first()
    if existing is not None and existing.deleted_at is not None:
        # deleted from the head but kept for a published version: back in the head, ingested afresh
        Document.all_objects.filter(pk=existing.pk).update(deleted_at=None, **fields)
        _documents_reingest(Document.objects.filter(pk=existing.pk))
        return Document.objects.get(pk=existing.pk)
    if existing is not None:
        raise Conflict(
            f"This document is already in the knowledge base (document {existing.pk}).",
            fields={"checksum": [checksum]},
        )
    try:
        with transaction.atomic():
            document = Document.objects.create(
                knowledge_base=knowledge_base, content=content, size=len(content), checksum=checksum, **fields
            )
    except IntegrityError:
        raise Conflict("This document is already in the knowledge base.") from None
    enqueue_on_commit(document_ingest, document.pk)
    return document


def document_size_check(*, size: int) -> None:
    """413 when an upload is over ``LLMOPS_KNOWLEDGE_MAX_UPLOAD_BYTES`` (callable before reading the body)."""
    limit = settings.LLMOPS_KNOWLEDGE_MAX_UPLOAD_BYTES
    if size > limit:
        raise PayloadTooLarge(f"The file is {size} bytes; the limit is {limit} bytes.")


@transaction.atomic
def document_upload(
    *,
    knowledge_base: KnowledgeBase,
    file_name: str,
    content: bytes,
    mime_type: str = "",
    title: str = "",
    metadata: dict[str, Any] | None = None,
) -> Document:
    """Store an uploaded file and queue its ingestion; refuses oversize, empty and unsupported files."""
    document_size_check(size=len(content))
    extension = extension_of(file_name)
    if extension not in SUPPORTED_EXTENSIONS:
        raise ValidationError(
            f"Unsupported file type {extension or '(none)'!r}.",
            fields={"file": [f"Supported: {', '.join(sorted(SUPPORTED_EXTENSIONS))}."]},
        )
    if not content.strip():
        raise ValidationError("The file is empty.", fields={"file": ["The file is empty."]})
    file_name = _clipped(file_name, "file_name")
    return _document_create(
        knowledge_base,
        content,
        title=_checked(title, "title") or _clipped(file_name, "title"),
        source=DocumentSource.UPLOAD,
        file_name=file_name,
        mime_type=_clipped(mime_type, "mime_type"),
        metadata=metadata or {},
    )


@transaction.atomic
def document_create_from_text(
    *, knowledge_base: KnowledgeBase, title: str, text: str, metadata: dict[str, Any] | None = None
) -> Document:
    """Store pasted text (as a .txt document) and queue its ingestion."""
    if not text.strip():
        raise ValidationError("The text is empty.", fields={"text": ["The text is empty."]})
    _checked(title, "title")
    content = text.encode()
    if len(content) > settings.LLMOPS_KNOWLEDGE_MAX_UPLOAD_BYTES:
        raise PayloadTooLarge("The text is over the upload limit.")
    return _document_create(
        knowledge_base,
        content,
        title=title,
        source=DocumentSource.TEXT,
        file_name=_clipped(f"{title or 'text'}.txt", "file_name"),
        metadata=metadata or {},
    )


@transaction.atomic
def document_create_from_url(
    *, knowledge_base: KnowledgeBase, url: str, title: str = "", metadata: dict[str, Any] | None = None
) -> Document:
    """Queue fetching ``url`` (through the SSRF guard) and ingesting it; private addresses are refused."""
    _checked(url, "source_url", path="url")
    check_base_url(url, field="url", setting=URL_DOCUMENTS)
    return _document_create(
        knowledge_base,
        b"",
        title=_checked(title, "title") or _clipped(urlsplit(url).netloc + urlsplit(url).path, "title"),
        source=DocumentSource.URL,
        source_url=url,
        metadata=metadata or {},
    )


def document_reingest(*, document_id: int) -> None:
    """Queue a re-ingestion (the old chunks stay searchable until the new ones are complete)."""
    _documents_reingest(Document.objects.filter(id=document_id))


def _documents_reingest(documents: Any) -> None:
    from llmops.knowledge.tasks import document_ingest

    ids = list(documents.values_list("id", flat=True))
    # a new request: ingestions its worker died in before no longer count against it
    Document.objects.filter(id__in=ids).update(
        status=DocumentStatus.QUEUED, progress=0, error="", attempts=0
    )  # one UPDATE
    for document_id in ids:
        enqueue_on_commit(document_ingest, document_id)


@transaction.atomic
def document_delete(*, document: Document) -> None:
    """Delete a document and its chunks from the head (the last one holding a re-embed back lets it switch).

    A document a published version holds is only marked deleted, with the generations that version holds;
    garbage collection removes it when no version needs it any more (``llmops.knowledge.versions``).
    """
    kb = KnowledgeBase.objects.select_for_update(no_key=True).get(pk=document.knowledge_base_id)
    document_remove(document=document)
    knowledge_base_reembed_finish(kb)


def _copied_for_edit(chunk: Chunk) -> Chunk:
    """The chunk to edit in place of ``chunk``: itself, or, when a published version holds its generation, its
    copy in a new generation of the document that the head switches to (copy on write: the version keeps
    the chunks it was published with). Refused (409) for a chunk the head no longer searches."""
    if not document_pinned(chunk.document_id):
        return chunk
    with transaction.atomic():
        KnowledgeBase.objects.select_for_update(no_key=True).get(pk=chunk.knowledge_base_id)
        document = Document.objects.select_for_update().get(pk=chunk.document_id)
        if chunk.generation not in (document.active_generation, document.staged_generation):
            raise Conflict("This chunk is no longer in the head (the document was re-ingested); reload it.")
        if not KnowledgeBaseVersionDocument.objects.filter(
            document_id=document.pk, generation=chunk.generation
        ).exists():
            return chunk
        generation = document.latest_generation + 1
        columns = (
            "knowledge_base_id, document_id, position, is_parent, parent_position, text, segmented, embedding, "
            "dims, embedding_model, metadata, enabled"
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO knowledge_chunk (generation, {columns}) SELECT %s, {columns} FROM knowledge_chunk "
                "WHERE document_id = %s AND generation = %s",
                [generation, document.pk, chunk.generation],
            )
        moved = {"latest_generation": generation}
        if document.active_generation == chunk.generation:
            moved["active_generation"] = generation
        if document.staged_generation == chunk.generation:
            moved["staged_generation"] = generation
        Document.objects.filter(pk=document.pk).update(**moved)
        return Chunk.objects.get(
            document_id=document.pk, generation=generation, position=chunk.position, is_parent=chunk.is_parent
        )


def chunk_update(*, chunk: Chunk, text: str | None = None, enabled: bool | None = None) -> Chunk:
    """Edit a chunk's text (re-embedded at once) or enable/disable it. When a published version holds the
    chunk, the edit goes to a copy (the returned chunk, with a new id; see ``_copied_for_edit``).

    The embedding call goes to a model server outside any transaction; one ``save`` is atomic by itself.
    """
    if text is not None and not text.strip():
        raise ValidationError("A chunk cannot be empty.", fields={"text": ["Empty."]})
    if (enabled is not None and enabled != chunk.enabled) or (text is not None and text != chunk.text):
        chunk = _copied_for_edit(chunk)
    fields = []
    if enabled is not None:
        chunk.enabled = enabled
        fields.append("enabled")
    if text is not None and text != chunk.text:
        if not text.strip():
            raise ValidationError("A chunk cannot be empty.", fields={"text": ["Empty."]})
        chunk.text, chunk.segmented = text, segment(text)
        if not chunk.is_parent:
            # with the endpoint that made the chunk's generation: during a re-embed that is the previous one,
            # which searches of this generation embed the query with
            kb, model = chunk.knowledge_base, chunk.embedding_model or chunk.knowledge_base.embedding_model
            vector = embed_texts(kb, [text], model=model)[0]
            chunk.embedding, chunk.dims, chunk.embedding_model = vector, len(vector), model
        fields += ["text", "segmented", "embedding", "dims", "embedding_model"]
    if fields:
        chunk.save(update_fields=fields)
    return chunk
