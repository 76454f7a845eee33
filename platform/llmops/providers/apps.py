from django.apps import AppConfig


class ProvidersConfig(AppConfig):
    """The ``providers`` app."""

    name = "llmops.providers"
    label = "providers"
    default_auto_field = "django.db.models.BigAutoField"
