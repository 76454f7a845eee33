"""Factories for model endpoints (valid drafts by default) and their versions."""

from __future__ import annotations

from typing import Any

import factory

from llmops.core.models import content_hash
from llmops.providers.models import ModelEndpoint, ModelEndpointVersion
from tests.accounts.factories import WorkspaceFactory


def endpoint_config(**overrides: Any) -> dict[str, Any]:
    """A valid endpoint draft (an OpenAI-compatible server on loopback) with ``overrides`` applied."""
    config: dict[str, Any] = {
        "provider_kind": "openai_compatible",
        "model": "test-model",
        "model_type": "chat",
        "base_url": "http://127.0.0.1:9/v1",
        "context_window": 4096,
        "prices": {"input": 1.0, "output": 2.0, "currency": "USD"},
        "max_retries": 0,
        "timeout_seconds": 10,
    }
    config.update(overrides)
    return config


class ModelEndpointFactory(factory.django.DjangoModelFactory[ModelEndpoint]):
    class Meta:
        model = ModelEndpoint

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"Endpoint {n}")
    slug = factory.Sequence(lambda n: f"endpoint-{n}")
    draft = factory.LazyFunction(endpoint_config)
    credentials = None


def publish(endpoint: ModelEndpoint, **overrides: Any) -> ModelEndpointVersion:
    """Freeze ``endpoint``'s draft (with ``overrides``) as its next version, directly in the database."""
    content = {**endpoint.draft, **overrides}
    number = endpoint.latest_version_number + 1
    version = ModelEndpointVersion.objects.create(
        resource=endpoint, number=number, content=content, content_hash=content_hash(content)
    )
    ModelEndpoint.objects.filter(pk=endpoint.pk).update(latest_version_number=number)
    endpoint.latest_version_number = number
    return version
