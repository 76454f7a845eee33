"""Websocket routes of every app."""

from __future__ import annotations

from django.urls import path

from llmops.accounts.consumers import WorkspaceEventsConsumer

websocket_urlpatterns = [
    path("ws/workspaces/<slug:workspace>/events/", WorkspaceEventsConsumer.as_asgi()),
]
