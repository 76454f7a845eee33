"""Parsed and compiled workflow versions, cached per process.

A version's content never changes once published, so its parsed definition (for input validation) and its
compiled graph (for execution) are computed once per process instead of on every call. Entries are keyed by
the version's id *and* content hash, so a row that somehow changed is never served stale, and the caches are
bounded (least recently used entries go first).
"""

from __future__ import annotations

from collections import OrderedDict
from contextlib import suppress
from typing import Any, Generic, TypeVar

from workflows import CompiledGraph, compile_workflow
from workflows import Workflow as WorkflowDefinition

CACHE_SIZE = 256
V = TypeVar("V")


class _LRU(Generic[V]):
    """A small bounded mapping; races between threads at worst compute an entry twice."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.entries: OrderedDict[tuple[Any, str], V] = OrderedDict()

    def get(self, key: tuple[Any, str]) -> V | None:
        value = self.entries.get(key)
        if value is not None:
            with suppress(KeyError):  # evicted by another thread meanwhile
                self.entries.move_to_end(key)
        return value

    def put(self, key: tuple[Any, str], value: V) -> None:
        self.entries[key] = value
        while len(self.entries) > self.size:
            with suppress(KeyError):
                self.entries.popitem(last=False)


_definitions: _LRU[WorkflowDefinition] = _LRU(CACHE_SIZE)
_graphs: _LRU[CompiledGraph] = _LRU(CACHE_SIZE)


def _key(version: Any) -> tuple[Any, str]:
    return (version.pk, version.content_hash or "")


def workflow_definition(version: Any) -> WorkflowDefinition:
    """The version's parsed workflow (``WorkflowValidationError`` when its content does not parse)."""
    key = _key(version)
    definition = _definitions.get(key)
    if definition is None:
        definition = WorkflowDefinition.from_dict(version.content)
        _definitions.put(key, definition)
    return definition


def compiled_graph(version: Any) -> CompiledGraph:
    """The version's compiled graph (``WorkflowValidationError`` when it is not a valid workflow)."""
    key = _key(version)
    graph = _graphs.get(key)
    if graph is None:
        graph = compile_workflow(workflow_definition(version))
        _graphs.put(key, graph)
    return graph
