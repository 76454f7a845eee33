"""Knowledge-base versions: publish, resolve a reference, labels, diff, restore, delete, garbage collection.

The head (``kb@draft``) is the live knowledge base: documents, chunk edits and settings change it. Publishing
freezes a numbered, immutable version: the searchable settings (embedding endpoint and its version, distance,
dimensions, chunking, retrieval defaults) and exactly which generation of which document is in it, as one
``KnowledgeBaseVersionDocument`` row per document. Chunks are not copied: a version shares the chunk rows of
those generations with the head and other versions, so publishing is O(documents), and a generation stays
while any version or the head needs it:

- ingestion deletes an older generation only when no version holds it (``unpinned``);
- a chunk edit on a generation a version holds copies that document's chunks to a new generation first
  (copy on write; ``llmops.knowledge.services.chunk_update``);
- deleting a document a version holds only marks it deleted from the head;
- :func:`knowledge_garbage_collect` (a beat task) removes the generations and deleted documents nothing needs.

References use the grammar of every resource (``llmops.core.refs``): ``kb:3``, ``kb@production``,
``kb@draft`` (the head), and ``kb`` alone: the latest published version, or the head while none is published
(so knowledge bases used before versions existed keep answering from their live documents).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from llmops.core import versioning
from llmops.core.errors import Conflict, NotFound, ValidationError
from llmops.core.models import content_hash
from llmops.core.refs import DRAFT, LATEST, ref_parse, version_parse
from llmops.knowledge.models import (
    Chunk,
    Document,
    DocumentStatus,
    KnowledgeBase,
    KnowledgeBaseLabel,
    KnowledgeBaseVersion,
    KnowledgeBaseVersionDocument,
)
from llmops.knowledge.search_queries import pinned_key
from llmops.knowledge.selectors import knowledge_base_get

_SETTLED = (DocumentStatus.READY, DocumentStatus.FAILED)
MEMBERS_TABLE = KnowledgeBaseVersionDocument._meta.db_table
# SQL: chunk ``c``'s generation is held by a published version.
PINNED_SQL = f"EXISTS (SELECT 1 FROM {MEMBERS_TABLE} m WHERE m.document_id = c.document_id AND m.generation = c.generation)"


@dataclass(frozen=True, slots=True)
class KnowledgeScope:
    """What one search reads: a knowledge base's head, or one of its published versions."""

    knowledge_base: KnowledgeBase
    version: KnowledgeBaseVersion | None = None

    @property
    def ref(self) -> str:
        """The canonical reference of what was searched: ``kb:3`` or ``kb@draft``."""
        slug = self.knowledge_base.slug
        return f"{slug}:{self.version.number}" if self.version else f"{slug}@{DRAFT}"

    @property
    def version_id(self) -> int | None:
        """The version's id, None for the head."""
        return self.version.pk if self.version else None

    @property
    def pinned_keys(self) -> list[int]:
        """The version's document generations as ``search_queries.pinned_key``s (empty for the head)."""
        if self.version is None:
            return []
        documents: dict[str, int] = self.version.content["documents"]
        return [pinned_key(int(document), generation) for document, generation in documents.items()]

    @property
    def space(self) -> tuple[str, str, int | None]:
        """(embedding endpoint, distance, dimensions) of the vectors searched."""
        if self.version is not None:
            settings = self.version.content["settings"]
            return settings["embedding_model"], settings["distance"], settings["dims"]
        kb = self.knowledge_base
        return kb.active_embedding_model, kb.active_distance, kb.dims

    @property
    def retrieval(self) -> dict[str, Any]:
        """The retrieval defaults (mode, top-k, threshold, fusion, rerank)."""
        if self.version is not None:
            retrieval: dict[str, Any] = self.version.content["settings"]["retrieval"]
            return dict(retrieval)
        head: dict[str, Any] = self.knowledge_base.retrieval
        return head

    @property
    def reembedding(self) -> bool:
        """Whether the head is between two embedding settings (a version never is)."""
        return self.version is None and self.knowledge_base.reembedding


def unpinned(chunks: QuerySet[Chunk]) -> QuerySet[Chunk]:
    """``chunks`` less those of generations a published version holds."""
    held = KnowledgeBaseVersionDocument.objects.filter(
        document_id=OuterRef("document_id"), generation=OuterRef("generation")
    )
    return chunks.exclude(Exists(held))


def document_pinned(document_id: int) -> bool:
    """Whether any published version holds a generation of the document."""
    return KnowledgeBaseVersionDocument.objects.filter(document_id=document_id).exists()


def _endpoint_version(workspace_id: int, ref: str) -> int | None:
    """The number of the embedding endpoint's latest version (what new query vectors are made with)."""
    from llmops.providers.models import ModelEndpoint

    try:
        slug = ref_parse(ref, kind="model endpoint").slug
    except ValidationError:  # no endpoint reference (none yet, or a value from before references)
        return None
    endpoint = ModelEndpoint.objects.filter(workspace_id=workspace_id, slug=slug).only(
        "latest_version_number"
    )
    found = endpoint.first()
    return found.latest_version_number if found else None


def _settings(kb: KnowledgeBase) -> dict[str, Any]:
    model = kb.active_embedding_model or kb.embedding_model
    return {
        "embedding_model": model,
        "embedding_endpoint_version": _endpoint_version(kb.workspace_id, model),
        "distance": kb.active_distance or kb.distance,
        "dims": kb.dims,
        "chunking": kb.chunking,
        "retrieval": kb.retrieval,
    }


def _excluded_reason(document: Document) -> str:
    if document.status == DocumentStatus.FAILED:
        return f"its ingestion failed: {document.error or 'no reason recorded'}"
    return f"it is still being ingested ({document.status}) and has no complete generation yet"


@transaction.atomic
def knowledge_version_publish(
    *, knowledge_base: KnowledgeBase, user: Any, message: str = ""
) -> KnowledgeBaseVersion:
    """Freeze the head as the next numbered version, in one transaction under the knowledge base's row lock
    (which every switch of a document's searchable generation takes, so the snapshot is consistent).

    A document being re-ingested is published at its previous complete generation (what the head searches
    now); one without any complete generation yet (a new upload still ingesting, or failed) is left out and
    listed in ``excluded`` with the reason. A head identical to the latest version is refused (409).
    """
    kb = KnowledgeBase.objects.select_for_update(no_key=True).get(pk=knowledge_base.pk)
    documents = list(
        Document.objects.filter(knowledge_base=kb)
        .only("id", "title", "status", "error", "active_generation", "chunk_count")
        .order_by("id")
    )
    members = [d for d in documents if d.active_generation > 0]
    excluded = [
        {"document": d.pk, "title": d.title, "reason": _excluded_reason(d)}
        for d in documents
        if d.active_generation == 0
    ]
    content = {
        "settings": _settings(kb),
        "documents": {str(d.pk): d.active_generation for d in members},
    }
    digest = content_hash(content)
    latest = kb.versions.order_by("-number").first()
    if latest is not None and latest.content_hash == digest:
        raise Conflict(
            f"The knowledge base is unchanged since v{latest.number}; there is nothing new to publish."
        )
    number = kb.latest_version_number + 1
    version = KnowledgeBaseVersion.objects.create(
        resource=kb,
        number=number,
        content=content,
        content_hash=digest,
        message=message[:500],
        author=user,
        document_count=len(members),
        chunk_count=sum(d.chunk_count for d in members),
        excluded=excluded,
    )
    KnowledgeBaseVersionDocument.objects.bulk_create(
        KnowledgeBaseVersionDocument(
            version=version, document_id=d.pk, generation=d.active_generation, chunk_count=d.chunk_count
        )
        for d in members
    )
    KnowledgeBase.objects.filter(pk=kb.pk).update(latest_version_number=number)
    knowledge_base.latest_version_number = number
    return version


def knowledge_version_get(*, knowledge_base: KnowledgeBase, ref: str | int) -> KnowledgeBaseVersion:
    """A version by number (``3``, ``"v3"``), ``"latest"`` or label name; ``NotFound`` otherwise."""
    try:
        parsed = version_parse(ref)
    except ValidationError:
        raise NotFound(f"{knowledge_base.slug} has no version or label {ref!r}.") from None
    versions = knowledge_base.versions.all()
    if isinstance(parsed, int):
        found = versions.filter(number=parsed).first()
    elif parsed == LATEST:
        found = versions.order_by("-number").first()
    elif parsed == DRAFT:
        raise NotFound(f"{knowledge_base.slug}@draft is the head, not a published version.")
    else:
        label = knowledge_base.labels.select_related("version").filter(name=parsed).first()
        found = label.version if label else None
    if found is None:
        what = "published version yet" if parsed == LATEST else f"version or label {ref!r}"
        raise NotFound(f"Knowledge base {knowledge_base.slug!r} has no {what}.")
    return found


def knowledge_scope_for(*, knowledge_base: KnowledgeBase, version: str | int | None) -> KnowledgeScope:
    """The scope of ``knowledge_base`` at a version part: ``None``/``"latest"`` (latest published, else the
    head), ``"draft"`` (the head), a number or a label."""
    if version == DRAFT:
        return KnowledgeScope(knowledge_base)
    if version in (None, LATEST):
        latest = knowledge_base.versions.order_by("-number").first()
        return KnowledgeScope(knowledge_base, latest)
    return KnowledgeScope(knowledge_base, knowledge_version_get(knowledge_base=knowledge_base, ref=version))


def knowledge_scope_resolve(
    *, workspace_id: int, ref: str, field: str = "knowledge_base_ids"
) -> KnowledgeScope:
    """Resolve ``kb``, ``kb:3``, ``kb@label`` or ``kb@draft`` (``kb`` may be the knowledge base's id) in one
    workspace; an unknown or malformed one is ``NotFound`` (saying what is wrong)."""
    try:
        parsed = ref_parse(ref, kind="knowledge base", field=field)
    except ValidationError as exc:  # names no knowledge base: unknown, as Dify's API and the nodes expect
        raise NotFound(exc.message) from None
    kb = knowledge_base_get(workspace=workspace_id, slug_or_id=parsed.slug)
    return knowledge_scope_for(knowledge_base=kb, version=parsed.version)


# ----------------------------------------------------------------------------------------------- labels


def knowledge_label_set(
    *, knowledge_base: KnowledgeBase, name: str, number: int, user: Any
) -> KnowledgeBaseLabel:
    """Point label ``name`` at version ``number`` (creating or moving it): ``llmops.core.versioning``'s, which a
    knowledge base's version and label rows fit (its head is not a draft, which labels never read)."""
    label = versioning.label_set(resource=_versioned(knowledge_base), name=name, number=number, user=user)
    return cast(KnowledgeBaseLabel, label)


def knowledge_label_delete(*, knowledge_base: KnowledgeBase, name: str) -> None:
    """Remove a label; the version it pointed at stays."""
    versioning.label_delete(resource=_versioned(knowledge_base), name=name)


def _versioned(knowledge_base: KnowledgeBase) -> Any:
    """A knowledge base for the core versioning services, typed for a draft-holding resource (see models)."""
    return knowledge_base


# -------------------------------------------------------------------------------------- delete, restore


def _knowledge_refs(content: Any) -> list[str]:
    """Every ``knowledge_base_ids`` entry anywhere in a workflow's or chain's content."""
    if isinstance(content, list):
        return [ref for inner in content for ref in _knowledge_refs(inner)]
    if not isinstance(content, dict):
        return []
    refs = [r.strip() for r in content.get("knowledge_base_ids") or [] if isinstance(r, str)]
    return refs + [
        ref for key, inner in content.items() if key != "knowledge_base_ids" for ref in _knowledge_refs(inner)
    ]


def _deployments_pinning(version: KnowledgeBaseVersion) -> list[str]:
    """Deployments (active or paused) whose workflow or chain version searches this exact version (``kb:N``)."""
    from llmops.core.versioning import version_resolve
    from llmops.deployments.models import Deployment

    kb = version.resource
    pinned = {
        f"{name}:{form}" for name in (kb.slug, str(kb.pk)) for form in (version.number, f"v{version.number}")
    }
    found = []
    for deployment in Deployment.objects.filter(workspace_id=kb.workspace_id).select_related(
        "workflow", "chain"
    ):
        resource = deployment.workflow or deployment.chain
        if resource is None:
            continue
        try:
            content = version_resolve(resource=resource, ref=deployment.version).content
        except NotFound:  # a deployment whose version is gone searches nothing
            continue
        if pinned & set(_knowledge_refs(content)):
            found.append(deployment.slug)
    return sorted(found)


@transaction.atomic
def knowledge_version_delete(*, knowledge_base: KnowledgeBase, number: int) -> None:
    """Delete a version nothing points at: a label or an active deployment still using it is a 409 naming
    them. Its chunks are not touched here; garbage collection removes what nothing else needs."""
    version = knowledge_version_get(knowledge_base=knowledge_base, ref=number)
    labels = list(version.labels.values_list("name", flat=True))
    if labels:
        raise Conflict(
            f"v{number} is labelled {', '.join(sorted(labels))}; move or delete the labels first.",
            fields={"labels": sorted(labels)},
        )
    deployments = _deployments_pinning(version)
    if deployments:
        raise Conflict(
            f"v{number} is searched by the deployments {', '.join(deployments)}.",
            fields={"deployments": deployments},
        )
    version.delete()


@transaction.atomic
def knowledge_version_restore(*, knowledge_base: KnowledgeBase, number: int, user: Any) -> KnowledgeBase:
    """Make the head what version ``number`` is: its documents at their generations (documents it does not
    have leave the head) and its settings. Refused (409) while documents are ingesting or the knowledge base
    re-embeds; the versions themselves are untouched."""
    kb = KnowledgeBase.objects.select_for_update(no_key=True).get(pk=knowledge_base.pk)
    version = knowledge_version_get(knowledge_base=kb, ref=number)
    busy = list(
        Document.objects.filter(knowledge_base=kb)
        .exclude(status__in=_SETTLED)
        .values_list("title", flat=True)[:5]
    )
    if busy or kb.reembedding:
        what = f"documents are being ingested ({', '.join(busy)})" if busy else "it is re-embedding"
        raise Conflict(f"{kb.slug} cannot be restored while {what}; try again when it is done.")
    members = {m.document_id: m for m in version.members.all()}
    now = timezone.now()
    for document in Document.objects.filter(knowledge_base=kb).exclude(pk__in=members):
        _document_remove(document, now)
    for document_id, member in members.items():
        Document.all_objects.filter(pk=document_id).update(
            deleted_at=None, active_generation=member.generation, staged_generation=0,
            chunk_count=member.chunk_count, status=DocumentStatus.READY, progress=100, error="", updated_at=now,
        )  # fmt: skip
    settings = version.content["settings"]
    kb.embedding_model = kb.active_embedding_model = settings["embedding_model"]
    kb.distance = kb.active_distance = settings["distance"]
    kb.dims, kb.pending_dims = settings["dims"], None
    kb.chunking, kb.retrieval = settings["chunking"], settings["retrieval"]
    kb.save()
    return kb


def _document_remove(document: Document, now: Any) -> None:
    """Take a document out of the head: deleted outright, or only marked while a version holds it."""
    if not document_pinned(document.pk):
        document.delete()
        return
    Document.all_objects.filter(pk=document.pk).update(deleted_at=now, staged_generation=0)
    unpinned(Chunk.objects.filter(document_id=document.pk)).delete()


def document_remove(*, document: Document) -> None:
    """``services.document_delete``'s write: see :func:`_document_remove`."""
    _document_remove(document, timezone.now())


# ------------------------------------------------------------------------------------------------- diff


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for key, inner in value.items():
            flat.update(_flat(inner, f"{prefix}{key}."))
        return flat
    return {prefix.rstrip("."): value}


def _chunk_texts(document_id: int, generation: int) -> list[tuple[int, str, bool]]:
    return list(
        Chunk.objects.filter(document_id=document_id, generation=generation, is_parent=False)
        .order_by("position")
        .values_list("position", "text", "enabled")
    )


def knowledge_version_diff(*, knowledge_base: KnowledgeBase, old: int, new: int) -> dict[str, Any]:
    """What changed from version ``old`` to ``new``: settings (dotted keys with both values) and documents
    added, removed, re-chunked (other chunk boundaries), with chunks edited (same boundaries, some texts or
    switches changed: how many), or re-embedded (same texts, new vectors)."""
    before = knowledge_version_get(knowledge_base=knowledge_base, ref=old)
    after = knowledge_version_get(knowledge_base=knowledge_base, ref=new)
    old_settings, new_settings = _flat(before.content["settings"]), _flat(after.content["settings"])
    settings = [
        {"field": key, "old": old_settings.get(key), "new": new_settings.get(key)}
        for key in sorted(old_settings.keys() | new_settings.keys())
        if old_settings.get(key) != new_settings.get(key)
    ]
    old_docs = {int(k): v for k, v in before.content["documents"].items()}
    new_docs = {int(k): v for k, v in after.content["documents"].items()}
    titles = dict(
        Document.all_objects.filter(pk__in=old_docs.keys() | new_docs.keys()).values_list("pk", "title")
    )
    added = [{"document": d, "title": titles.get(d, "")} for d in sorted(new_docs.keys() - old_docs.keys())]
    removed = [{"document": d, "title": titles.get(d, "")} for d in sorted(old_docs.keys() - new_docs.keys())]
    changed: dict[str, list[dict[str, Any]]] = {"re_chunked": [], "chunks_edited": [], "re_embedded": []}
    for document_id in sorted(old_docs.keys() & new_docs.keys()):
        if old_docs[document_id] == new_docs[document_id]:
            continue
        was = _chunk_texts(document_id, old_docs[document_id])
        now = _chunk_texts(document_id, new_docs[document_id])
        entry = {"document": document_id, "title": titles.get(document_id, ""), "chunks_before": len(was)}
        if [p for p, _, _ in was] != [p for p, _, _ in now]:
            changed["re_chunked"].append({**entry, "chunks_after": len(now)})
            continue
        edited = sum(1 for a, b in zip(was, now, strict=True) if a != b)
        changed["chunks_edited" if edited else "re_embedded"].append({**entry, "chunks_edited": edited})
    return {
        "old": before.number,
        "new": after.number,
        "settings": settings,
        "added": added,
        "removed": removed,
        **changed,
    }


# ------------------------------------------------------------------------------------ garbage collection


def knowledge_garbage_collect() -> dict[str, int]:
    """Delete the chunk generations neither the head nor any version needs, and the documents deleted from
    the head that no version holds any more. Only documents with no ingestion in flight (ready or failed)
    are looked at, so a generation being written is never taken."""
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM knowledge_chunk c USING knowledge_document d WHERE d.id = c.document_id "
            "AND d.status = ANY(%s) AND (d.deleted_at IS NOT NULL OR "
            "(c.generation <> d.active_generation AND c.generation <> d.staged_generation)) "
            f"AND NOT {PINNED_SQL}",
            [[str(status) for status in _SETTLED]],
        )
        chunks = cursor.rowcount
    documents, _ = (
        Document.all_objects.filter(deleted_at__isnull=False)
        .exclude(Exists(KnowledgeBaseVersionDocument.objects.filter(document_id=OuterRef("pk"))))
        .delete()
    )
    return {"chunks": chunks, "documents": documents}
