from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    """The ``knowledge`` app: knowledge bases, documents, chunks, ingestion and retrieval."""

    name = "llmops.knowledge"
    label = "knowledge"
    default_auto_field = "django.db.models.BigAutoField"
