"""Chain conversation memory behind the public API, scoped to who is talking.

A chain's memory is keyed by the conversation id (``ChainConversation.external_id``), and through the
public API that id is the client's choice. Used as is, any key allowed on any deployment of the chain, or
any end user of one app, could read a conversation by sending its id. The id the chain sees is therefore the
client's id scoped to the deployment, the API key and the end user: the same client id from another key,
end user or deployment is another conversation. The client never sees the scoped id (an OpenAI chat
completion does not echo it).
"""

from __future__ import annotations

import hashlib

from llmops.deployments.models import ApiKey, Deployment


def conversation_scoped(
    *, deployment: Deployment, key: ApiKey, end_user: str, conversation_id: str
) -> str | None:
    """The memory key of a client's conversation (``None`` without one); fits ``external_id`` (100)."""
    if not conversation_id:
        return None
    digest = hashlib.sha256(f"{key.pk}\x00{end_user}\x00{conversation_id}".encode()).hexdigest()
    return f"deployment-{deployment.pk}:{digest}"
