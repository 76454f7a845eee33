"""Factories and sample DSL documents for workflows."""

from __future__ import annotations

from typing import Any

import factory

from llmops.core import versioning
from llmops.studio.models import Workflow
from tests.accounts.factories import WorkspaceFactory


def greeting_dsl(template: str = "Hello {{ start.name }}") -> dict[str, Any]:
    """start(name) -> template -> end(answer): the smallest useful workflow."""
    return {
        "name": "Greeting",
        "inputs": [{"name": "name", "type": "text", "required": True}],
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "greet", "type": "template", "config": {"template": template}},
            {"id": "end", "type": "end", "config": {"outputs": {"answer": "{{ greet.output }}"}}},
        ],
        "edges": [{"source": "start", "target": "greet"}, {"source": "greet", "target": "end"}],
    }


class WorkflowFactory(factory.django.DjangoModelFactory[Workflow]):
    class Meta:
        model = Workflow

    workspace = factory.SubFactory(WorkspaceFactory)
    name = "Greeting"
    slug = factory.Sequence(lambda n: f"wf-{n}")
    draft = factory.LazyFunction(greeting_dsl)


def published_workflow(**kwargs: Any) -> Workflow:
    """A workflow with its draft published as v1."""
    workflow = WorkflowFactory.create(**kwargs)
    versioning.version_publish(resource=workflow, user=None, message="v1")
    return workflow
