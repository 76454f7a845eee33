"""The console in a real browser against the running platform: sign in, endpoints, drawing a workflow with an
LLM node on the local model, its validation errors, publishing and a run whose nodes finish live, a Dify
import, and comparing two prompt versions."""

from __future__ import annotations

import re
from typing import Any

import pytest

from llmops.accounts.models import Role, User, Workspace
from llmops.core import versioning
from llmops.prompts.models import Prompt
from llmops.providers.models import ModelEndpoint
from llmops.runs.models import Run
from llmops.studio.models import Workflow, WorkflowVersion
from llmops.studio.services import workflow_import_dify
from tests.accounts.factories import MembershipFactory, UserFactory, WorkspaceFactory
from tests.console.conftest import PASSWORD, screenshot, sign_in
from tests.studio.factories import greeting_dsl

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration, pytest.mark.timeout(300)]
DIFY = __import__("pathlib").Path(__file__).resolve().parents[1] / "data" / "dify"


@pytest.fixture
def team(db: Any) -> Workspace:
    return WorkspaceFactory.create(slug="team", name="Team 团队")


def person(workspace: Workspace, username: str, role: Role) -> User:
    user = UserFactory.create(username=username)
    user.set_password(PASSWORD)
    user.save()
    MembershipFactory.create(workspace=workspace, user=user, role=role)
    return user


def test_sign_in_then_every_main_page_renders(page: Any, asgi_server: str, team: Workspace) -> None:
    person(team, "ann", Role.OWNER)
    sign_in(page, asgi_server, "ann", "/w/team/workflows")
    page.get_by_role("heading", name="Workflows").wait_for()
    page.get_by_text("No workflows yet").wait_for()  # a useful empty state
    screenshot(page, "workflows")
    for section, heading in [("prompts", "Prompts"), ("chains", "Chains"), ("endpoints", "Model endpoints"),
                             ("runs", "Runs"), ("members", "Members and roles")]:  # fmt: skip
        page.get_by_role("link", name=heading if section != "members" else "Members").click()
        page.get_by_role("heading", name=heading).wait_for()
        screenshot(page, section)
    # The language switch: the same page in Chinese, remembered on reload (a deep link).
    page.get_by_role("button", name="中文").click()
    page.get_by_role("heading", name="成员与角色").wait_for()
    page.reload()
    page.get_by_role("heading", name="成员与角色").wait_for()


def test_a_wrong_password_is_reported_on_the_sign_in_page(
    page: Any, asgi_server: str, team: Workspace
) -> None:
    person(team, "ann", Role.OWNER)
    page.goto(f"http://{asgi_server}/sign-in")
    page.get_by_label("Username").fill("ann")
    page.get_by_role("textbox", name="Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("alert").filter(has_text="Wrong username or password.").wait_for()


def test_create_a_model_endpoint_with_a_preset_and_see_field_errors(
    page: Any, asgi_server: str, team: Workspace
) -> None:
    person(team, "ann", Role.OWNER)
    sign_in(page, asgi_server, "ann", "/w/team/endpoints")
    page.get_by_role("button", name="New endpoint").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name").fill("DeepSeek")
    dialog.get_by_label("Slug").fill("bad slug!")
    dialog.get_by_label("Provider").click()
    page.get_by_role("option", name="DeepSeek 深度求索").click()
    dialog.get_by_role("textbox", name="API key (write-only)").fill("sk-test-SECRET-1234")
    dialog.get_by_role("button", name="Create").click()
    dialog.get_by_text(re.compile("slug", re.I)).first.wait_for()  # the slug's field error, next to it
    dialog.get_by_label("Slug").fill("deepseek")
    dialog.get_by_role("button", name="Create").click()
    page.get_by_role("cell", name="deepseek", exact=True).wait_for()
    endpoint = ModelEndpoint.objects.get(workspace=team, slug="deepseek")
    assert endpoint.draft["provider_kind"] == "deepseek" and endpoint.draft["model"] == "deepseek-chat"
    assert endpoint.draft["prices"]["currency"] == "CNY"
    assert "SECRET" not in page.content()  # write-only: never shown back


def test_draw_a_workflow_with_an_llm_node_fix_its_errors_publish_and_watch_a_run_finish_live(
    page: Any, asgi_server: str, celery_worker_process: Any, local_chat_model_url: str, team: Workspace
) -> None:
    person(team, "ann", Role.OWNER)
    ModelEndpoint.objects.create(
        workspace=team, slug="local", name="Local Gemma",
        draft={"provider_kind": "openai_compatible", "model": "gemma3-270m", "model_type": "chat",
               "base_url": local_chat_model_url, "max_retries": 0, "default_parameters": {"max_tokens": 12}},
    )  # fmt: skip
    sign_in(page, asgi_server, "ann", "/w/team/workflows")
    page.get_by_role("button", name="New workflow").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name").fill("Greeter")
    dialog.get_by_label("Slug").fill("greeter")
    dialog.get_by_role("button", name="Create").click()
    page.wait_for_url("**/w/team/workflows/greeter")
    page.locator("[data-testid=node-start]").wait_for()

    # An LLM node from the palette: it has problems (no messages), pinned on it; the draft is not saved.
    page.get_by_test_id("palette-llm").click()
    llm = page.locator("[data-testid=node-llm]")
    llm.wait_for()
    page.wait_for_function("document.querySelector('[data-testid=node-llm]').dataset.problems > 0")
    page.get_by_test_id("save-state").filter(has_text="Fix the problems").wait_for()
    screenshot(page, "editor-with-problems")

    # Configure it: the model picker and one user message reading the start node's input.
    llm.click()
    page.get_by_role("combobox", name="Model").click()
    page.get_by_role("option", name=re.compile("Local Gemma")).click()
    page.get_by_role("button", name="+ message").click()
    page.locator("input[aria-label='Messages 1 role']").click()
    page.get_by_role("option", name="user").click()
    editor = page.locator(".cm-content[aria-label='Messages 1']")
    editor.click()
    page.keyboard.insert_text("Say hello to ")

    # Wire start -> llm -> end (the starter's start -> end edge is replaced) and read the answer from llm.
    page.get_by_test_id("rf__edge-start:source->end").focus()  # edges are keyboard-selectable
    page.keyboard.press("Enter")
    page.keyboard.press("Delete")
    page.get_by_test_id("rf__edge-start:source->end").wait_for(state="detached")
    _connect(page, "start", "llm")
    _connect(page, "llm", "end")
    # Now start is upstream of the llm node: the picker offers its input and inserts it at the cursor.
    page.get_by_test_id("rf__node-llm").focus()
    page.keyboard.press("Enter")
    editor.click()
    page.keyboard.press("End")
    page.get_by_role("button", name="Insert {{ start.question }}").click()
    assert editor.inner_text() == "Say hello to {{ start.question }}"
    page.locator("[data-testid=node-end]").click()
    outputs = page.locator(".cm-content[aria-label='Outputs']")
    outputs.click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text('{"answer": "llm.text"}')
    page.locator(".react-flow__pane").click(position={"x": 20, "y": 20})
    page.get_by_test_id("save-state").filter(has_text=re.compile("^Saved$")).wait_for()
    page.wait_for_function("document.querySelector('[data-testid=node-llm]').dataset.problems == 0")
    draft = Workflow.objects.get(workspace=team, slug="greeter").draft
    assert {(e["source"], e["target"]) for e in draft["edges"]} == {("start", "llm"), ("llm", "end")}
    llm_config = next(n["config"] for n in draft["nodes"] if n["id"] == "llm")
    assert llm_config["messages"] == [{"role": "user", "content": "Say hello to {{ start.question }}"}]

    # Debug-run the draft (nothing published yet) and watch its nodes finish live.
    page.get_by_test_id("debug-run").click()
    page.get_by_role("dialog").get_by_label("question").fill("Ada")
    page.get_by_role("dialog").get_by_role("button", name="Run", exact=True).click()
    page.get_by_test_id("run-banner").filter(has_text="succeeded").wait_for(timeout=120_000)
    for node in ("start", "llm", "end"):
        assert page.locator(f"[data-testid=node-{node}]").get_attribute("data-status") == "succeeded"
    debug = Run.objects.get(workflow__slug="greeter", trigger="debug")
    assert (
        debug.status == "succeeded"
        and debug.outputs["answer"].strip()
        and debug.inputs == {"question": "Ada"}
    )
    assert not WorkflowVersion.objects.filter(resource__slug="greeter").exists()  # nothing was published
    screenshot(page, "editor-after-debug-run")

    # Run the llm node alone on a hand-entered input: only it runs.
    # Selected from the keyboard: the minimap or the panel's edge may cover the node after the banner.
    page.get_by_test_id("rf__node-llm").focus()
    page.keyboard.press("Enter")
    page.get_by_test_id("node-value-start.question").fill("Bo")
    page.get_by_test_id("run-node").click()
    _wait_for_a_new_run_to_succeed(page, after=str(debug.id))
    single = Run.objects.get(workflow__slug="greeter", debug_node="llm")
    assert single.status == "succeeded" and single.outputs["text"].strip()
    assert set(single.node_runs.values_list("node_id", flat=True)) == {"start", "llm", "debug_end"}

    # Publish with a message, then run v1 and watch the nodes finish live.
    page.get_by_role("button", name="Publish").click()
    page.get_by_role("dialog").get_by_label("Publish message").fill("first version")
    page.get_by_role("dialog").get_by_role("button", name="Publish").click()
    page.get_by_text("v1", exact=True).first.wait_for()
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_role("dialog").get_by_label("question").fill("小明")
    page.get_by_role("dialog").get_by_role("button", name="Run", exact=True).click()
    _wait_for_a_new_run_to_succeed(page, after=str(single.id))
    for node in ("start", "llm", "end"):
        assert page.locator(f"[data-testid=node-{node}]").get_attribute("data-status") == "succeeded"
    screenshot(page, "editor-after-run")
    run = Run.objects.get(workflow__slug="greeter", trigger="console")
    assert run.status == "succeeded" and run.workflow_version.message == "first version"
    assert run.outputs["answer"].strip()

    # The run page: its timeline with each node.
    page.get_by_test_id("run-banner").get_by_role("link").click()
    page.get_by_test_id("run-status").filter(has_text="succeeded").wait_for()
    page.get_by_test_id("timeline-llm").wait_for()
    screenshot(page, "run")


def _wait_for_a_new_run_to_succeed(page: Any, *, after: str) -> None:
    """The run banner shows another run than ``after``, succeeded."""
    page.wait_for_function(
        "([old]) => { const b = document.querySelector('[data-testid=run-banner]');"
        " return b && !b.querySelector('a').textContent.startsWith(old) && b.textContent.includes('succeeded'); }",
        arg=[after[:8]],
        timeout=120_000,
    )


def _connect(page: Any, source: str, target: str) -> None:
    start = page.locator(f"[data-testid=node-{source}] .react-flow__handle.source").first.bounding_box()
    end = page.locator(f"[data-testid=node-{target}] .react-flow__handle.target").first.bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] / 2, steps=8)
    page.mouse.up()


def test_import_a_dify_file_and_open_it_on_the_canvas(page: Any, asgi_server: str, team: Workspace) -> None:
    person(team, "ann", Role.OWNER)
    sign_in(page, asgi_server, "ann", "/w/team/workflows")
    page.get_by_role("button", name="Import Dify DSL").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Slug").fill("branching")
    with page.expect_file_chooser() as chooser:
        dialog.get_by_role("button", name="Import…").click()
    chooser.value.set_files(str(DIFY / "branching-workflow.yml"))
    page.wait_for_function(
        "document.querySelector('.cm-content[aria-label=Document]').textContent.length > 100"
    )
    dialog.get_by_role("button", name="Import", exact=True).click()
    dialog.get_by_test_id("import-report").wait_for()
    dialog.get_by_role("button", name="Open").click()
    page.wait_for_url("**/w/team/workflows/branching")
    page.locator(".react-flow__node").first.wait_for()
    assert page.locator(".react-flow__node").count() == len(
        Workflow.objects.get(slug="branching").draft["nodes"]
    )
    screenshot(page, "dify-import")

    # A file that is not a Dify app: the report says why, and nothing is created.
    page.goto(f"http://{asgi_server}/w/team/workflows")
    page.get_by_role("button", name="Import Dify DSL").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Slug").fill("nonsense")
    dialog.locator(".cm-content[aria-label=Document]").click()
    page.keyboard.insert_text("kind: something-else\n")
    dialog.get_by_role("button", name="Import", exact=True).click()
    dialog.get_by_role("alert", name="Import failed").wait_for()
    assert not Workflow.objects.filter(slug="nonsense").exists()


def test_compare_two_prompt_versions_side_by_side(page: Any, asgi_server: str, team: Workspace) -> None:
    ann = person(team, "ann", Role.OWNER)
    prompt = versioning.resource_create(
        model=Prompt, workspace=team, user=ann, name="Summary", slug="summary",
        draft={"type": "text", "template": "Summarise {{ text }} in one line."},
    )  # fmt: skip
    versioning.version_publish(resource=prompt, user=ann, message="v1")
    versioning.resource_update(
        resource=prompt, draft={"type": "text", "template": "用一句话总结：{{ text }}"}
    )
    versioning.version_publish(resource=prompt, user=ann, message="中文")
    sign_in(page, asgi_server, "ann", "/w/team/prompts/summary")
    page.get_by_text("Variables:").wait_for()
    page.locator("input[aria-label=From]").click()
    page.get_by_role("option", name="v1").click()
    page.locator("input[aria-label=To]").click()
    page.get_by_role("option", name="v2").click()
    diff = page.get_by_test_id("side-by-side-diff")
    diff.wait_for()
    assert "Summarise" in diff.inner_text() and "用一句话总结" in diff.inner_text()
    screenshot(page, "prompt-diff")
    # Label v2 production, from its row; an invalid name is refused next to the field.
    row = page.get_by_test_id("version-2")
    row.get_by_role("button", name="Add a label").click()
    page.get_by_label("Label", exact=True).fill("Not valid!")
    page.get_by_role("button", name="Save").last.click()
    page.get_by_text(re.compile("letters|characters|lowercase", re.I)).first.wait_for()
    page.get_by_label("Label", exact=True).fill("production")
    page.get_by_role("button", name="Save").last.click()
    row.get_by_text("production").wait_for()
    assert prompt.labels.get(name="production").version.number == 2


def test_a_viewer_sees_read_only_pages_instead_of_failing_after_a_click(
    page: Any, asgi_server: str, team: Workspace
) -> None:
    person(team, "vic", Role.VIEWER)
    sign_in(page, asgi_server, "vic", "/w/team/workflows")
    assert page.get_by_role("button", name="New workflow").is_disabled()
    assert page.get_by_role("button", name="Import Dify DSL").is_disabled()


def test_two_people_editing_one_draft_get_a_conflict_warning_and_keep_their_changes(
    page: Any, asgi_server: str, team: Workspace
) -> None:
    ann = person(team, "ann", Role.OWNER)
    versioning.resource_create(
        model=Workflow, workspace=team, user=ann, name="Shared", slug="shared", draft=greeting_dsl()
    )
    sign_in(page, asgi_server, "ann", "/w/team/workflows/shared")
    page.locator("[data-testid=node-greet]").wait_for()
    # someone else saves the draft meanwhile
    versioning.resource_update(
        resource=Workflow.objects.get(slug="shared"), draft=greeting_dsl("Bonjour {{ start.name }}")
    )
    # ann edits a node: her save is refused (If-Match), she is told, and their change is not overwritten
    page.get_by_test_id("rf__node-greet").focus()
    page.keyboard.press("Enter")
    page.get_by_label("Title", exact=True).fill("Greeting step")
    page.get_by_role("alert").filter(has_text="Someone else saved").wait_for()
    assert Workflow.objects.get(slug="shared").draft["nodes"][1]["config"]["template"].startswith("Bonjour")
    screenshot(page, "editor-conflict")
    # Reload shows their draft; this browser kept hers and offers it back
    page.get_by_role("button", name="Reload").click()
    backup = page.get_by_test_id("unsaved-backup")
    backup.wait_for()
    backup.get_by_role("button", name="Restore").click()
    page.get_by_test_id("save-state").filter(has_text=re.compile("^Saved$")).wait_for()
    stored = Workflow.objects.get(slug="shared").draft
    assert any(n.get("title") == "Greeting step" for n in stored["nodes"])
    page.reload()
    page.locator("[data-testid=node-greet]").wait_for()
    assert page.get_by_test_id("unsaved-backup").count() == 0  # saved: nothing left to offer


def test_a_container_is_drawn_as_a_box_around_its_body(page: Any, asgi_server: str, team: Workspace) -> None:
    ann = person(team, "ann", Role.OWNER)
    imported = workflow_import_dify(
        workspace=team, user=ann, slug="loops", name=None,
        document=(DIFY / "containers-workflow.yml").read_text(encoding="utf-8"),
    )  # fmt: skip
    assert imported.workflow is not None
    body = [n for n in imported.workflow.draft["nodes"] if n.get("parent")]
    assert body, "the sample has nodes inside a container"
    sign_in(page, asgi_server, "ann", "/w/team/workflows/loops")
    page.locator(".react-flow__node").first.wait_for()
    page.get_by_role("button", name="Auto layout").click()
    for node in body:
        outer = page.get_by_test_id(f"rf__node-{node['parent']}").bounding_box()
        inner = page.get_by_test_id(f"rf__node-{node['id']}").bounding_box()
        assert outer["x"] <= inner["x"] and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 1
        assert outer["y"] <= inner["y"] and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + 1
    screenshot(page, "editor-containers")
