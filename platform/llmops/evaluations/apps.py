from typing import Any

from django.apps import AppConfig


class EvaluationsConfig(AppConfig):
    """The ``evaluations`` app: datasets, evaluators, evaluation runs, their review and the promotion gate."""

    name = "llmops.evaluations"
    label = "evaluations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from llmops.core.versioning import label_guard_register

        label_guard_register(_promotion_gate)


def _promotion_gate(resource: Any, version: Any, label: str, user: Any) -> None:
    from llmops.evaluations.services import GATED_KINDS, gate_check

    if type(resource) in GATED_KINDS:
        gate_check(resource=resource, version=version, label=label, user=user)
