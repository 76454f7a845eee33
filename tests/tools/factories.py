"""Factories for tool providers."""

from __future__ import annotations

from typing import Any

import factory

from llmops.tools.models import ProviderKind, ToolProvider
from tests.accounts.factories import WorkspaceFactory


def tiny_document(server: str = "https://api.example.com") -> dict[str, Any]:
    """An OpenAPI 3 document with one operation."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "Tiny", "version": "1"},
        "servers": [{"url": server}],
        "paths": {"/ping": {"get": {"operationId": "ping", "summary": "Ping."}}},
    }


class ToolProviderFactory(factory.django.DjangoModelFactory[ToolProvider]):
    """An OpenAPI provider of ``tiny_document`` (stored as an import would store it)."""

    class Meta:
        model = ToolProvider

    workspace = factory.SubFactory(WorkspaceFactory)
    slug = factory.Sequence(lambda n: f"tiny-{n}")
    name = "Tiny"
    kind = ProviderKind.OPENAPI
    document = factory.LazyFunction(tiny_document)
    base_url = "https://api.example.com"
    auth = factory.LazyFunction(lambda: {"type": "none"})
    tools = factory.LazyFunction(
        lambda: [{"name": "ping", "description": "Ping.", "parameters": {"type": "object", "properties": {}}}]
    )
