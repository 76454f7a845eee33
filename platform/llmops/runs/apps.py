from django.apps import AppConfig


class RunsConfig(AppConfig):
    """The ``runs`` app."""

    name = "llmops.runs"
    label = "runs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from llmops.runs import sandbox_packages  # noqa: F401 (registers the package environment's check)
