"""Factories for evaluations: datasets with published versions, and the greeting workflow as a target."""

from __future__ import annotations

from typing import Any

import factory

from llmops.core import versioning
from llmops.evaluations.models import Dataset
from tests.accounts.factories import WorkspaceFactory


def items(*pairs: tuple[str, str]) -> dict[str, Any]:
    """Dataset content: one item per (name, expected greeting)."""
    return {
        "items": [
            {"id": f"case-{i}", "inputs": {"name": name}, "expected": expected, "metadata": {}, "tags": []}
            for i, (name, expected) in enumerate(pairs, start=1)
        ]
    }


GREETINGS = items(("Ada", "Hello Ada"), ("李雷", "Hello 李雷"), ("Bob", "Hello Robert"), ("Eve", "Hello Eve"))


class DatasetFactory(factory.django.DjangoModelFactory[Dataset]):
    class Meta:
        model = Dataset

    workspace = factory.SubFactory(WorkspaceFactory)
    name = "Greetings"
    slug = factory.Sequence(lambda n: f"ds-{n}")
    draft = factory.LazyFunction(lambda: GREETINGS)


def published_dataset(**kwargs: Any) -> Dataset:
    """A dataset with its draft published as v1."""
    dataset = DatasetFactory.create(**kwargs)
    versioning.version_publish(resource=dataset, user=None, message="v1")
    return dataset
