"""The platform's URLs plus the test resource's API."""

from __future__ import annotations

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from llmops.urls import urlpatterns as platform_urlpatterns
from tests.testapp.api import NoteViewSet

router = SimpleRouter()
router.register(r"workspaces/(?P<workspace>[-a-zA-Z0-9_]+)/notes", NoteViewSet, basename="note")

urlpatterns = [path("api/", include(router.urls)), *platform_urlpatterns]
