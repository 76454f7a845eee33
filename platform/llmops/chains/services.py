"""Writes of chains: draft validation, conversation memory, and running a chain from the API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from asgiref.sync import async_to_sync
from django.db import transaction

from llmops.accounts.models import Workspace
from llmops.chains.content import chain_content_normalize
from llmops.chains.models import Chain, ChainConversation, ChainMessage
from llmops.chains.runner import ChainExecutor, ChainOutcome
from llmops.chains.selectors import chain_snapshot


def chain_draft_validate(*, workspace: Workspace, draft: Any) -> dict[str, Any]:
    """Validate a chain draft against ``workspace`` (its prompt must resolve); returns the stored form."""
    return chain_content_normalize(draft, workspace=workspace)


@transaction.atomic
def chain_conversation_append(
    *, chain: Chain, conversation_id: str, user_text: str, assistant_text: str, chain_version: int | None
) -> ChainConversation:
    """Record one turn (what the user sent, what the model answered) in a chain's conversation."""
    conversation, _ = ChainConversation.objects.get_or_create(
        workspace_id=chain.workspace_id, chain=chain, external_id=conversation_id
    )
    ChainMessage.objects.bulk_create(
        [
            ChainMessage(
                conversation=conversation, role="user", content=user_text, chain_version=chain_version
            ),
            ChainMessage(
                conversation=conversation,
                role="assistant",
                content=assistant_text,
                chain_version=chain_version,
            ),
        ]
    )
    conversation.save(update_fields=["updated_at"])
    return conversation


def chain_run(
    *,
    workspace: Workspace,
    chain: Chain,
    version: str | int | None,
    inputs: Mapping[str, Any],
    conversation_id: str | None,
    user_id: str | None = None,
) -> ChainOutcome:
    """Run a chain version (default: latest published; ``"draft"`` runs the draft) and return its outcome.

    Not atomic on purpose: a model call must not hold a database transaction open. The only write, the
    conversation turn, is atomic on its own and happens after the answer parsed.
    """
    snapshot = chain_snapshot(chain=chain, version=version)
    executor = ChainExecutor.for_api(workspace=workspace, chain=chain, user_id=user_id)
    return async_to_sync(executor.execute)(snapshot, inputs, conversation_id=conversation_id)
