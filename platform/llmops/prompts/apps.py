from django.apps import AppConfig


class PromptsConfig(AppConfig):
    """The ``prompts`` app."""

    name = "llmops.prompts"
    label = "prompts"
    default_auto_field = "django.db.models.BigAutoField"
