"""Chain conversation memory behind a published endpoint, scoped to who is talking.

A chain's memory is keyed by the conversation id (``ChainConversation.external_id``), and through the public API
that id is the client's choice, whether the chain is the deployment itself (chat completions) or a node of a
deployed workflow (``sys.conversation_id``). Used as is, any key allowed on any deployment of the chain, or any
end user of one app, could read a conversation by sending its id. The id the chain sees is therefore the
client's id scoped to the deployment, the API key and the end user: the same client id from another key, end
user or deployment is another conversation. The client never sees the scoped id.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ConversationScope:
    """Who talks through a published endpoint: the deployment, the API key and the end user."""

    deployment_id: int
    api_key_id: int | None
    end_user: str

    def key(self, conversation_id: str | None) -> str | None:
        """The memory key of a client's conversation (``None`` without one); fits ``external_id`` (100)."""
        if not conversation_id:
            return None
        digest = hashlib.sha256(
            f"{self.api_key_id}\x00{self.end_user}\x00{conversation_id}".encode()
        ).hexdigest()
        return f"deployment-{self.deployment_id}:{digest}"
