"""The deployments app: workflow and chain versions published as API endpoints."""

from __future__ import annotations

from django.apps import AppConfig


class DeploymentsConfig(AppConfig):
    name = "llmops.deployments"
    label = "deployments"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Deployments"

    def ready(self) -> None:
        from llmops.deployments import checks  # noqa: F401 (registers the system checks)
