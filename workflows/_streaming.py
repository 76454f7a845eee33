"""Streaming answer nodes: emit an answer's text as early as it is certain, token by token where possible.

An answer template made of text and ``{{ a.b }}`` placeholders is cut into segments. Once any node that
guarantees the answer will run has started (see ``CompiledGraph.stream_sources``), segments are emitted in
order: literal text at once, a placeholder when its node has finished, and ``{{ llm.text }}`` token by token
while that llm node generates. Anything else is emitted whole when the answer node finishes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from workflows._variables import parse_selector, resolve, simple_segments, stringify


class AnswerStream:
    """The streaming state of one answer node within one scope run."""

    __slots__ = ("_certain", "_cursor", "_done", "_emit", "_segments", "_sources", "_streaming", "node_id")

    def __init__(
        self, node_id: str, template: str, sources: frozenset[str], emit: Callable[[str, str], None]
    ):
        self.node_id = node_id
        self._segments = simple_segments(template)
        self._sources = sources
        self._emit = emit
        self._cursor = 0
        self._certain = False
        self._streaming = False
        self._done = False

    def node_started(self, node_id: str, pool: Mapping[str, Any]) -> None:
        """A node started; if it guarantees this answer, text up to the first pending value goes out."""
        if not self._certain and node_id in self._sources:
            self._certain = True
            self._advance(pool)

    def text(self, node_id: str, delta: str) -> None:
        """A node streamed ``delta`` of its ``text`` output."""
        if self._done or not self._certain or self._segments is None:
            return
        if self._cursor < len(self._segments) and self._segments[self._cursor] == ("ref", f"{node_id}.text"):
            self._streaming = True
            self._emit(self.node_id, delta)

    def node_finished(self, node_id: str, pool: Mapping[str, Any]) -> None:
        """A node finished: the segment waiting on it (if any) can be emitted."""
        if self._done or not self._certain or self._segments is None:
            return
        kind, value = self._segments[self._cursor] if self._cursor < len(self._segments) else ("", "")
        if kind == "ref" and self._streaming and parse_selector(value)[0] == node_id:
            self._streaming = False
            self._cursor += 1  # already streamed token by token
        self._advance(pool)

    def finish(self, pool: Mapping[str, Any], answer: str) -> None:
        """The answer node ran: emit whatever has not been emitted yet."""
        if self._done:
            return
        self._done = True
        if self._segments is None:
            if answer:
                self._emit(self.node_id, answer)
            return
        self._advance(pool, final=True)

    def restored(self) -> None:
        """The answer was restored on resume: it was streamed by the earlier attempt."""
        self._done = True

    def _advance(self, pool: Mapping[str, Any], final: bool = False) -> None:
        assert self._segments is not None
        while self._cursor < len(self._segments):
            kind, value = self._segments[self._cursor]
            if kind == "ref" and not final and parse_selector(value)[0] not in pool:
                return
            text = value if kind == "text" else stringify(resolve(pool, value))
            if text:
                self._emit(self.node_id, text)
            self._cursor += 1
