"""The datasets and evaluators API: the versioned-resource contract, every dataset endpoint closed to other
workspaces, what viewers may and may not do, publishing an empty dataset, references (``ds``, ``ds:3``,
``ds@production``), and evaluators' CRUD with their config checked."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from llmops.accounts.models import Role, User, Workspace
from llmops.core.errors import NotFound, ValidationError
from llmops.evaluations.models import Dataset, DatasetVersion, Evaluator
from llmops.evaluations.selectors import dataset_version_resolve
from tests.accounts.factories import MembershipFactory, UserFactory, WorkspaceFactory
from tests.api_contract import VersionedResourceAPIContract
from tests.conftest import client_for
from tests.evaluations.factories import DatasetFactory, published_dataset

pytestmark = pytest.mark.django_db
BASE = "/api/workspaces/acme/"


class TestDatasetAPI(VersionedResourceAPIContract):
    collection = "datasets"

    def make(self, workspace: Workspace, user: User) -> Any:
        return DatasetFactory.create(workspace=workspace, slug="sample", created_by=user)

    def create_body(self) -> dict[str, Any]:
        return {"name": "Created", "slug": "created", "draft": {"items": [{"inputs": {"q": "hi"}}]}}

    def update_body(self) -> dict[str, Any]:
        return {"draft": {"items": [{"id": "only", "inputs": {"q": "changed"}, "expected": "yes"}]}}


def viewer_of(workspace: Workspace) -> User:
    return MembershipFactory.create(
        workspace=workspace, user=UserFactory.create(username="vera"), role=Role.VIEWER
    ).user


def upload(name: str, content: bytes) -> dict[str, Any]:
    return {"file": SimpleUploadedFile(name, content)}


# Every dataset endpoint: (method, path under the dataset, body, format of the body).
READS = [
    ("get", "", None, None),
    ("get", "versions/", None, None),
    ("get", "versions/1/", None, None),
    ("get", "labels/", None, None),
    ("get", "diff/?from=1&to=1", None, None),
    ("get", "export/", None, None),
    ("get", "export/?as=csv&version=production", None, None),
]
# Writes, with what an editor gets: publishing the unchanged draft again is a conflict and add-runs names a
# run that does not exist, which still shows that the editor got past the role check.
WRITES = [
    ("patch", "", {"draft": {"items": []}}, "json", 200),
    ("put", "", {"name": "Renamed", "slug": "qa", "draft": {"items": []}}, "json", 200),
    ("post", "publish/", {"message": "again"}, "json", 409),
    ("post", "restore/", {"number": 1}, "json", 200),
    ("put", "labels/", {"name": "staging", "version": 1}, "json", 200),
    ("delete", "labels/?name=production", None, None, 204),
    ("post", "import/", "jsonl", "multipart", 200),
    ("post", "add-runs/", {"runs": ["00000000-0000-0000-0000-000000000000"]}, "json", 404),
    ("delete", "", None, None, 204),
]


def call(client: APIClient, method: str, path: str, body: Any, fmt: str | None) -> Any:
    if body == "jsonl":
        body = upload("more.jsonl", b'{"inputs": {"q": "new"}}\n')
    return (
        getattr(client, method)(path, body, format=fmt) if body is not None else getattr(client, method)(path)
    )


def labelled(workspace: Workspace) -> Dataset:
    dataset = published_dataset(workspace=workspace, slug="qa")
    client = client_for(User.objects.get(username="alice"))
    client.put(f"{BASE}datasets/qa/labels/", {"name": "production", "version": 1}, format="json")
    return dataset


def snapshot(dataset: Dataset) -> tuple[Any, ...]:
    dataset.refresh_from_db()
    versions = list(dataset.versions.values_list("number", "content_hash"))
    labels = sorted(dataset.labels.values_list("name", "version__number"))
    return (dataset.name, dataset.draft, versions, labels)


@pytest.mark.parametrize(("method", "path", "body", "fmt"), READS + [w[:4] for w in WRITES])
def test_every_dataset_endpoint_is_invisible_to_another_workspace(
    workspace: Workspace, owner: User, outsider: User, method: str, path: str, body: Any, fmt: str | None
) -> None:
    # given a dataset of acme, and one of "other" with the same slug
    dataset = labelled(workspace)
    foreign = published_dataset(workspace=Workspace.objects.get(slug="other"), slug="qa")
    before, foreign_before = snapshot(dataset), snapshot(foreign)
    # when the outsider calls acme's endpoint, and alice (acme's owner) calls other's
    intruded = call(client_for(outsider), method, f"{BASE}datasets/qa/{path}", body, fmt)
    crossed = call(client_for(owner), method, f"/api/workspaces/other/datasets/qa/{path}", body, fmt)
    # then both are 404 and nothing moved
    assert (intruded.status_code, crossed.status_code) == (404, 404)
    assert snapshot(dataset) == before and snapshot(foreign) == foreign_before


@pytest.mark.parametrize(("method", "path", "body", "fmt"), READS)
def test_viewers_read_every_dataset_endpoint(
    workspace: Workspace, owner: User, method: str, path: str, body: Any, fmt: str | None
) -> None:
    labelled(workspace)
    response = call(client_for(viewer_of(workspace)), method, f"{BASE}datasets/qa/{path}", body, fmt)
    assert response.status_code == 200


@pytest.mark.parametrize(("method", "path", "body", "fmt", "editor_gets"), WRITES)
def test_viewers_change_nothing_and_editors_may(
    workspace: Workspace,
    owner: User,
    member: User,
    method: str,
    path: str,
    body: Any,
    fmt: str | None,
    editor_gets: int,
) -> None:
    dataset = labelled(workspace)
    before = snapshot(dataset)
    refused = call(client_for(viewer_of(workspace)), method, f"{BASE}datasets/qa/{path}", body, fmt)
    assert refused.status_code == 403 and snapshot(dataset) == before
    allowed = call(client_for(member), method, f"{BASE}datasets/qa/{path}", body, fmt)
    assert allowed.status_code == editor_gets, allowed.content


def test_an_empty_dataset_can_be_published_and_exported(workspace: Workspace, owner: User) -> None:
    client = client_for(owner)
    created = client.post(f"{BASE}datasets/", {"name": "Empty", "slug": "empty"}, format="json")
    assert created.status_code == 201, created.json()
    published = client.post(f"{BASE}datasets/empty/publish/", {"message": "nothing yet"}, format="json")
    assert published.status_code == 201 and published.json()["content"] == {"items": []}
    assert client.get(f"{BASE}datasets/empty/export/?version=1").content == b""
    assert client.get(f"{BASE}datasets/empty/export/?as=csv&version=1").content == b"id,expected,tags\n"


def test_restore_copies_a_version_into_the_draft(workspace: Workspace, owner: User) -> None:
    published_dataset(workspace=workspace, slug="qa")
    client = client_for(owner)
    client.patch(f"{BASE}datasets/qa/", {"draft": {"items": [{"inputs": {"q": "x"}}]}}, format="json")
    restored = client.post(f"{BASE}datasets/qa/restore/", {"number": 1}, format="json")
    assert restored.status_code == 200
    assert [i["id"] for i in restored.json()["draft"]["items"]] == ["case-1", "case-2", "case-3", "case-4"]


def test_references_resolve_to_the_pinned_version(workspace: Workspace, owner: User) -> None:
    # given v1, a label on it, then v2
    labelled(workspace)
    client_for(owner).patch(
        f"{BASE}datasets/qa/", {"draft": {"items": [{"inputs": {"q": "v2"}}]}}, format="json"
    )
    client_for(owner).post(f"{BASE}datasets/qa/publish/", {}, format="json")
    # then
    number = {
        ref: dataset_version_resolve(workspace=workspace, ref=ref).number
        for ref in ("qa", "qa:1", "qa:v2", "qa@production")
    }
    assert number == {"qa": 2, "qa:1": 1, "qa:v2": 2, "qa@production": 1}
    assert isinstance(dataset_version_resolve(workspace=workspace, ref="qa@production"), DatasetVersion)
    for missing in ("qa:9", "qa@staging", "qa@draft", "nope"):
        with pytest.raises(NotFound):
            dataset_version_resolve(workspace=workspace, ref=missing)
    published_dataset(workspace=WorkspaceFactory.create(slug="elsewhere"), slug="theirs")
    with pytest.raises(NotFound):
        dataset_version_resolve(workspace=workspace, ref="theirs")
    with pytest.raises(ValidationError) as bad:
        dataset_version_resolve(workspace=workspace, ref="qa:latest!")
    assert "dataset" in bad.value.fields


def test_export_refuses_an_unknown_format_and_version(workspace: Workspace, owner: User) -> None:
    published_dataset(workspace=workspace, slug="qa")
    client = client_for(owner)
    unknown_format = client.get(f"{BASE}datasets/qa/export/?as=xml")
    assert unknown_format.status_code == 400 and "as" in unknown_format.json()["error"]["fields"]
    assert client.get(f"{BASE}datasets/qa/export/?version=7").status_code == 404


# --- evaluators -------------------------------------------------------------------------------------------

EVALUATORS = f"{BASE}evaluators/"
EXACT = {"name": "exact", "kind": "equals", "config": {"case_sensitive": False}}


def test_evaluators_crud_by_editors(workspace: Workspace, member: User) -> None:
    client = client_for(member)
    created = client.post(EVALUATORS, EXACT, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["config"]["case_sensitive"] is False
    assert [e["name"] for e in client.get(EVALUATORS).json()["results"]] == ["exact"]
    changed = client.patch(f"{EVALUATORS}exact/", {"config": {"case_sensitive": True}}, format="json")
    assert changed.status_code == 200 and changed.json()["config"]["case_sensitive"] is True
    renamed = client.patch(f"{EVALUATORS}exact/", {"name": "strict"}, format="json")
    assert renamed.status_code == 200 and client.get(f"{EVALUATORS}strict/").json()["kind"] == "equals"
    assert client.delete(f"{EVALUATORS}strict/").status_code == 204
    assert not Evaluator.objects.exists()


@pytest.mark.parametrize(("body", "field"), [
    ({**EXACT, "kind": "telepathy"}, "kind"),
    ({"name": "dates", "kind": "regex", "config": {"pattern": "(unclosed"}}, "config.pattern"),
    ({"name": "shape", "kind": "json_schema", "config": {"schema": {"type": "nonsense"}}}, "config.schema"),
    ({**EXACT, "config": "not an object"}, "config"),
    ({**EXACT, "name": "Not A Slug"}, "name"),
])  # fmt: skip
def test_a_bad_evaluator_is_refused_naming_the_field(
    workspace: Workspace, owner: User, body: dict[str, Any], field: str
) -> None:
    response = client_for(owner).post(EVALUATORS, body, format="json")
    assert response.status_code == 400 and field in response.json()["error"]["fields"], response.json()
    assert not Evaluator.objects.exists()


def test_evaluator_names_are_unique_per_workspace(workspace: Workspace, owner: User, outsider: User) -> None:
    assert client_for(owner).post(EVALUATORS, EXACT, format="json").status_code == 201
    again = client_for(owner).post(EVALUATORS, EXACT, format="json")
    assert again.status_code == 409 and "name" in again.json()["error"]["fields"]
    theirs = client_for(outsider).post("/api/workspaces/other/evaluators/", EXACT, format="json")
    assert theirs.status_code == 201
    assert Evaluator.objects.filter(name="exact").count() == 2


def test_evaluators_roles_and_isolation(workspace: Workspace, owner: User, outsider: User) -> None:
    client_for(owner).post(EVALUATORS, EXACT, format="json")
    viewer = client_for(viewer_of(workspace))
    assert viewer.get(f"{EVALUATORS}exact/").status_code == 200
    assert viewer.post(EVALUATORS, {**EXACT, "name": "other"}, format="json").status_code == 403
    assert viewer.patch(f"{EVALUATORS}exact/", {"config": {}}, format="json").status_code == 403
    assert viewer.delete(f"{EVALUATORS}exact/").status_code == 403
    stranger = client_for(outsider)
    for method, body in (("get", None), ("patch", {"config": {}}), ("delete", None)):
        response = getattr(stranger, method)(f"{EVALUATORS}exact/", body, format="json")
        assert response.status_code == 404
    assert stranger.get(EVALUATORS).status_code == 404
    assert client_for(outsider).get("/api/workspaces/other/evaluators/").json()["results"] == []
    assert Evaluator.objects.get().workspace == workspace


# --- admin ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [
    "/admin/evaluations/dataset/?q=Greetings",
    "/admin/evaluations/dataset/{dataset}/change/",
    "/admin/evaluations/datasetversion/",
    "/admin/evaluations/datasetlabel/",
    "/admin/evaluations/evaluator/",
    "/admin/evaluations/evaluator/add/",
])  # fmt: skip
def test_admin_pages_load(admin_client: Client, workspace: Workspace, path: str) -> None:
    dataset = labelled_by_admin(workspace)
    assert admin_client.get(path.format(dataset=dataset.pk)).status_code == 200


def labelled_by_admin(workspace: Workspace) -> Dataset:
    from llmops.core import versioning

    dataset = published_dataset(workspace=workspace, slug="qa")
    versioning.label_set(resource=dataset, name="production", number=1, user=None)
    return dataset


def test_the_admin_refuses_an_evaluator_whose_config_does_not_check(
    admin_client: Client, workspace: Workspace
) -> None:
    form = {"workspace": workspace.pk, "name": "dates", "kind": "regex", "config": '{"pattern": "(x"}'}
    response = admin_client.post("/admin/evaluations/evaluator/add/", {**form, "description": ""})
    assert response.status_code == 200 and b"Does not compile" in response.content
    assert not Evaluator.objects.exists()
    form["config"] = '{"pattern": "^x$"}'
    assert admin_client.post("/admin/evaluations/evaluator/add/", form).status_code == 302
    assert Evaluator.objects.get().config["pattern"] == "^x$"
