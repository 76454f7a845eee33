"""Chain fixtures: a prompt to chain to, and a factory of chains (workflow factories: tests/studio/factories.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from llmops.accounts.models import Workspace
from llmops.chains.content import chain_content_normalize
from llmops.chains.models import Chain
from llmops.core import versioning
from llmops.prompts.models import Prompt
from tests.prompts.factories import PromptFactory, chat_content
from tests.providers.factories import ModelEndpointFactory, endpoint_config
from tests.support.openai_test_server import OpenAITestServer

MakeChain = Callable[..., Chain]


def chain_content(**overrides: Any) -> dict[str, Any]:
    """Chain content using the ``summarize`` prompt's latest version and its model."""
    return {"prompt": {"slug": "summarize", "version": "latest"}, **overrides}


def make_summarize_prompt(workspace: Workspace, *, model: str | None = "local", **content: Any) -> Prompt:
    """A published ``summarize`` prompt (variable ``topic``) in ``workspace``, naming ``model``."""
    prompt = Prompt.objects.filter(workspace=workspace, slug="summarize").first()
    if prompt is None:
        prompt = PromptFactory.create(
            workspace=workspace, slug="summarize", draft=chat_content(model=model, **content)
        )
        versioning.version_publish(resource=prompt, user=None, message="v1")
    return prompt


@pytest.fixture
def scripted_endpoint(workspace: Workspace, openai_test_server: OpenAITestServer) -> Any:
    """Model endpoint ``local`` of ``acme`` on the scripted server (what ``summarize`` names)."""
    config = endpoint_config(base_url=openai_test_server.url, model="scripted")
    return ModelEndpointFactory.create(
        workspace=workspace, slug="local", draft=config, credentials={"api_key": "sk-t"}
    )


@pytest.fixture
def make_chain() -> MakeChain:
    """``make_chain(workspace, slug="sample", publish=True, **content)``: a chain over ``summarize``."""

    def make(workspace: Workspace, slug: str = "sample", *, publish: bool = True, **content: Any) -> Chain:
        make_summarize_prompt(workspace)
        draft = chain_content_normalize(chain_content(**content), workspace=workspace)
        chain = Chain.objects.create(workspace=workspace, name=slug.title(), slug=slug, draft=draft)
        if publish:
            versioning.version_publish(resource=chain, user=None, message="v1")
        return chain

    return make
