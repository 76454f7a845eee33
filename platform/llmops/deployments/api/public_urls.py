"""Routes of the public API, mounted under ``/v1/``."""

from __future__ import annotations

from django.urls import path

from llmops.deployments.api import conversations, mcp, public

urlpatterns = [
    path("workflows/<slug:slug>/run", public.WorkflowRunView.as_view(), name="v1-workflow-run"),
    path("runs/<uuid:run_id>", public.RunDetailView.as_view(), name="v1-run"),
    path("runs/<uuid:run_id>/cancel", public.RunCancelView.as_view(), name="v1-run-cancel"),
    path("runs/<uuid:run_id>/events", public.RunEventsView.as_view(), name="v1-run-events"),
    path("chat/completions", public.ChatCompletionsView.as_view(), name="v1-chat-completions"),
    path("models", public.ModelsView.as_view(), name="v1-models"),
    path(
        "conversations/<str:conversation_id>/variables",
        conversations.ConversationVariablesView.as_view(),
        name="v1-conversation-variables",
    ),
    path("mcp/<slug:slug>", mcp.McpServerView.as_view(), name="v1-mcp"),
]
