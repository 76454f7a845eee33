"""Admin pages for knowledge bases, documents (status, progress, failure reason) and chunks (read-mostly)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from llmops.knowledge.models import Chunk, Document, KnowledgeBase


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


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin[Document]):
    """The raw content is never loaded in lists (it can be megabytes)."""

    list_display = ["title", "knowledge_base", "source", "status", "progress", "chunk_count", "updated_at"]
    list_filter = ["status", "source"]
    search_fields = ["title", "file_name", "source_url"]
    exclude = ["content"]
    readonly_fields = [
        "checksum",
        "size",
        "latest_generation",
        "active_generation",
        "staged_generation",
        "created_at",
        "updated_at",
    ]
    list_select_related = ["knowledge_base"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Document]:
        return super().get_queryset(request).defer("content")


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
