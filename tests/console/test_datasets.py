"""Datasets and evaluators in a real browser: a CSV with two bad rows is refused with both rows listed by line
and nothing imported, a good one imports; an item is edited in the table, saved to the draft (a reload shows
it) and published; an evaluator with a bad config shows the server's error on its field, then a good one saves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from llmops.accounts.models import Role, Workspace
from llmops.evaluations.models import Dataset, Evaluator
from tests.accounts.factories import WorkspaceFactory
from tests.console.conftest import screenshot, sign_in
from tests.console.test_browser import person

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration, pytest.mark.timeout(300)]

BAD_CSV = (
    "id,input,expected,tags\n"
    "q1,首都是哪里？,巴黎,geo\n"
    "q2,2+2,4,math,extra\n"  # line 3: five cells
    "q3,3+3,6,math\n"
    "q4,only two\n"  # line 5: two cells
).encode()
GOOD_CSV = ("id,input,expected,tags\nq1,首都是哪里？,巴黎,geo\nq2,2+2,4,math\nq3,3+3,6,math\n").encode()


def csv_file(name: str, content: bytes) -> dict[str, Any]:
    return {"name": name, "mimeType": "text/csv", "buffer": content}


@pytest.fixture
def team(db: Any) -> Workspace:
    return WorkspaceFactory.create(slug="team", name="Team 团队")


def test_import_lists_bad_rows_by_line_then_an_item_is_edited_saved_and_published(
    page: Any, asgi_server: str, team: Workspace
) -> None:
    person(team, "ann", Role.OWNER)
    sign_in(page, asgi_server, "ann", "/w/team/datasets")
    # created from the list page, with an error on its field first
    page.get_by_role("button", name="New dataset").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name").fill("QA 问答")
    dialog.get_by_label("Slug").fill("not a slug!")
    dialog.get_by_role("button", name="Create").click()
    dialog.locator(".mantine-TextInput-error").first.wait_for()
    dialog.get_by_label("Slug").fill("qa")
    dialog.get_by_role("button", name="Create").click()
    page.wait_for_url("**/w/team/datasets/qa")
    page.get_by_text("No items yet").wait_for()

    # a CSV with two bad rows: both are listed by line, and the good rows are not imported either
    page.get_by_label("Choose a file to import").set_input_files(csv_file("bad.csv", BAD_CSV))
    problems = page.get_by_test_id("import-problems")
    problems.wait_for()
    assert problems.locator("tr[data-line]").evaluate_all("rows => rows.map(r => r.dataset.line)") == [
        "3",
        "5",
    ]
    assert "expected 4 cells, found 5" in problems.inner_text()
    assert "expected 4 cells, found 2" in problems.inner_text()
    page.get_by_text("bad.csv was not imported").wait_for()
    page.get_by_text("No items yet").wait_for()
    assert Dataset.objects.get(slug="qa").draft["items"] == []
    screenshot(page, "dataset-import-errors")

    # the fixed file imports
    page.get_by_label("Choose a file to import").set_input_files(csv_file("good.csv", GOOD_CSV))
    page.get_by_text("good.csv: the draft now has 3 items").wait_for()
    page.get_by_test_id("item-q2").wait_for()

    # an item edited in the table (double-click its expected cell), saved to the draft
    page.get_by_test_id("item-q2").get_by_role("cell", name="4", exact=True).dblclick()
    editor = page.get_by_test_id("item-editor")
    editor.get_by_label("Expected output").fill("four 四")
    editor.get_by_label("Inputs").fill("not json")
    editor.get_by_role("button", name="Save item").click()
    editor.get_by_text("Inputs must be a JSON object").wait_for()  # checked before it is sent
    editor.get_by_label("Inputs").fill('{"input": "2+2", "lang": "en"}')
    editor.get_by_role("button", name="Save item").click()
    page.get_by_test_id("item-q2").get_by_text("four 四").wait_for()
    saved = Dataset.objects.get(slug="qa").draft["items"][1]
    assert (saved["id"], saved["inputs"], saved["expected"]) == (
        "q2",
        {"input": "2+2", "lang": "en"},
        "four 四",
    )
    page.reload()
    page.get_by_test_id("item-q2").get_by_text("four 四").wait_for()

    # a row added and one deleted
    page.get_by_role("button", name="Add item").click()
    editor = page.get_by_test_id("item-editor")
    editor.get_by_label("Inputs").fill('{"input": "5+5"}')
    editor.get_by_label("Expected output").fill("10")
    editor.get_by_role("button", name="Save item").click()
    page.get_by_test_id("item-item-1").wait_for()
    page.get_by_role("button", name="Delete item q3").click()
    page.get_by_test_id("item-q3").wait_for(state="detached")
    ids = [item["id"] for item in Dataset.objects.get(slug="qa").draft["items"]]
    assert ids == ["q1", "q2", "item-1"]

    # published: version 1 is listed
    page.get_by_placeholder("Message").fill("first cut")
    page.get_by_role("button", name="Publish").click()
    page.get_by_test_id("version-1").get_by_text("first cut").wait_for()
    screenshot(page, "dataset-detail")

    # version 1 exported as CSV: the edited item as saved
    page.get_by_role("combobox", name="Export", exact=True).click()
    page.get_by_role("option", name="v1", exact=True).click()
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    assert download.value.suggested_filename == "qa.csv"
    exported = Path(download.value.path()).read_text(encoding="utf-8")
    assert exported.splitlines()[0] == "id,inputs.input,inputs.lang,expected,tags"
    assert "q2,2+2,en,four 四,math" in exported and "q3" not in exported


def test_an_evaluator_with_a_bad_config_shows_the_field_error_then_a_good_one_saves(
    page: Any, asgi_server: str, team: Workspace
) -> None:
    person(team, "ann", Role.OWNER)
    sign_in(page, asgi_server, "ann", "/w/team/datasets")
    page.get_by_role("link", name="Evaluators").click()
    page.get_by_role("heading", name="Evaluators").wait_for()
    page.get_by_text("No evaluators yet").wait_for()
    page.get_by_role("button", name="New evaluator").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name").fill("cites-source")
    dialog.get_by_role("combobox", name="Kind").click()
    page.get_by_role("option", name="Regular expression", exact=True).click()
    dialog.get_by_label("Pattern").fill("([a-z")
    dialog.get_by_role("button", name="Save").click()
    # the server's message, on the field it names (config.pattern)
    pattern_error = dialog.locator(".mantine-TextInput-error")
    pattern_error.wait_for()
    assert "Does not compile" in pattern_error.inner_text()
    assert not Evaluator.objects.filter(name="cites-source").exists()

    dialog.get_by_label("Pattern").fill(r"\[\d+\]")
    dialog.get_by_label("Case sensitive").check()
    dialog.get_by_role("button", name="Save").click()
    dialog.wait_for(state="detached")
    row = page.get_by_test_id("evaluator-cites-source")
    row.get_by_text("Regular expression").wait_for()
    evaluator = Evaluator.objects.get(workspace=team, name="cites-source")
    assert (evaluator.kind, evaluator.config["pattern"], evaluator.config["case_sensitive"]) == (
        "regex",
        r"\[\d+\]",
        True,
    )

    # edited: the saved config is in the form, a change is saved
    page.get_by_role("button", name="Edit cites-source").click()
    dialog = page.get_by_role("dialog")
    assert dialog.get_by_label("Pattern").input_value() == r"\[\d+\]"
    dialog.get_by_label("Negate: pass when it does not hold").check()
    dialog.get_by_role("button", name="Save").click()
    dialog.wait_for(state="detached")
    evaluator.refresh_from_db()
    assert evaluator.config["negate"] is True and evaluator.config["pattern"] == r"\[\d+\]"

    # an LLM judge needs its endpoint and rubric: the server names both fields in turn
    page.get_by_role("button", name="New evaluator").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name").fill("judge")
    dialog.get_by_role("combobox", name="Kind").click()
    page.get_by_role("option", name="LLM judge", exact=True).click()
    dialog.get_by_role("button", name="Save").click()
    dialog.get_by_text("A rubric is required").wait_for()
    screenshot(page, "evaluator-errors")
    dialog.get_by_label("Rubric: what makes an answer right").fill("Same meaning as the reference.")
    dialog.get_by_role("button", name="Save").click()
    dialog.get_by_text("A model endpoint of the workspace is required").wait_for()
    assert not Evaluator.objects.filter(name="judge").exists()
