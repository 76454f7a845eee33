"""Conversation variables of chat workflow deployments: loaded when a turn starts, saved when it finishes.

A turn of a published chat workflow called with a conversation id reads the conversation's stored variables
(the engine adds defaults for missing ones and drops ones no longer declared) and ``sys.dialogue_count`` (the
turns before this one). When the turn succeeds, its final variables and the next count are saved in the same
transaction that writes the run's final state; a failed turn leaves the conversation as it was.

Two turns of one conversation may run at once. A turn saves its variables only over the version it started
from (compare-and-set on ``ConversationState.version``); when another turn changed them first, this turn
fails with ``ConversationConflict`` instead of silently overwriting that update. A turn that changed no
variable only counts itself (``F('dialogue_count') + 1``) and never conflicts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F

from llmops.chains.conversation_scope import ConversationScope
from llmops.core.errors import NotFound
from llmops.runs.execution.context import ChatContext
from llmops.runs.models import ConversationState, Run
from workflows import RunRecord

CONFLICT_ERROR = {
    "type": "ConversationConflict",
    "message": "Another turn of this conversation changed its variables first; this turn's changes were not "
    "saved. Send the message again.",
}


@dataclass(frozen=True, slots=True)
class LoadedConversation:
    """A conversation's state as a turn found it (``version`` None: the conversation had no row yet)."""

    key: str
    workspace_id: int
    variables: dict[str, Any]
    dialogue_count: int
    version: int | None


def conversation_key(*, run: Run, chat: ChatContext | None) -> str | None:
    """The stored conversation of a deployment's chat turn with a conversation id (None otherwise)."""
    if chat is None or not chat.conversation_id or run.deployment_id is None:
        return None
    return ConversationScope(run.deployment_id, run.api_key_id, run.end_user).key(chat.conversation_id)


def conversation_load(*, run: Run, chat: ChatContext | None) -> LoadedConversation | None:
    """The conversation state a turn starts from, or None for a turn without a stored conversation."""
    key = conversation_key(run=run, chat=chat)
    if key is None:
        return None
    row = ConversationState.objects.filter(key=key, workspace_id=run.workspace_id).first()
    if row is None:
        return LoadedConversation(key, run.workspace_id, {}, 0, None)
    return LoadedConversation(key, run.workspace_id, dict(row.variables), row.dialogue_count, row.version)


def run_options(loaded: LoadedConversation | None) -> dict[str, Any]:
    """The engine's ``Executor.run`` arguments for a loaded conversation."""
    if loaded is None:
        return {}
    return {"conversation": loaded.variables, "dialogue_count": loaded.dialogue_count}


def conversation_save(*, loaded: LoadedConversation, final: RunRecord) -> bool:
    """Save a succeeded turn's variables and count it; False (nothing saved) when another turn changed the
    variables first. Call it inside the transaction that writes the run's final state."""
    assert transaction.get_connection().in_atomic_block, "saved with the run's final state, atomically"
    variables = final.conversation if final.conversation is not None else loaded.variables
    rows = ConversationState.objects.filter(key=loaded.key, workspace_id=loaded.workspace_id)
    if loaded.version is None:
        return _create(loaded, variables) or (
            variables == loaded.variables and rows.update(dialogue_count=F("dialogue_count") + 1) == 1
        )
    if variables == loaded.variables:
        return rows.update(dialogue_count=F("dialogue_count") + 1) == 1
    written = rows.filter(version=loaded.version).update(
        variables=variables, dialogue_count=F("dialogue_count") + 1, version=F("version") + 1
    )
    return written == 1


def _create(loaded: LoadedConversation, variables: dict[str, Any]) -> bool:
    try:
        with (
            transaction.atomic()
        ):  # a savepoint: a concurrent first turn must not break the outer transaction
            ConversationState.objects.create(
                workspace_id=loaded.workspace_id, key=loaded.key, variables=variables, dialogue_count=1,
                version=1,
            )  # fmt: skip
    except IntegrityError:
        return False
    return True


def conversation_variables_read(
    *, key: str, workspace_id: int, declared: list[dict[str, Any]]
) -> dict[str, Any]:
    """A stored conversation's variables as the workflow declares them now (defaults for missing ones), and its
    turn count; NotFound for a conversation that has no stored state."""
    row = ConversationState.objects.filter(key=key, workspace_id=workspace_id).first()
    if row is None:
        raise NotFound("No conversation with this id.")
    data = [
        {
            "name": variable["name"],
            "value_type": variable.get("type", "string"),
            "value": row.variables.get(variable["name"], variable.get("default")),
            "description": variable.get("description", ""),
        }
        for variable in declared
    ]
    return {
        "object": "list",
        "dialogue_count": row.dialogue_count,
        "updated_at": row.updated_at,
        "data": data,
    }
