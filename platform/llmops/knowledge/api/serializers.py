"""Serializers of the knowledge API: shapes only, the services validate and write."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from llmops.knowledge.models import Chunk, Document, KnowledgeBase, RetrievalMode
from llmops.knowledge.parsing import SUPPORTED_EXTENSIONS


class UploadLimitsSerializer(serializers.Serializer[Any]):
    """What an upload may be, so the console can refuse a file before sending it."""

    max_bytes = serializers.IntegerField()
    formats = serializers.ListField(child=serializers.CharField())


class KnowledgeBaseSerializer(serializers.ModelSerializer[KnowledgeBase]):
    """``embedding_model``/``distance`` make new vectors; ``active_*``/``dims`` describe the searched ones
    (they differ, and ``reembedding`` is true, until a re-embed is complete)."""

    document_count = serializers.IntegerField(read_only=True, required=False)
    reembedding = serializers.BooleanField(read_only=True)
    upload_limits = serializers.SerializerMethodField()

    class Meta:
        model = KnowledgeBase
        fields = [
            "id", "slug", "name", "description", "embedding_model", "dims", "distance", "active_embedding_model",
            "active_distance", "reembedding", "chunking", "retrieval", "document_count", "upload_limits",
            "latest_version_number", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = [
            "id",
            "latest_version_number",
            "dims",
            "active_embedding_model",
            "active_distance",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {"chunking": {"required": False}, "retrieval": {"required": False}}

    @extend_schema_field(UploadLimitsSerializer)
    def get_upload_limits(self, kb: KnowledgeBase) -> dict[str, Any]:
        return {
            "max_bytes": settings.LLMOPS_KNOWLEDGE_MAX_UPLOAD_BYTES,
            "formats": sorted(SUPPORTED_EXTENSIONS),
        }


class DocumentSerializer(serializers.ModelSerializer[Document]):
    class Meta:
        model = Document
        fields = [
            "id", "title", "source", "source_url", "file_name", "mime_type", "size", "checksum", "metadata",
            "status", "error", "progress", "chunk_count", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


class DocumentCreateSerializer(serializers.Serializer[Any]):
    """Exactly one of ``file`` (multipart), ``text`` or ``url``."""

    file = serializers.FileField(required=False)
    text = serializers.CharField(required=False, trim_whitespace=False, allow_blank=True)
    url = serializers.URLField(required=False)
    title = serializers.CharField(required=False, default="", allow_blank=True)
    metadata = serializers.JSONField(required=False, default=dict)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        given = [key for key in ("file", "text", "url") if key in attrs]
        if len(given) != 1:
            raise serializers.ValidationError("Give exactly one of file, text or url.")
        if not isinstance(attrs.get("metadata"), dict):
            raise serializers.ValidationError({"metadata": "An object."})
        return attrs


class ChunkSerializer(serializers.ModelSerializer[Chunk]):
    class Meta:
        model = Chunk
        fields = ["id", "position", "text", "is_parent", "parent_position", "metadata", "enabled", "dims"]
        read_only_fields = ["id", "position", "is_parent", "parent_position", "metadata", "dims"]


class SearchInputSerializer(serializers.Serializer[Any]):
    query = serializers.CharField()
    mode = serializers.ChoiceField(choices=RetrievalMode.choices, required=False)
    top_k = serializers.IntegerField(min_value=1, max_value=100, required=False)
    score_threshold = serializers.FloatField(min_value=0, max_value=1, required=False, allow_null=True)
    filters = serializers.DictField(required=False)


class HitTestingInputSerializer(SearchInputSerializer):
    version = serializers.CharField(
        required=False, default="draft", max_length=100,
        help_text="What to search: draft (the head, the default), latest, a version number or a label.",
    )  # fmt: skip


class KnowledgeVersionSerializer(serializers.Serializer[Any]):
    """A published version: its settings, counts, the documents left out (with why) and its labels."""

    number = serializers.IntegerField()
    content_hash = serializers.CharField()
    message = serializers.CharField()
    author = serializers.CharField(source="author.username", default=None)
    created_at = serializers.DateTimeField()
    settings = serializers.JSONField(source="content.settings")
    document_count = serializers.IntegerField()
    chunk_count = serializers.IntegerField()
    excluded = serializers.JSONField()
    labels = serializers.SerializerMethodField()

    def get_labels(self, version: Any) -> list[str]:
        return sorted(label.name for label in version.labels.all())


class KnowledgeVersionDocumentSerializer(serializers.Serializer[Any]):
    document = serializers.IntegerField(source="document_id")
    title = serializers.CharField(source="document.title")
    generation = serializers.IntegerField()
    chunk_count = serializers.IntegerField()
    deleted_from_head = serializers.SerializerMethodField()

    def get_deleted_from_head(self, member: Any) -> bool:
        return member.document.deleted_at is not None


class KnowledgeVersionDetailSerializer(KnowledgeVersionSerializer):
    documents = KnowledgeVersionDocumentSerializer(source="members", many=True)


class HitSerializer(serializers.Serializer[Any]):
    chunk_id = serializers.IntegerField()
    document_id = serializers.IntegerField()
    document_title = serializers.CharField()
    position = serializers.IntegerField()
    text = serializers.CharField()
    score = serializers.FloatField()
    scores = serializers.DictField(child=serializers.FloatField())
    metadata = serializers.DictField()


class HitTestingSerializer(serializers.Serializer[Any]):
    query = serializers.CharField()
    searched = serializers.CharField(help_text="What was searched: kb@draft (the head) or kb:3.")
    records = HitSerializer(many=True)
    notices = serializers.ListField(child=serializers.CharField())


class ExternalRetrievalSettingSerializer(serializers.Serializer[Any]):
    top_k = serializers.IntegerField(min_value=1, max_value=100)
    score_threshold = serializers.FloatField(min_value=0, max_value=1, required=False, default=0.0)


class ExternalRetrievalSerializer(serializers.Serializer[Any]):
    """Dify's external-knowledge request."""

    knowledge_id = serializers.CharField()
    query = serializers.CharField()
    retrieval_setting = ExternalRetrievalSettingSerializer()
    metadata_condition = serializers.DictField(required=False)


class ExternalRecordSerializer(serializers.Serializer[Any]):
    content = serializers.CharField()
    score = serializers.FloatField()
    title = serializers.CharField()
    metadata = serializers.DictField()


class ExternalRecordsSerializer(serializers.Serializer[Any]):
    """Dify's external-knowledge response."""

    records = ExternalRecordSerializer(many=True)
