from django.apps import AppConfig


class ChainsConfig(AppConfig):
    """The ``chains`` app (its tables kept their ``studio_*`` names when it moved out of ``studio``)."""

    name = "llmops.chains"
    label = "chains"
    default_auto_field = "django.db.models.BigAutoField"
