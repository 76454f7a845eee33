"""What a caller passes into an execution: the chat turn it runs with, and a listener for its events."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, cast

from workflows import ChatMessage

# Called with each event once it is stored (with its ``seq``): how a streaming caller gets them first hand.
Listener = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ChatContext:
    """A chat turn: the user message (``{{ sys.query }}``), the earlier messages and the conversation id."""

    query: str = ""
    history: list[dict[str, str]] = field(default_factory=list)  # ``{"role", "content"}``, as stored
    conversation_id: str = ""

    def run_options(self) -> dict[str, Any]:
        """The engine's ``Executor.run`` arguments for this turn."""
        return {
            "query": self.query or None,
            "history": [ChatMessage(role=cast(Any, m["role"]), content=m["content"]) for m in self.history],
            "conversation_id": self.conversation_id or None,
            # The turns before this one, as the client sent them (a stored conversation's own count wins).
            "dialogue_count": sum(1 for m in self.history if m["role"] == "user"),
        }
