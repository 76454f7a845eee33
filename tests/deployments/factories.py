"""Factories of deployments and API keys, and sample workflows."""

from __future__ import annotations

from typing import Any

import factory

from llmops.accounts.models import Workspace
from llmops.deployments import services
from llmops.deployments.models import Deployment
from llmops.studio.models import Workflow
from tests.studio.factories import published_workflow


def chat_dsl() -> dict[str, Any]:
    """A chat workflow: the answer node replies with the query and the number of earlier messages."""
    return {
        "name": "Echo chat",
        "mode": "chat",
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "reply", "type": "answer", "config": {"answer": "You said: {{ sys.query }}"}},
        ],
        "edges": [{"source": "start", "target": "reply"}],
    }


class DeploymentFactory(factory.django.DjangoModelFactory[Deployment]):
    class Meta:
        model = Deployment

    workspace = factory.SubFactory("tests.accounts.factories.WorkspaceFactory")
    slug = factory.Sequence(lambda n: f"dep-{n}")
    name = factory.LazyAttribute(lambda d: d.slug)
    workflow = factory.LazyAttribute(lambda d: published_workflow(workspace=d.workspace))
    version = "latest"


def deployment_of(workflow: Workflow, **kwargs: Any) -> Deployment:
    """A deployment of ``workflow`` in its workspace."""
    return DeploymentFactory.create(workspace=workflow.workspace, workflow=workflow, **kwargs)


def api_key(workspace: Workspace, **kwargs: Any) -> str:
    """A new key's token (all scopes unless given)."""
    return services.api_key_create(
        workspace=workspace, user=None, name=kwargs.pop("name", "test"), **kwargs
    ).token
