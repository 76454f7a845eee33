"""``make run``'s bootstrap: admin, demo workspace, local model endpoints and a runnable sample workflow."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from llmops.accounts.models import Membership, User
from llmops.core import versioning
from llmops.providers.models import ModelEndpoint
from llmops.studio.models import Workflow
from workflows import validate_workflow

pytestmark = pytest.mark.django_db


def test_bootstrap_creates_the_demo_once_and_prints_the_password_once() -> None:
    first, second = io.StringIO(), io.StringIO()
    call_command("bootstrap_demo", stdout=first)
    call_command("bootstrap_demo", stdout=second)
    assert "password=" in first.getvalue() and "password=" not in second.getvalue()
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and Membership.objects.get(user=admin).workspace.slug == "demo"
    assert set(ModelEndpoint.objects.values_list("slug", flat=True)) == {
        "local-qwen",
        "local-multilingual",
        "local-rerank",
        "local-minilm",
    }
    workflow = Workflow.objects.get(slug="hello")
    version = versioning.version_resolve(resource=workflow, ref="production")
    assert validate_workflow(version.content) == []
    assert Workflow.objects.count() == 1 and ModelEndpoint.objects.count() == 4
