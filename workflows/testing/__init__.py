"""In-memory adapters and fakes for every port, and the RunStore conformance suite.

For the engine's own tests and the platform's: nothing here talks to a network or a database; behaviour is
deterministic. ``RunStoreConformance`` (or the plain ``CHECKS``) is what every RunStore must pass.
"""

from __future__ import annotations

from workflows.testing._conformance import CHECKS, Check, RunStoreConformance
from workflows.testing._fakes import (
    FakeChainRunner,
    FakeHttpClient,
    FakeModelGateway,
    FakePromptResolver,
    FakeRetriever,
    InMemoryFileStore,
    InMemoryRunStore,
    RecordingEventSink,
    count_tokens,
)

__all__ = [
    "CHECKS",
    "Check",
    "FakeChainRunner",
    "FakeHttpClient",
    "FakeModelGateway",
    "FakePromptResolver",
    "FakeRetriever",
    "InMemoryFileStore",
    "InMemoryRunStore",
    "RecordingEventSink",
    "RunStoreConformance",
    "count_tokens",
]
