"""Knowledge bases, their documents and chunks (pgvector embeddings + full-text data).

Mixed embedding dimensions: ``Chunk.embedding`` is a ``vector`` column *without* a fixed dimension and
``Chunk.dims`` records each row's dimension. HNSW needs a fixed dimension, so there is one partial
expression index per (dimension, distance) pair in use, e.g.
``USING hnsw ((embedding::vector(384)) vector_cosine_ops) WHERE dims = 384``, created on demand by
``llmops.knowledge.indexes.hnsw_index_ensure`` when a knowledge base with a new pair gets its first vectors.
Queries cast to the same expression and repeat the predicate so the planner picks that index.

Atomic re-ingest: each ingestion writes its chunks under a fresh ``generation`` and then flips
``Document.active_generation`` in one UPDATE; readers join on ``chunk.generation = document.active_generation``,
so a reader sees either the whole old index of a document or the whole new one, never a mix.

Atomic re-embed: the same design one level up. ``KnowledgeBase.embedding_model``/``distance`` are what new
vectors are made with; ``active_embedding_model``/``active_distance``/``dims`` describe the vectors searched
now. When a change makes them differ (the knowledge base is *re-embedding*), each document's new generation is
*staged* (``Document.staged_generation``) instead of flipped, and the run that stages the last missing one
flips every document and the active settings together, in one transaction under the knowledge base's row
lock (``llmops.knowledge.ingestion``). Until then searches embed the query with the previous endpoint and
read the previous, complete generation; a document that fails to re-embed holds the switch (its reason is
on the document) rather than leaving it without vectors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from pgvector.django import VectorField

from llmops.accounts.models import Workspace
from llmops.core.models import ResourceLabel, ResourceVersion

if TYPE_CHECKING:
    from django.db.models.fields.related_descriptors import RelatedManager


class Distance(models.TextChoices):
    """Vector distance of a knowledge base."""

    COSINE = "cosine", "Cosine"
    L2 = "l2", "Euclidean (L2)"
    INNER_PRODUCT = "inner_product", "Inner product"
    L1 = "l1", "Manhattan (L1)"


class RetrievalMode(models.TextChoices):
    """How chunks are searched."""

    VECTOR = "vector", "Vector"
    FULL_TEXT = "full_text", "Full text"
    HYBRID = "hybrid", "Hybrid"


class DocumentStatus(models.TextChoices):
    """Ingestion state of a document."""

    QUEUED = "queued", "Queued"
    PARSING = "parsing", "Parsing"
    CHUNKING = "chunking", "Chunking"
    EMBEDDING = "embedding", "Embedding"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class DocumentSource(models.TextChoices):
    """Where a document came from."""

    UPLOAD = "upload", "Upload"
    TEXT = "text", "Pasted text"
    URL = "url", "URL"


def default_chunking() -> dict[str, Any]:
    """Sentence-aware splitting into chunks of at most 300 tokens with 30 overlap, whitespace collapsed.

    Tokens, not characters: a Chinese character is about one token and an English word about 1.3, so a
    character budget gives English chunks a third of the meaning. On the bilingual retrieval set
    (``tests/data/retrieval``) 300-token chunks raised vector hit@5 from 0.84 (500 characters) to 0.94.
    """
    return {
        "splitter": "token",
        "chunk_size": 300,
        "chunk_overlap": 30,
        "parent_child": False,
        "parent_chunk_size": 2000,
        "collapse_whitespace": True,
        "remove_urls_emails": False,
    }


def default_retrieval() -> dict[str, Any]:
    """Hybrid search with z-score fusion (0.75 vector), top 4, no threshold."""
    return {
        "mode": RetrievalMode.HYBRID.value,
        "top_k": 4,
        "score_threshold": None,
        "fusion": "zscore",
        "vector_weight": 0.75,
        "rerank_model": "",
    }


class KnowledgeBase(models.Model):
    """A searchable collection of documents, embedded with one embedding endpoint."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="knowledge_bases")
    slug = models.SlugField(max_length=100)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    embedding_model = models.CharField(
        max_length=200, help_text="Embedding endpoint reference (slug) new vectors are made with."
    )
    distance = models.CharField(max_length=20, choices=Distance.choices, default=Distance.COSINE)
    # The searchable vectors: made by ``active_embedding_model``, compared with ``active_distance``, of
    # ``dims`` dimensions. Empty/NULL until the first vectors; behind ``embedding_model``/``distance`` while
    # re-embedding (see the module docstring).
    active_embedding_model = models.CharField(max_length=200, blank=True)
    active_distance = models.CharField(max_length=20, choices=Distance.choices, blank=True)
    dims = models.PositiveIntegerField(
        null=True, blank=True, help_text="Dimension of the searchable vectors."
    )
    pending_dims = models.PositiveIntegerField(
        null=True, blank=True, help_text="Dimension of the new vectors while re-embedding."
    )
    chunking = models.JSONField(default=default_chunking)
    retrieval = models.JSONField(default=default_retrieval)
    latest_version_number = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Reverse relations of the versioning trio (``llmops.knowledge.versions``).
    versions: RelatedManager[KnowledgeBaseVersion]
    labels: RelatedManager[KnowledgeBaseLabel]

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "slug"], name="knowledge_kb_slug_unique")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.slug

    @property
    def reembedding(self) -> bool:
        """Whether searchable vectors exist but were made with other settings than new ones are."""
        active = (self.active_embedding_model, self.active_distance)
        return bool(self.active_embedding_model) and active != (self.embedding_model, self.distance)


class LiveDocuments(models.Manager["Document"]):
    """Documents of the head: those deleted from it but still in a published version are left out."""

    def get_queryset(self) -> models.QuerySet[Document]:
        return super().get_queryset().filter(deleted_at__isnull=True)


class Document(models.Model):
    """A source document; its chunks of ``active_generation`` are the searchable ones.

    A document deleted from the head while a published version still holds it is only marked ``deleted_at``
    (``objects`` leaves it out; ``all_objects`` has it) until no version needs it (``llmops.knowledge.versions``).
    """

    knowledge_base = models.ForeignKey(KnowledgeBase, on_delete=models.CASCADE, related_name="documents")
    title = models.CharField(max_length=300)
    source = models.CharField(max_length=10, choices=DocumentSource.choices)
    source_url = models.URLField(max_length=2000, blank=True)
    file_name = models.CharField(max_length=300, blank=True)
    mime_type = models.CharField(max_length=200, blank=True)
    content = models.BinaryField(default=bytes)
    size = models.PositiveBigIntegerField(default=0)
    checksum = models.CharField(max_length=64)
    metadata = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=12, choices=DocumentStatus.choices, default=DocumentStatus.QUEUED)
    error = models.TextField(blank=True)
    progress = models.PositiveSmallIntegerField(default=0)
    chunk_count = models.PositiveIntegerField(default=0)
    latest_generation = models.PositiveIntegerField(default=0)
    active_generation = models.PositiveIntegerField(default=0)
    # While the knowledge base re-embeds: a complete generation made with its new settings, made active with
    # every other document's when the last one is complete (equal to ``active_generation`` when the active
    # one already is). 0 otherwise.
    staged_generation = models.PositiveIntegerField(default=0)
    # Ingestions started since the last request (upload, re-ingest, re-embed) or the last success, counted
    # and committed before parsing: a document whose ingestion kills its worker fails for good after
    # LLMOPS_KNOWLEDGE_MAX_ATTEMPTS instead of being redelivered to each worker in turn.
    attempts = models.PositiveSmallIntegerField(default=0)
    deleted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = LiveDocuments()
    all_objects = models.Manager["Document"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["knowledge_base", "checksum"], name="knowledge_doc_checksum_unique"
            )
        ]
        ordering = ["-created_at", "-id"]
        base_manager_name = "all_objects"

    def __str__(self) -> str:
        return self.title


class Chunk(models.Model):
    """A passage of a document. Parent chunks (parent-child mode) carry no embedding and are not searched."""

    knowledge_base = models.ForeignKey(KnowledgeBase, on_delete=models.CASCADE, related_name="+")
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="chunks")
    generation = models.PositiveIntegerField()
    position = models.PositiveIntegerField()
    is_parent = models.BooleanField(default=False)
    parent_position = models.PositiveIntegerField(null=True, blank=True)
    text = models.TextField()
    # Space-joined jieba tokens of the CJK parts of ``text`` (empty for text without CJK).
    segmented = models.TextField(blank=True, default="")
    fts = models.GeneratedField(
        expression=SearchVector("text", config="english", weight="A")
        + SearchVector("segmented", config="simple", weight="A"),
        output_field=SearchVectorField(),
        db_persist=True,
    )
    embedding = VectorField(null=True, blank=True)
    dims = models.PositiveSmallIntegerField(null=True, blank=True)
    # The endpoint that made ``embedding``: while a knowledge base re-embeds after an endpoint change, its
    # not-yet-re-ingested documents keep the old model's vectors, which must never be compared with the new
    # model's query vectors (even at the same dimension).
    embedding_model = models.CharField(max_length=200, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["document_id", "position"]
        indexes = [
            GinIndex(fields=["fts"], name="knowledge_chunk_fts"),
            models.Index(fields=["document", "generation", "position"], name="knowledge_chunk_doc_gen"),
            models.Index(fields=["knowledge_base"], name="knowledge_chunk_kb"),
        ]

    def __str__(self) -> str:
        return f"{self.document_id}:{self.position}"


class KnowledgeBaseVersion(ResourceVersion):
    """A published, immutable snapshot: the settings searched with and exactly which generation of which
    document is in it (``KnowledgeBaseVersionDocument`` rows; ``content`` holds the same, hashed).

    ``content`` = ``{"settings": {...}, "documents": {"<document id>": generation, ...}}``.
    """

    # ignore: the base types ``resource`` as a draft-holding VersionedResource; a knowledge base's head is its
    # live documents instead, so it reuses the version and label columns but not the draft ones.
    resource = models.ForeignKey(KnowledgeBase, on_delete=models.CASCADE, related_name="versions")  # type: ignore[assignment]
    document_count = models.PositiveIntegerField(default=0)
    chunk_count = models.PositiveIntegerField(default=0)
    # Documents left out because they had no complete generation when it was published, with the reason.
    excluded = models.JSONField(default=list, blank=True)

    class Meta(ResourceVersion.Meta):
        verbose_name = "knowledge base version"


class KnowledgeBaseLabel(ResourceLabel):
    """``production``, ``staging``... pointing at a knowledge-base version."""

    # ignore: as ``KnowledgeBaseVersion.resource``.
    resource = models.ForeignKey(KnowledgeBase, on_delete=models.CASCADE, related_name="labels")  # type: ignore[assignment]
    version = models.ForeignKey(KnowledgeBaseVersion, on_delete=models.CASCADE, related_name="labels")

    class Meta(ResourceLabel.Meta):
        verbose_name = "knowledge base label"


class KnowledgeBaseVersionDocument(models.Model):
    """One document of a version at one generation: its chunks (shared with the head and other versions) are
    kept while any such row or the head needs them."""

    version = models.ForeignKey(KnowledgeBaseVersion, on_delete=models.CASCADE, related_name="members")
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="+")
    generation = models.PositiveIntegerField()
    chunk_count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["version", "document"], name="knowledge_member_unique")
        ]
        indexes = [
            models.Index(fields=["document", "generation", "version"], name="knowledge_member_doc_gen")
        ]

    def __str__(self) -> str:
        return f"{self.version_id}:{self.document_id}@{self.generation}"
