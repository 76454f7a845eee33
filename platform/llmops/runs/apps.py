from django.apps import AppConfig


class RunsConfig(AppConfig):
    """The ``runs`` app."""

    name = "llmops.runs"
    label = "runs"
    default_auto_field = "django.db.models.BigAutoField"
