"""Factories and sample content for prompts."""

from __future__ import annotations

from typing import Any

import factory

from llmops.accounts.models import Workspace
from llmops.core import versioning
from llmops.prompts.content import prompt_content_normalize
from llmops.prompts.models import Prompt
from tests.accounts.factories import WorkspaceFactory
from tests.providers.factories import ModelEndpointFactory, endpoint_config
from tests.support.openai_test_server import OpenAITestServer


def chat_content(**overrides: Any) -> dict[str, Any]:
    """A chat prompt: a system message with an optional ``tone`` and a user message with ``topic``."""
    content: dict[str, Any] = {
        "type": "chat",
        "messages": [
            {"role": "system", "content": "You are a {{ tone }} assistant."},
            {"role": "user", "content": "Tell me about {{ topic }}."},
        ],
        "variables": [
            {"name": "topic", "type": "string", "required": True},
            {"name": "tone", "type": "string", "required": False, "default": "helpful"},
        ],
        "parameters": {"temperature": 0, "max_tokens": 16},
    }
    return prompt_content_normalize({**content, **overrides})


def text_content(**overrides: Any) -> dict[str, Any]:
    """A text prompt with a number and a list variable."""
    content: dict[str, Any] = {
        "type": "text",
        "template": "Pick {{ count }} of: {{ items | join(', ') }}",
        "variables": [
            {"name": "count", "type": "number"},
            {"name": "items", "type": "list", "required": False, "default": ["a", "b"]},
        ],
    }
    return prompt_content_normalize({**content, **overrides})


class PromptFactory(factory.django.DjangoModelFactory[Prompt]):
    class Meta:
        model = Prompt

    workspace = factory.SubFactory(WorkspaceFactory)
    name = "Sample"
    slug = factory.Sequence(lambda n: f"prompt-{n}")
    draft = factory.LazyFunction(chat_content)


def published_prompt(**kwargs: Any) -> Prompt:
    """A prompt with its draft published as v1."""
    prompt = PromptFactory.create(**kwargs)
    versioning.version_publish(resource=prompt, user=None, message="v1")
    return prompt


def scripted_moderation_endpoint(workspace: Workspace, server: OpenAITestServer, **config: Any) -> Any:
    """Moderation endpoint ``mod`` of ``workspace`` on the scripted OpenAI-protocol server."""
    draft = endpoint_config(
        base_url=server.url, model="omni-moderation", model_type="moderation", prices={"input": 0, "output": 0},
        **config,
    )  # fmt: skip
    return ModelEndpointFactory.create(
        workspace=workspace, slug="mod", draft=draft, credentials={"api_key": "sk-mod"}
    )
