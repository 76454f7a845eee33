"""OpenAI chat messages -> a deployment call.

A chat workflow (``mode: chat``) gets the last user message as its ``query`` (``{{ sys.query }}``) and the
earlier messages as ``history`` (llm nodes with memory read it). A plain workflow gets the last user message
in its text input named ``query``, ``message``, ``question``, ``input``, ``prompt`` or ``text`` (else its only
text input). A chain gets it as the ``query`` variable. Other inputs come from ``extra_body={"inputs": ...}``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from llmops.core.errors import ValidationError
from llmops.deployments.models import DeploymentRun
from llmops.runs.execution import ChatContext

MESSAGE_INPUT_NAMES = ("query", "message", "question", "input", "prompt", "text")
_ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}


@dataclass
class ChatTurn:
    """What one chat completion call runs with."""

    inputs: dict[str, Any]
    query: str = ""
    history: list[dict[str, str]] = field(default_factory=list)


def chat_turn_for_workflow(
    content: dict[str, Any], messages: list[dict[str, Any]], inputs: dict[str, Any]
) -> ChatTurn:
    """Map messages onto a workflow version's chat query and history, or onto its message input."""
    text = messages[-1]["content"]
    if content.get("mode") == "chat":
        history = [
            {"role": _ROLES[m["role"]], "content": m["content"]} for m in messages[:-1] if m["role"] in _ROLES
        ]
        return ChatTurn(dict(inputs), query=text, history=history)
    names = [f["name"] for f in content.get("inputs", []) if f.get("type", "text") in ("text", "paragraph")]
    target = next((name for name in MESSAGE_INPUT_NAMES if name in names), None)
    if target is None and len(names) == 1:
        target = names[0]
    if target is None:
        raise ValidationError(
            "This workflow has no text input to receive the message.",
            fields={
                "messages": [f"Give the workflow a text input named one of {', '.join(MESSAGE_INPUT_NAMES)}."]
            },
        )
    return ChatTurn({**inputs, target: text})


def chat_inputs_for_chain(messages: list[dict[str, Any]], inputs: dict[str, Any]) -> dict[str, Any]:
    """A chain's variables: the extra inputs plus ``query`` (the last user message)."""
    return {"query": messages[-1]["content"], **inputs}


def chat_context_for_run(*, run_id: str) -> ChatContext | None:
    """The chat turn stored with a deployment run (``DeploymentRun``), for a worker executing it."""
    row = DeploymentRun.objects.filter(run_id=run_id).first()
    if row is None:
        return None
    return ChatContext(row.query, row.history, row.conversation_id)
