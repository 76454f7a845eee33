"""Routes of the prompts API (mounted under /api/)."""

from __future__ import annotations

from rest_framework.routers import SimpleRouter

from llmops.prompts.api.views import PromptViewSet

router = SimpleRouter()
router.register(r"workspaces/(?P<workspace>[-a-zA-Z0-9_]+)/prompts", PromptViewSet, basename="prompt")

urlpatterns = [*router.urls]
