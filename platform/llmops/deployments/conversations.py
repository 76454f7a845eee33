"""The memory key of a chat completion's conversation: the client's id scoped to the deployment, the API key
and the end user (see ``llmops.chains.conversation_scope``)."""

from __future__ import annotations

from llmops.chains.conversation_scope import ConversationScope
from llmops.deployments.models import ApiKey, Deployment


def conversation_scoped(
    *, deployment: Deployment, key: ApiKey, end_user: str, conversation_id: str
) -> str | None:
    """The memory key of a client's conversation (``None`` without one); fits ``external_id`` (100)."""
    return ConversationScope(deployment.pk, key.pk, end_user).key(conversation_id)
