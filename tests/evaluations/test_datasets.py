"""Datasets: versions through the API, CSV/JSONL import (all or nothing, bad rows by line number), export
round trips, "add to dataset" from stored runs, and tenant isolation."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from llmops.accounts.models import User, Workspace
from llmops.evaluations.models import Dataset
from llmops.runs.models import Run, RunStatus
from tests.accounts.factories import WorkspaceFactory
from tests.conftest import client_for
from tests.evaluations.factories import DatasetFactory
from tests.studio.factories import published_workflow

BASE = "/api/workspaces/acme/datasets/"
CSV = (
    "id,inputs.question,expected,metadata.source,tags\n"
    'q1,首都是哪里？,巴黎,manual,"geo;zh"\n'
    'q2,"What is 2+2, exactly?",4,manual,math\n'
    'q3,"{""nested"": [1, 2]}","{""answer"": 42}",,\n'
).encode()


def upload(client: Any, slug: str, name: str, content: bytes, **extra: Any) -> Any:
    body = {"file": SimpleUploadedFile(name, content), **extra}
    return client.post(f"{BASE}{slug}/import/", body, format="multipart")


def draft_items(slug: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = Dataset.objects.get(slug=slug).draft["items"]
    return items


def test_a_csv_imports_with_chinese_text_json_cells_metadata_and_tags(
    workspace: Workspace, owner: User
) -> None:
    DatasetFactory.create(workspace=workspace, slug="qa", draft={"items": []})
    response = upload(client_for(owner), "qa", "qa.csv", CSV)
    assert response.status_code == 200, response.json()
    items = draft_items("qa")
    assert [i["id"] for i in items] == ["q1", "q2", "q3"]
    assert items[0] == {
        "id": "q1", "inputs": {"question": "首都是哪里？"}, "expected": "巴黎", "metadata": {"source": "manual"},
        "tags": ["geo", "zh"],
    }  # fmt: skip
    assert items[2]["inputs"] == {"question": {"nested": [1, 2]}} and items[2]["expected"] == {"answer": 42}


@pytest.mark.parametrize(("name", "content", "line"), [
    ("bad.csv", b'id,input,expected\na,"unclosed,x\n', "line 2"),
    ("bad.csv", b"id,expected\na,b\n", "line 1"),  # no input column
    ("bad.csv", b"input,expected\nok,1\ntoo,many,cells\n", "line 3"),
    ("bad.jsonl", b'{"inputs": {"q": 1}}\n{"inputs": {"q": 2}\n', "line 2"),
    ("bad.jsonl", b'{"inputs": {"q": 1}}\n\n{"inputs": "not an object"}\n', "line 3"),
    ("bad.jsonl", b'{"inputs": {"q": 1}, "id": "a"}\n{"inputs": {"q": 2}, "id": "a"}\n', "id 'a' is used twice"),
    ("bad.csv", "input\n\u00e9\n".encode("latin-1"), "line 2"),  # not UTF-8
])  # fmt: skip
def test_a_bad_file_is_reported_by_line_and_nothing_is_imported(
    workspace: Workspace, owner: User, name: str, content: bytes, line: str
) -> None:
    DatasetFactory.create(
        workspace=workspace, slug="qa", draft={"items": [{"id": "keep", "inputs": {"q": 0}}]}
    )
    response = upload(client_for(owner), "qa", name, content)
    assert response.status_code == 400, response.json()
    assert line in json.dumps(response.json(), ensure_ascii=False)
    assert [i["id"] for i in draft_items("qa")] == ["keep"]


@pytest.mark.parametrize(("name", "content", "lines"), [
    ("bad.csv", b'input,expected\nok,1\ntoo,many,cells\nfine,2\nshort\n', ["line 3: expected 2 cells, found 3",
                                                                      "line 5: expected 2 cells, found 1"]),
    ("bad.jsonl", b'{"inputs": {"q": 1}}\n{"inputs": 2}\n\n{"inputs": {"q": 3}\n',
     ["line 2: 'inputs' must be an object", "line 4: invalid JSON"]),
    ("bad.csv", b'input,expected\na,b,c\nok,1\n"unclosed,2\n', ["line 2: expected", "line 4: broken CSV"]),
])  # fmt: skip
def test_every_bad_row_is_listed_by_its_line_and_nothing_is_imported(
    workspace: Workspace, owner: User, name: str, content: bytes, lines: list[str]
) -> None:
    # given a dataset with one item
    DatasetFactory.create(
        workspace=workspace, slug="qa", draft={"items": [{"id": "keep", "inputs": {"q": 0}}]}
    )
    # when a file with two bad rows among good ones is imported
    response = upload(client_for(owner), "qa", name, content)
    # then both are listed, one message per line, in file order, and the good rows are not imported either
    assert response.status_code == 400
    error = response.json()["error"]
    assert len(error["fields"]["file"]) == 2 and error["message"].startswith("2 bad rows")
    assert all(message.startswith(line) for message, line in zip(error["fields"]["file"], lines, strict=True))
    assert [i["id"] for i in draft_items("qa")] == ["keep"]


def test_export_round_trips_and_versions_are_frozen(workspace: Workspace, owner: User) -> None:
    client = client_for(owner)
    DatasetFactory.create(workspace=workspace, slug="qa", draft={"items": []})
    upload(client, "qa", "qa.csv", CSV)
    assert client.post(f"{BASE}qa/publish/", {"message": "first"}, format="json").status_code == 201
    jsonl = client.get(f"{BASE}qa/export/?as=jsonl&version=1").content
    csv_text = client.get(f"{BASE}qa/export/?as=csv").content
    DatasetFactory.create(workspace=workspace, slug="copy", draft={"items": []})
    assert upload(client, "copy", "copy.jsonl", jsonl).status_code == 200
    assert draft_items("copy") == draft_items("qa")
    assert upload(client, "copy", "copy.csv", csv_text, mode="replace").status_code == 200
    assert draft_items("copy") == draft_items("qa")
    upload(client, "qa", "more.jsonl", b'{"inputs": {"question": "new"}}\n')
    assert len(draft_items("qa")) == 4 and draft_items("qa")[3]["id"] == "item-1"
    assert len(client.get(f"{BASE}qa/versions/1/").json()["content"]["items"]) == 3  # v1 did not move


def test_stored_runs_become_items_linked_to_their_run(workspace: Workspace, owner: User) -> None:
    workflow = published_workflow(workspace=workspace, slug="greet")
    run = Run.objects.create(
        workspace=workspace, workflow=workflow, workflow_version=workflow.versions.get(number=1),
        inputs={"name": "Ada"}, outputs={"answer": "Hello Ada"}, status=RunStatus.SUCCEEDED,
    )  # fmt: skip
    other = WorkspaceFactory.create(slug="other")
    foreign_flow = published_workflow(workspace=other, slug="greet")
    foreign = Run.objects.create(
        workspace=other,
        workflow=foreign_flow,
        workflow_version=foreign_flow.versions.get(number=1),
        inputs={},
    )
    DatasetFactory.create(workspace=workspace, slug="qa", draft={"items": []})
    client = client_for(owner)
    added = client.post(f"{BASE}qa/add-runs/", {"runs": [str(run.id)]}, format="json")
    assert added.status_code == 200
    item = draft_items("qa")[0]
    assert item["inputs"] == {"name": "Ada"} and item["expected"] == {"answer": "Hello Ada"}
    assert item["source_run_id"] == str(run.id)
    refused = client.post(f"{BASE}qa/add-runs/", {"runs": [str(foreign.id)]}, format="json")
    assert refused.status_code == 404 and len(draft_items("qa")) == 1


def test_a_draft_with_a_bad_item_is_refused_naming_it(workspace: Workspace, owner: User) -> None:
    DatasetFactory.create(workspace=workspace, slug="qa", draft={"items": []})
    draft = {"items": [{"inputs": {"q": 1}}, {"inputs": "nope"}]}
    response = client_for(owner).patch(f"{BASE}qa/", {"draft": draft}, format="json")
    assert response.status_code == 400 and "draft.items.1" in response.json()["error"]["fields"]


def test_datasets_are_invisible_to_other_workspaces(
    workspace: Workspace, outsider: User, member: User
) -> None:
    DatasetFactory.create(workspace=workspace, slug="qa")
    assert client_for(outsider).get(f"{BASE}qa/").status_code == 404
    assert client_for(outsider).get(f"{BASE}qa/export/").status_code == 404
    assert upload(client_for(outsider), "qa", "x.jsonl", b'{"inputs": {}}\n').status_code == 404
    assert client_for(member).get(f"{BASE}qa/export/").status_code == 200


def test_jsonl_export_round_trips_text_with_unicode_line_separators(
    workspace: Workspace, owner: User
) -> None:
    # U+2028, U+0085 and U+001E stay raw in our JSONL (ensure_ascii=False): only "\n" may end a line
    text = "第一行\u2028second\x85third\u001efourth"
    DatasetFactory.create(
        workspace=workspace,
        slug="qa",
        draft={"items": [{"id": "a", "inputs": {"q": text}, "expected": text}]},
    )
    client = client_for(owner)
    exported = client.get(f"{BASE}qa/export/").content
    DatasetFactory.create(workspace=workspace, slug="copy", draft={"items": []})
    assert upload(client, "copy", "copy.jsonl", exported).status_code == 200
    crlf = b'{"inputs": {"q": 1}}\r\n{"inputs": {"q": 2}}\r\n'
    assert upload(client, "copy", "crlf.jsonl", crlf).status_code == 200
    copied = draft_items("copy")
    assert (copied[0]["inputs"], copied[0]["expected"]) == ({"q": text}, text) and len(copied) == 3


def test_a_broken_csv_record_after_blank_lines_is_reported_by_its_own_line(
    workspace: Workspace, owner: User
) -> None:
    DatasetFactory.create(workspace=workspace, slug="qa", draft={"items": []})
    content = b'input,expected\nfine,1\n\n\n"unclosed,2\n'
    response = upload(client_for(owner), "qa", "qa.csv", content)
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["file"][0].startswith("line 5: broken CSV")
    assert draft_items("qa") == []


def test_import_format_comes_from_the_field_or_the_extension_and_replace_replaces(
    workspace: Workspace, owner: User
) -> None:
    DatasetFactory.create(workspace=workspace, slug="qa")  # four greetings
    client = client_for(owner)
    unknown = upload(client, "qa", "items.txt", b'{"inputs": {"q": 1}}\n')
    assert unknown.status_code == 400 and "format" in unknown.json()["error"]["fields"]
    assert upload(client, "qa", "items.txt", b'{"inputs": {"q": 1}}\n', format="jsonl").status_code == 200
    assert len(draft_items("qa")) == 5
    assert upload(client, "qa", "new.csv", b"input\nonly\n", mode="replace").status_code == 200
    assert draft_items("qa") == [
        {"id": "item-1", "inputs": {"input": "only"}, "expected": None, "metadata": {}, "tags": []}
    ]


@pytest.mark.parametrize(("limit", "value", "content", "message"), [
    ("LLMOPS_EVAL_MAX_ITEM_BYTES", 2048, b'{"inputs": {"q": 1}}\n{"inputs": {"q": "' + b"x" * 3000 + b'"}}\n',
     "line 2: the item is larger than 2048 bytes as JSON"),
    ("LLMOPS_EVAL_MAX_DATASET_ITEMS", 5, b'{"inputs": {"q": 1}}\n{"inputs": {"q": 2}}\n', "At most 5 items."),
    ("LLMOPS_EVAL_MAX_DATASET_BYTES", 2048, b'{"inputs": {"q": "' + b"y" * 1900 + b'"}}\n',
     "At most 2048 bytes of items."),
])  # fmt: skip
def test_imports_past_the_size_limits_are_refused_whole(
    workspace: Workspace, owner: User, settings: Any, limit: str, value: int, content: bytes, message: str
) -> None:
    # given a dataset of four items and a limit
    DatasetFactory.create(workspace=workspace, slug="qa")
    setattr(settings, limit, value)
    # when an import would go past it
    response = upload(client_for(owner), "qa", "big.jsonl", content)
    # then it is refused and the four items stay as they were
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["file"] == [message]
    assert len(draft_items("qa")) == 4


def test_runs_added_keep_their_link_through_a_csv_round_trip(workspace: Workspace, owner: User) -> None:
    workflow = published_workflow(workspace=workspace, slug="greet")
    runs = [
        Run.objects.create(
            workspace=workspace,
            workflow=workflow,
            workflow_version=workflow.versions.get(number=1),
            inputs={"name": name},
            outputs={"answer": f"Hello {name}"},
            status=RunStatus.SUCCEEDED,
        )
        for name in ("Ada", "李雷")
    ]
    DatasetFactory.create(workspace=workspace, slug="qa", draft={"items": []})
    client = client_for(owner)
    # when the runs are named in upper case, without their outputs as expected
    body = {"runs": [str(run.id).upper() for run in runs], "with_expected": False}
    assert client.post(f"{BASE}qa/add-runs/", body, format="json").status_code == 200
    # then each is an item linked to its run, with no expected output
    items = draft_items("qa")
    assert [(i["inputs"], i["expected"], i["source_run_id"]) for i in items] == [
        ({"name": "Ada"}, None, str(runs[0].id)), ({"name": "李雷"}, None, str(runs[1].id)),
    ]  # fmt: skip
    # and a CSV export imports back to the same items, links included
    DatasetFactory.create(workspace=workspace, slug="copy", draft={"items": []})
    exported = client.get(f"{BASE}qa/export/?as=csv").content
    assert upload(client, "copy", "copy.csv", exported).status_code == 200
    assert draft_items("copy") == items


@pytest.mark.parametrize("named", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_add_runs_with_one_unknown_run_adds_nothing(workspace: Workspace, owner: User, named: str) -> None:
    workflow = published_workflow(workspace=workspace, slug="greet")
    run = Run.objects.create(
        workspace=workspace, workflow=workflow, workflow_version=workflow.versions.get(number=1), inputs={}
    )
    DatasetFactory.create(workspace=workspace, slug="qa", draft={"items": []})
    body = {"runs": [str(run.id), named]}
    response = client_for(owner).post(f"{BASE}qa/add-runs/", body, format="json")
    assert response.status_code == 404 and named in response.json()["error"]["message"]
    assert draft_items("qa") == []
