"""Deployments in a real browser against the running platform: create a deployment of a published workflow
(a bad slug's error on its field first), create an API key and read its token shown once, run the page's curl
snippet for real, see the call in the call log, pause the deployment and see the public API refuse, revoke
the key."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import pytest

from llmops.accounts.models import Role, Workspace
from llmops.deployments.models import ApiKey, Deployment, DeploymentStatus
from llmops.runs.models import Run
from llmops.usage.run_rollups import run_rollup
from tests.accounts.factories import WorkspaceFactory
from tests.console.conftest import screenshot, sign_in
from tests.console.test_browser import person
from tests.studio.factories import greeting_dsl, published_workflow

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration, pytest.mark.timeout(300)]


@pytest.fixture
def team(db: Any) -> Workspace:
    return WorkspaceFactory.create(slug="team", name="Team 团队")


def _run_snippet(snippet: str, token: str) -> dict[str, Any]:
    """Run the pasted curl snippet in a shell, the key exported as the page tells; its JSON answer."""
    env = {**os.environ, "LLMOPS_API_KEY": token}
    done = subprocess.run(["bash", "-c", snippet], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def _tab(page: Any, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def test_create_a_deployment_and_a_key_call_it_with_the_curl_snippet_see_the_call_then_pause(
    page: Any, asgi_server: str, team: Workspace
) -> None:
    # given: a published greeting workflow (input "name")
    person(team, "ann", Role.OWNER)
    published_workflow(workspace=team, slug="greeter", draft=greeting_dsl())
    sign_in(page, asgi_server, "ann", "/w/team/deployments")
    page.get_by_text("No deployments yet").wait_for()

    # when: a deployment is created in the form (a bad slug first: its error lands on the slug field)
    page.get_by_role("button", name="New deployment").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name").fill("Greeter API")
    dialog.get_by_label("Slug").fill("bad slug!")
    dialog.get_by_placeholder("Pick one to deploy").click()
    page.get_by_role("option", name="Greeting (greeter)").click()
    dialog.get_by_role("textbox", name="Max concurrent runs").fill("5")
    dialog.get_by_role("button", name="Create").click()
    slug_error = dialog.locator(".mantine-TextInput-error").filter(has_text="slug")
    slug_error.wait_for()
    dialog.get_by_label("Slug").fill("greeter-api")
    dialog.get_by_role("button", name="Create").click()
    page.wait_for_url("**/w/team/deployments/greeter-api")
    page.get_by_role("heading", name="Greeter API").wait_for()
    deployment = Deployment.objects.get(workspace=team, slug="greeter-api")
    assert deployment.workflow is not None and deployment.workflow.slug == "greeter"
    assert deployment.version == "latest" and deployment.max_concurrent_runs == 5

    # and: an API key, its token shown once with a warning
    _tab(page, "API keys")
    page.get_by_role("button", name="New API key").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name").fill("ci")
    dialog.get_by_role("button", name="Create").click()
    dialog.get_by_text("this is the only time the whole key is shown").wait_for()
    token = dialog.get_by_test_id("new-token").inner_text().strip()
    assert token.startswith("llm-")
    screenshot(page, "deployment-key-created")
    dialog.get_by_role("button", name="I have stored the key").click()
    page.get_by_role("cell", name="ci", exact=True).wait_for()
    assert token not in page.content()  # shown once: gone with the dialog
    assert list(ApiKey.objects.get(name="ci").deployments.all()) == [deployment]

    # then: the curl snippet, pasted as shown, calls the deployment
    _tab(page, "Call it")
    snippet = page.get_by_test_id("snippet-curl").inner_text()
    assert f"http://{asgi_server}/v1/workflows/greeter-api/run" in snippet
    assert '"name":"example name"' in snippet and "Idempotency-Key" in snippet
    screenshot(page, "deployment-snippets")
    answer = _run_snippet(snippet, token)
    assert answer["status"] == "succeeded", answer
    assert answer["outputs"] == {"answer": "Hello example name"}

    # and: after a reload, the call is in the call log with its status, end user and a link to the run
    page.reload()
    _tab(page, "Call log")
    log = page.get_by_test_id("call-log")
    log.get_by_text("succeeded").wait_for()
    log.get_by_role("cell", name="user-42").wait_for()
    run = Run.objects.get(id=answer["id"])
    assert run.deployment_id == deployment.id
    log.get_by_role("link", name=str(run.id)[:8]).click()
    page.wait_for_url(f"**/w/team/runs/{run.id}")

    # and: in the usage dashboard grouped by deployment, once the beat task has rolled the run up
    assert run_rollup() == 1
    page.goto(f"http://{asgi_server}/w/team/usage?group_by=deployment")
    page.get_by_test_id("total-runs").wait_for()
    assert page.get_by_test_id("total-runs").inner_text() == "1"
    page.go_back()

    # when: its limits are edited in the settings
    page.go_back()
    _tab(page, "Settings")
    page.get_by_role("textbox", name="Max concurrent runs").fill("3")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Max concurrent runs: 3").wait_for()
    assert Deployment.objects.get(id=deployment.id).max_concurrent_runs == 3

    # when: the deployment is paused
    page.get_by_role("button", name="Pause").click()
    page.get_by_test_id("deployment-status").filter(has_text="paused").wait_for()
    page.get_by_text("calls are refused with 409").wait_for()
    assert Deployment.objects.get(id=deployment.id).status == DeploymentStatus.PAUSED

    # then: the same call is refused
    refused = _run_snippet(snippet, token)
    assert "paused" in refused["error"]["message"], refused
    # and resumed, it answers again (the idempotency key replays the first, stored answer)
    page.get_by_role("button", name="Resume").click()
    page.get_by_test_id("deployment-status").filter(has_text="active").wait_for()
    assert _run_snippet(snippet, token)["id"] == answer["id"]

    # when: the key is revoked, then its next call is refused (401)
    _tab(page, "API keys")
    page.get_by_role("button", name="Revoke").click()
    page.get_by_role("dialog").get_by_role("button", name="Revoke").click()
    page.get_by_role("cell", name="revoked").wait_for()
    assert _run_snippet(snippet, token)["error"]["code"] == "unauthenticated"
