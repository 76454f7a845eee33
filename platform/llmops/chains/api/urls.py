"""Routes of the chains API."""

from __future__ import annotations

from rest_framework.routers import SimpleRouter

from llmops.chains.api.views import ChainViewSet

router = SimpleRouter()
router.register(r"workspaces/(?P<workspace>[-a-zA-Z0-9_]+)/chains", ChainViewSet, basename="chain")

urlpatterns = [*router.urls]
