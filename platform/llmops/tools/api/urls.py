"""Routes of the tools API (mounted under /api/)."""

from __future__ import annotations

from django.urls import re_path
from rest_framework.routers import SimpleRouter

from llmops.tools.api.views import (
    BuiltinProviderListView,
    ToolCallListView,
    ToolProviderViewSet,
    ToolTestView,
    WorkspaceToolListView,
)

WS = r"workspaces/(?P<workspace>[-a-zA-Z0-9_]+)"

router = SimpleRouter()
router.register(WS + "/tool-providers", ToolProviderViewSet, basename="tool-provider")

urlpatterns = [
    re_path(
        rf"^{WS}/builtin-tool-providers/$", BuiltinProviderListView.as_view(), name="builtin-tool-providers"
    ),
    re_path(rf"^{WS}/tool-calls/$", ToolCallListView.as_view(), name="tool-calls"),
    re_path(rf"^{WS}/tools/$", WorkspaceToolListView.as_view(), name="workspace-tools"),
    re_path(rf"^{WS}/tools/(?P<name>[a-zA-Z0-9_-]{{1,64}})/test/$", ToolTestView.as_view(), name="tool-test"),
    *router.urls,
]
