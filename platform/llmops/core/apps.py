from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The ``core`` app."""

    name = "llmops.core"
    label = "core"
    default_auto_field = "django.db.models.BigAutoField"
