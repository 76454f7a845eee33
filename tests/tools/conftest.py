"""Fixtures of the tools tests: the local fake API (loopback, admitted by the workflow HTTP allow-list)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import override_settings

from tests.tools.fake_api import FakeApi


@pytest.fixture
def fake_api() -> Iterator[FakeApi]:
    """The fake pets API, reachable by tools: ``LLMOPS_WORKFLOW_HTTP_ALLOWLIST`` admits 127.0.0.1 meanwhile."""
    with FakeApi() as api, override_settings(LLMOPS_WORKFLOW_HTTP_ALLOWLIST=["127.0.0.1"]):
        yield api
