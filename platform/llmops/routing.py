"""Websocket routes of every app."""

from __future__ import annotations

from django.urls import path

from llmops.accounts.consumers import WorkspaceEventsConsumer
from llmops.runs.consumers import RunEventsConsumer

websocket_urlpatterns = [
    path("ws/workspaces/<slug:workspace>/events/", WorkspaceEventsConsumer.as_asgi()),
    path("ws/runs/<uuid:run_id>/", RunEventsConsumer.as_asgi()),
]
