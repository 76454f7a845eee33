"""The Tools page in a real browser against the running platform: an OpenAPI provider pasted from a document
whose server is a local fake API, its tools, a test call with its result (and a schema violation on the form),
and the call in the recent calls; the built-ins and the credentialed catalogue.

Tools reach the fake API on loopback only if ``LLMOPS_WORKFLOW_HTTP_ALLOWLIST`` admits 127.0.0.1 in the web
server's process: the shared ``asgi_server`` is started once per session from the test process's environment,
so this module starts its own uvicorn with the allow-list set (the same command, see ``tests/conftest.py``)."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from llmops.accounts.models import Role, Workspace
from llmops.tools.models import ToolCall, ToolProvider
from tests.accounts.factories import WorkspaceFactory
from tests.conftest import ROOT, _child_env, _free_port, _stop
from tests.console.conftest import screenshot, sign_in
from tests.console.test_browser import person
from tests.support.mcp_test_server import mcp_test_server
from tests.tools.fake_api import FakeApi, pets_document

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def loopback_server(django_db_setup: Any, django_db_blocker: Any) -> Iterator[str]:
    """uvicorn as ``asgi_server`` runs it, with tools allowed to call 127.0.0.1."""
    with django_db_blocker.unblock():
        env = {**_child_env(), "LLMOPS_DB_POOL": "true", "LLMOPS_WORKFLOW_HTTP_ALLOWLIST": "127.0.0.1"}
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "llmops.asgi:application", "--host", "127.0.0.1", "--port", str(port),
         "--ws", "websockets-sansio", "--log-level", "warning"],
        env=env,
        cwd=ROOT,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                _stop(process)
                pytest.fail("the ASGI server did not start")
            time.sleep(0.1)
    yield f"127.0.0.1:{port}"
    _stop(process)


@pytest.fixture
def team(db: Any) -> Workspace:
    return WorkspaceFactory.create(slug="team", name="Team")


def test_paste_an_openapi_document_see_its_tools_test_one_and_find_the_call(
    page: Any, loopback_server: str, team: Workspace
) -> None:
    person(team, "ann", Role.OWNER)
    with FakeApi() as fake:
        sign_in(page, loopback_server, "ann", "/w/team/tools")
        page.get_by_role("heading", name="Tools").wait_for()
        # the built-ins that need no account, with their descriptions
        page.get_by_role("button", name="calculator", exact=True).wait_for()
        page.get_by_role("tab", name="Custom (OpenAPI)").click()
        page.get_by_text("No custom tools yet").wait_for()

        # a broken document: the import error lands on the document's field, nothing is created
        page.get_by_role("button", name="Add OpenAPI provider").click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_label("Name").fill("Pets")
        assert dialog.get_by_label("Slug").input_value() == "pets"
        document = dialog.get_by_label("OpenAPI document (JSON or YAML)")
        document.fill('{"openapi": "3.0.0", "paths": ')
        dialog.get_by_role("button", name="Import").click()
        expect(document).to_have_attribute("aria-invalid", "true")
        assert ToolProvider.objects.count() == 0

        # the fake API's document, pasted: its operations become the provider's tools
        document.fill(json.dumps(pets_document(fake.url), indent=2))
        dialog.get_by_role("button", name="Import").click()
        dialog.wait_for(state="detached")
        card = page.get_by_test_id("provider-pets")
        card.get_by_text(fake.url).wait_for()
        card.get_by_role("button", name="pets__addPet").wait_for()
        screenshot(page, "tools-openapi")

        # a body that violates the schema (JSON editor: the body is an object): the reason is on the editor
        card.get_by_role("button", name="pets__addPet").click()
        detail = page.get_by_role("dialog")
        editor = detail.get_by_label("Arguments (JSON)")
        editor.fill('{"body": {"name": 3}}')
        detail.get_by_role("button", name="Test").click()
        detail.get_by_text(re.compile(r"3 is not of type 'string'")).wait_for()
        assert fake.calls("/pets") == []
        page.keyboard.press("Escape")
        detail.wait_for(state="detached")

        # a flat schema is a form: a typo in a number is caught on its field, then a real call shows the result
        card.get_by_role("button", name="pets__getPet").click()
        detail = page.get_by_role("dialog")
        detail.get_by_text("Read one pet by its id.").wait_for()
        detail.get_by_label("pet_id").fill("seven")
        detail.get_by_role("button", name="Test").click()
        detail.get_by_text("Must be a number.").wait_for()
        detail.get_by_label("pet_id").fill("7")
        detail.get_by_label("verbose").check()
        detail.get_by_role("button", name="Test").click()
        result = detail.get_by_test_id("tool-result")
        result.get_by_text('"name": "Rex"').wait_for()
        screenshot(page, "tools-test-call")
        [seen] = fake.calls("/pets/7")
        assert seen.query == {"verbose": ["true"]}
        page.keyboard.press("Escape")
        detail.wait_for(state="detached")

        # authentication added afterwards: an API key in a header, sent on the next call, never shown back
        card.get_by_role("button", name="Edit").click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_role("combobox", name="Authentication").click()
        page.get_by_role("option", name="API key").click()
        dialog.get_by_label("Header or parameter name").fill("X-Key")
        dialog.get_by_label("API key").fill("k-SECRET")
        dialog.get_by_role("button", name="Save").click()
        dialog.wait_for(state="detached")
        card.get_by_text("api_key: set").wait_for()
        assert "k-SECRET" not in page.content()
        card.get_by_role("button", name="pets__getPet").click()
        detail = page.get_by_role("dialog")
        detail.get_by_label("pet_id").fill("8")
        detail.get_by_role("button", name="Test").click()
        detail.get_by_test_id("tool-result").get_by_text('"id": 8').wait_for()
        [seen] = fake.calls("/pets/8")
        assert seen.headers["x-key"] == "k-SECRET"
        page.keyboard.press("Escape")
        detail.wait_for(state="detached")

    # the call is metered and listed, filterable by tool
    assert ToolCall.objects.filter(workspace=team, tool="pets__getPet", source="test").count() == 2
    page.get_by_role("tab", name="Recent calls").click()
    calls = page.get_by_test_id("tool-calls")
    expect(calls.get_by_role("cell", name="pets__getPet")).to_have_count(2)
    page.get_by_role("combobox", name="Filter by tool").click()
    page.get_by_role("option", name="calculator", exact=True).click()
    page.get_by_text("No tool calls yet.").wait_for()
    screenshot(page, "tools-calls")

    # disable then delete the provider: its tools leave the workspace's registry
    page.get_by_role("tab", name="Custom (OpenAPI)").click()
    card = page.get_by_test_id("provider-pets")
    card.get_by_role("switch", name="Enabled").click(force=True)
    _wait_until(lambda: ToolProvider.objects.get(slug="pets").enabled is False)
    card.get_by_role("button", name="Delete").click()
    card.get_by_role("button", name="Yes, delete").click()
    page.get_by_text("No custom tools yet").wait_for()
    assert not ToolProvider.objects.filter(slug="pets").exists()


def test_a_credentialed_builtin_is_set_up_with_its_secret_shown_only_as_set(
    page: Any, loopback_server: str, team: Workspace
) -> None:
    person(team, "ann", Role.OWNER)
    sign_in(page, loopback_server, "ann", "/w/team/tools")
    page.get_by_role("tab", name="With an account").click()
    catalogue = page.get_by_test_id("catalogue-tavily")
    catalogue.get_by_role("button", name="tavily_search").wait_for()
    catalogue.get_by_role("button", name="Set up").click()
    dialog = page.get_by_role("dialog")
    secret = dialog.get_by_label("API key")
    assert secret.get_attribute("type") == "password"
    secret.fill("tvly-SECRET-123")
    dialog.get_by_role("button", name="Set up").click()
    dialog.wait_for(state="detached")
    card = page.get_by_test_id("provider-tavily")
    card.get_by_text("API key: set").wait_for()
    assert "tvly-SECRET-123" not in page.content()
    assert ToolProvider.objects.get(workspace=team, builtin_provider="tavily").credentials_set == ["api_key"]


def test_add_an_mcp_server_with_a_secret_header_and_test_its_tools(
    page: Any, loopback_server: str, team: Workspace
) -> None:
    person(team, "ann", Role.OWNER)
    with mcp_test_server("streamable_http") as url:
        sign_in(page, loopback_server, "ann", "/w/team/tools")
        page.get_by_role("tab", name="MCP servers").click()
        page.get_by_role("button", name="Add MCP server").click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_label("Name").fill("Calc")
        # a server that is down: the reason is on the URL's field, nothing is created
        dialog.get_by_label("Server URL").fill(f"http://127.0.0.1:{_free_port()}/mcp")
        dialog.get_by_role("button", name="Create").click()
        expect(dialog.get_by_label("Server URL")).to_have_attribute("aria-invalid", "true")
        assert not ToolProvider.objects.filter(slug="calc").exists()
        dialog.get_by_label("Server URL").fill(url)
        dialog.get_by_role("button", name="Add header").click()
        dialog.get_by_label("Header name 1").fill("Authorization")
        value = dialog.get_by_label("Header value 1")
        assert value.get_attribute("type") == "password"
        value.fill("Bearer s3cret")
        dialog.get_by_role("button", name="Create").click()
        dialog.wait_for(state="detached")
        card = page.get_by_test_id("provider-calc")
        card.get_by_text("Authorization: set").wait_for()
        assert "s3cret" not in page.content()
        card.get_by_role("button", name="Refresh").click()
        card.get_by_role("status").filter(has_text="Tools refreshed").wait_for()

        # a new value for the stored header (never shown back: the field is empty, "leave empty to keep it")
        card.get_by_role("button", name="Edit").click()
        dialog = page.get_by_role("dialog")
        assert dialog.get_by_label("Header name 1").input_value() == "Authorization"
        assert dialog.get_by_label("Header value 1").input_value() == ""
        dialog.get_by_label("Header value 1").fill("Bearer n3w")
        dialog.get_by_role("button", name="Save").click()
        dialog.wait_for(state="detached")

        # a call with the provider's header: the tool sees it
        card.get_by_role("button", name="calc__echo_header").click()
        detail = page.get_by_role("dialog")
        detail.get_by_text("This tool takes no parameters.").wait_for()
        detail.get_by_role("button", name="Test").click()
        detail.get_by_test_id("tool-result").get_by_text("Bearer n3w").wait_for()
        page.keyboard.press("Escape")
        detail.wait_for(state="detached")
        card.get_by_role("button", name="calc__add").click()
        detail = page.get_by_role("dialog")
        detail.get_by_label(re.compile(r"^a\W*$")).fill("40")
        detail.get_by_label(re.compile(r"^b\W*$")).fill("2")
        detail.get_by_role("button", name="Test").click()
        detail.get_by_test_id("tool-result").get_by_text("42").wait_for()
        screenshot(page, "tools-mcp")
    assert ToolCall.objects.filter(workspace=team, provider_slug="calc", status="ok").count() == 2


def _wait_until(check: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.1)
