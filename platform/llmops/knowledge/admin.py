"""Admin pages for knowledge bases, documents (status, progress, failure reason) and chunks (read-mostly)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from llmops.knowledge.models import (
    Chunk,
    Document,
    KnowledgeBase,
    KnowledgeBaseLabel,
    KnowledgeBaseVersion,
    KnowledgeBaseVersionDocument,
)


class KnowledgeBaseLabelInline(admin.TabularInline[KnowledgeBaseLabel, KnowledgeBase]):
    """Labels are moved through the API (``.../labels/``); shown here."""

    model = KnowledgeBaseLabel
    fk_name = "resource"
    fields = ["name", "version", "updated_by", "updated_at"]
    readonly_fields = ["name", "version", "updated_by", "updated_at"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: KnowledgeBase | None = None) -> bool:
        return False


@admin.register(KnowledgeBase)
class KnowledgeBaseAdmin(admin.ModelAdmin[KnowledgeBase]):
    list_display = ["slug", "name", "workspace", "embedding_model", "dims", "distance"]
    list_filter = ["workspace"]
    search_fields = ["slug", "name"]
    # The embedding endpoint and the distance change through the API, which re-embeds the documents; an edit
    # here would silently leave the stored vectors behind.
    readonly_fields = [
        "embedding_model",
        "distance",
        "active_embedding_model",
        "active_distance",
        "dims",
        "pending_dims",
        "created_at",
        "updated_at",
    ]
    list_select_related = ["workspace"]
    inlines = [KnowledgeBaseLabelInline]


class VersionDocumentInline(admin.TabularInline[KnowledgeBaseVersionDocument, KnowledgeBaseVersion]):
    model = KnowledgeBaseVersionDocument
    fields = ["document", "generation", "chunk_count"]
    readonly_fields = ["document", "generation", "chunk_count"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: KnowledgeBaseVersion | None = None) -> bool:
        return False


@admin.register(KnowledgeBaseVersion)
class KnowledgeBaseVersionAdmin(admin.ModelAdmin[KnowledgeBaseVersion]):
    """Published versions are immutable: read-only here (publish, delete and restore through the API)."""

    list_display = ["resource", "number", "document_count", "chunk_count", "author", "created_at"]
    list_filter = ["resource__workspace"]
    search_fields = ["resource__slug", "message"]
    readonly_fields = [
        "resource", "number", "content_hash", "message", "author", "document_count", "chunk_count", "excluded",
        "content", "created_at",
    ]  # fmt: skip
    inlines = [VersionDocumentInline]
    list_select_related = ["resource", "author"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: KnowledgeBaseVersion | None = None) -> bool:
        return False


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin[Document]):
    """The raw content is never loaded in lists (it can be megabytes)."""

    list_display = [
        "title", "knowledge_base", "source", "status", "progress", "chunk_count", "deleted_at", "updated_at",
    ]  # fmt: skip
    list_filter = ["status", "source", ("deleted_at", admin.EmptyFieldListFilter)]
    search_fields = ["title", "file_name", "source_url"]
    exclude = ["content"]
    readonly_fields = [
        "checksum",
        "size",
        "latest_generation",
        "active_generation",
        "staged_generation",
        "deleted_at",
        "created_at",
        "updated_at",
    ]
    list_select_related = ["knowledge_base"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Document]:
        # every document, those deleted from the head but kept for a published version included
        return Document.all_objects.select_related("knowledge_base").defer("content")


@admin.register(Chunk)
class ChunkAdmin(admin.ModelAdmin[Chunk]):
    """Embeddings and segmented text are not shown (large and not human-editable)."""

    list_display = ["id", "document", "position", "generation", "is_parent", "enabled"]
    list_filter = ["enabled", "is_parent"]
    exclude = ["embedding", "segmented"]
    readonly_fields = ["knowledge_base", "document", "generation", "position", "dims", "embedding_model"]
    list_select_related = ["document"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Chunk]:
        return super().get_queryset(request).defer("embedding", "segmented")
