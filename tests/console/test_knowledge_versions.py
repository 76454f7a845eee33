"""Knowledge-base versions in a real browser against the real platform: publish the head with a message,
label the version production, change the head (a chunk edited), hit-test the head and the label and see
each answer from its own snapshot, run a workflow pinned to the label and see the version on its run page,
compare the two versions, and restore the first into the head."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest

from llmops.accounts.models import Role, Workspace
from llmops.knowledge.models import Chunk
from llmops.knowledge.services import chunk_update
from llmops.runs.services import run_start
from tests.accounts.factories import WorkspaceFactory
from tests.console.conftest import screenshot, sign_in
from tests.console.test_browser import person
from tests.knowledge.conftest import ingest_text
from tests.knowledge.factories import KnowledgeBaseFactory, embedding_endpoint
from tests.knowledge.test_versions import pinned_dsl
from tests.runs.test_runs import wait_final
from tests.studio.factories import published_workflow

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration, pytest.mark.timeout(300)]
SEVEN = "Refunds are accepted within 7 days of delivery."
THIRTY = "Refunds are accepted within 30 days of delivery."


T = TypeVar("T")


def off_loop(call: Callable[[], T]) -> T:
    """Run ``call`` (an embedding call through async_to_sync) in another thread: Playwright's sync API runs an
    event loop in this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(call).result()


@pytest.fixture
def team(db: Any) -> Workspace:
    return WorkspaceFactory.create(slug="team", name="Team 团队")


def hit_test(page: Any, target: str) -> str:
    """Hit-test the refund question against ``target`` (an option of "Search"); the best hit's text."""
    page.get_by_role("tab", name="Hit testing").click()
    page.get_by_test_id("search-in").click()
    page.get_by_role("option", name=target, exact=True).click()
    page.get_by_label("Question").fill("How many days do I have for a refund?")
    page.get_by_role("button", name="Test").click()
    page.get_by_test_id("searched").wait_for()
    return str(page.get_by_test_id("hit").first.inner_text())


def test_publish_label_hit_test_a_pinned_version_compare_and_restore(
    page: Any,
    asgi_server: str,
    team: Workspace,
    local_embedding_model_url: str,
    celery_worker_process: subprocess.Popen[bytes],
) -> None:
    # given: a knowledge base with one document (ingested here, as the worker would)
    person(team, "kim", Role.EDITOR)
    embedding_endpoint(team, local_embedding_model_url)
    kb = KnowledgeBaseFactory.create(workspace=team, slug="policies", name="Policies")
    document = off_loop(lambda: ingest_text(kb, "Refund policy", SEVEN))
    sign_in(page, asgi_server, "kim", "/w/team/knowledge/policies")

    # publish v1 with a message and label it production
    page.get_by_role("tab", name="Versions").click()
    page.get_by_text("Nothing published yet").wait_for()
    page.get_by_label("Message").fill("Launch policy")
    page.get_by_role("button", name="Publish a version").click()
    page.get_by_test_id("published").get_by_text("Published v1: 1 documents").wait_for()
    row = page.locator('[data-testid="knowledge-version"][data-number="1"]')
    row.get_by_text("Launch policy").wait_for()
    row.get_by_label("Label v1").fill("production")
    row.get_by_role("button", name="Set").click()
    row.get_by_text("production", exact=True).wait_for()

    # the head moves on: the chunk is edited (copy on write: v1 keeps its text)
    off_loop(lambda: chunk_update(chunk=Chunk.objects.get(document=document), text=THIRTY))
    page.get_by_label("Message").fill("Longer refunds")
    page.get_by_role("button", name="Publish a version").click()
    page.locator('[data-testid="knowledge-version"][data-number="2"]').wait_for()
    screenshot(page, "knowledge-versions")

    # each target answers from its own snapshot
    assert THIRTY in hit_test(page, "Head (draft)")
    assert SEVEN in hit_test(page, "@production (v1)")
    page.get_by_test_id("searched").get_by_text("Searched policies:1").wait_for()

    # a workflow pinned to production answers from v1, and its run page says which version it searched
    workflow = published_workflow(workspace=team, slug="refunds", draft=pinned_dsl("policies@production"))
    run = wait_final(
        run_start(workflow=workflow, inputs={"question": "refund days"}, user=None).id, timeout=90
    )
    assert "7 days" in run.outputs["context"], run.error
    page.goto(f"http://{asgi_server}/w/team/runs/{run.id}")
    page.get_by_test_id("knowledge-version").get_by_text("policies@production → policies:1").wait_for()
    page.goto(f"http://{asgi_server}/w/team/knowledge/policies")

    # the diff names the edited chunk
    page.get_by_role("tab", name="Versions").click()
    page.locator('[data-testid="knowledge-version"][data-number="2"]').get_by_role(
        "button", name="Compare with previous"
    ).click()
    diff = page.get_by_test_id("version-diff")
    diff.get_by_text("Chunks edited (1)").wait_for()
    diff.get_by_text("Refund policy · 1 chunks").wait_for()

    # deleting the labelled version is refused with the reason; restoring v1 brings its text back
    page.on("dialog", lambda dialog: dialog.accept())
    page.locator('[data-testid="knowledge-version"][data-number="1"]').get_by_role(
        "button", name="Delete"
    ).click()
    page.get_by_text("v1 is labelled production").wait_for()
    page.locator('[data-testid="knowledge-version"][data-number="1"]').get_by_role(
        "button", name="Restore"
    ).click()
    page.wait_for_timeout(500)
    assert SEVEN in hit_test(page, "Head (draft)")
