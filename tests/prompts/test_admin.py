"""The admin pages of prompts: lists with filters and search, and a change page."""

from __future__ import annotations

import pytest
from django.test import Client

from llmops.accounts.models import Workspace
from tests.prompts.factories import published_prompt

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path",
    [
        "/admin/prompts/prompt/?q=owl&workspace__id__exact={ws}",
        "/admin/prompts/promptversion/?q=owl",
        "/admin/prompts/promptlabel/",
        "/admin/prompts/prompt/{prompt}/change/",
    ],
)
def test_admin_pages_load(admin_client: Client, workspace: Workspace, path: str) -> None:
    prompt = published_prompt(workspace=workspace, slug="owls", name="Owl facts")
    response = admin_client.get(path.format(ws=workspace.pk, prompt=prompt.pk))
    assert response.status_code == 200
    assert b"Owl facts" in response.content or "version" in path or "label" in path
