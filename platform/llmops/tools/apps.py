from django.apps import AppConfig


class ToolsConfig(AppConfig):
    """The ``tools`` app: workspace tool providers, the per-run tool registry, tool-call metering."""

    name = "llmops.tools"
    label = "tools"
    default_auto_field = "django.db.models.BigAutoField"
