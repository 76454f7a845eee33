"""Reading workflow documents (YAML, or JSON as a subset of it) without letting a document amplify itself.

``yaml.safe_load`` constructs no objects, but it keeps aliases: nine lines of ``&a``/``*a`` become hundreds of
millions of values once anything walks the result (the "billion laughs"), and an alias inside its own anchor
makes a cyclic structure that JSON serialisation refuses with a ``ValueError``. A workflow never needs
either, so aliases are refused while the document is composed, before any value is built. The size is capped
before parsing and the nesting depth while composing (the composer recurses once per level).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from workflows._errors import DocumentError


@dataclass(frozen=True, slots=True)
class DocumentLimits:
    """What a workflow document may hold: bytes, nesting depth, nodes and edges."""

    max_bytes: int = 2 * 1024 * 1024
    max_depth: int = 64
    max_nodes: int = 500
    max_edges: int = 2000


class _NoAliasLoader(yaml.SafeLoader):
    """The safe loader, refusing aliases and nesting past a depth while the node tree is composed."""

    max_depth = 64

    def __init__(self, stream: str | bytes) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise DocumentError(
                f"YAML aliases are not allowed (*{event.anchor} on line {event.start_mark.line + 1}): "
                "write the value out in full"
            )
        self._depth += 1
        try:
            if self._depth > self.max_depth:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise DocumentError(
                    f"the document is nested deeper than {self.max_depth} levels (line {mark.line + 1})"
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def load_yaml(text: str | bytes, *, limits: DocumentLimits | None = None) -> Any:
    """Parse a YAML (or JSON) document; raises ``DocumentError`` saying why it cannot be read."""
    limits = limits or DocumentLimits()
    size = len(text.encode() if isinstance(text, str) else text)
    if size > limits.max_bytes:
        raise DocumentError(f"the document is {size} bytes; at most {limits.max_bytes} bytes are accepted")
    loader = _NoAliasLoader(text)
    loader.max_depth = limits.max_depth
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        raise DocumentError(f"the document is not YAML or JSON: {str(exc)[:300]}") from None
    except RecursionError:  # a depth cap above what this interpreter's stack allows
        raise DocumentError("the document is nested too deeply") from None
    finally:
        loader.dispose()
