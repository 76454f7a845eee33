"""Routes of the evaluations API (mounted under /api/)."""

from __future__ import annotations

from rest_framework.routers import SimpleRouter

from llmops.evaluations.api.views import (
    DatasetViewSet,
    EvaluationRunViewSet,
    EvaluatorViewSet,
    LabelGateViewSet,
)

WS = r"workspaces/(?P<workspace>[-a-zA-Z0-9_]+)"
router = SimpleRouter()
router.register(rf"{WS}/datasets", DatasetViewSet, basename="dataset")
router.register(rf"{WS}/evaluators", EvaluatorViewSet, basename="evaluator")
router.register(rf"{WS}/evaluation-runs", EvaluationRunViewSet, basename="evaluation-run")
router.register(rf"{WS}/label-gates", LabelGateViewSet, basename="label-gate")

urlpatterns = [*router.urls]
