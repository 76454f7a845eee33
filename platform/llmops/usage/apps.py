from django.apps import AppConfig


class UsageConfig(AppConfig):
    """The ``usage`` app."""

    name = "llmops.usage"
    label = "usage"
    default_auto_field = "django.db.models.BigAutoField"
