"""Routes of the knowledge API (mounted under /api/)."""

from __future__ import annotations

from django.urls import path
from rest_framework.routers import SimpleRouter

from llmops.knowledge.api.views import (
    ChunkViewSet,
    DocumentViewSet,
    ExternalKnowledgeRetrievalView,
    KnowledgeBaseViewSet,
)

WS = r"workspaces/(?P<workspace>[-a-zA-Z0-9_]+)"
KB = WS + r"/knowledge-bases/(?P<kb>[-a-zA-Z0-9_]+)"

router = SimpleRouter()
router.register(WS + "/knowledge-bases", KnowledgeBaseViewSet, basename="knowledge-base")
router.register(KB + "/documents", DocumentViewSet, basename="knowledge-document")
router.register(KB + r"/documents/(?P<document>[0-9]+)/chunks", ChunkViewSet, basename="knowledge-chunk")

urlpatterns = [
    path(
        "workspaces/<slug:workspace>/external-knowledge/retrieval",
        ExternalKnowledgeRetrievalView.as_view(),
        name="external-knowledge-retrieval",
    ),
    *router.urls,
]
