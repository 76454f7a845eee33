"""The knowledge API: CRUD x roles, uploads and their limits, documents, chunks, hit testing, Dify's API."""

from __future__ import annotations

import subprocess
import threading
import time
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, connections, transaction
from django.test import override_settings
from knox.models import AuthToken
from rest_framework.test import APIClient

from llmops.accounts.models import Role, User, Workspace
from llmops.core.errors import Conflict
from llmops.knowledge.models import Document, DocumentStatus, KnowledgeBase
from llmops.knowledge.services import knowledge_base_update
from tests.accounts.factories import MembershipFactory, UserFactory
from tests.conftest import client_for
from tests.knowledge.conftest import ingest_text, wait_document
from tests.knowledge.factories import KnowledgeBaseFactory, pdf_bytes

pytestmark = pytest.mark.django_db(transaction=True)
BASE = "/api/workspaces/acme/knowledge-bases/"


def persona_client(
    persona: str, workspace: Workspace, owner: User, member: User, outsider: User
) -> APIClient:
    if persona == "viewer":
        viewer = MembershipFactory.create(
            workspace=workspace, user=UserFactory.create(username="vera"), role=Role.VIEWER
        )
        return client_for(viewer.user)
    return client_for({"owner": owner, "member": member, "outsider": outsider}[persona])


@pytest.mark.parametrize(("persona", "read", "write"), [
    ("owner", 200, 201), ("member", 200, 201), ("viewer", 200, 403), ("outsider", 404, 404),
])  # fmt: skip
def test_knowledge_base_crud_follows_workspace_roles(
    persona: str, read: int, write: int, workspace: Workspace, owner: User, member: User, outsider: User
) -> None:
    KnowledgeBaseFactory.create(workspace=workspace, slug="sample")
    client = persona_client(persona, workspace, owner, member, outsider)
    assert client.get(BASE).status_code == read
    assert client.get(f"{BASE}sample/").status_code == read
    created = client.post(
        BASE, {"slug": "created", "name": "Created", "embedding_model": "minilm"}, format="json"
    )
    assert created.status_code == write, created.json()
    patched = client.patch(f"{BASE}sample/", {"retrieval": {"top_k": 7}}, format="json")
    assert patched.status_code == (200 if write == 201 else write)
    if write == 201:
        assert patched.json()["retrieval"]["top_k"] == 7 and patched.json()["retrieval"]["mode"] == "hybrid"
        assert client.delete(f"{BASE}sample/").status_code == 204


def test_invalid_settings_are_refused_with_field_errors(workspace: Workspace, owner: User) -> None:
    body = {"slug": "bad", "name": "Bad", "embedding_model": "m", "retrieval": {"mode": "magic", "top_k": 0}}
    response = client_for(owner).post(BASE, body, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) >= {"retrieval.mode", "retrieval.top_k"}


def _wait_for_a_blocked_insert(timeout: float = 10) -> None:
    """Wait until another session of the test database waits on a lock (our uncommitted row)."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT pg_stat_clear_snapshot()")  # activity is otherwise frozen per transaction
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)


def test_creating_a_taken_slug_is_a_conflict_even_when_two_requests_race(
    workspace: Workspace, owner: User
) -> None:
    # given: another request has inserted "race" and not committed yet, so this one's existence check passes
    client = client_for(owner)
    inserted = threading.Event()

    def other_request() -> None:
        try:
            with transaction.atomic():
                KnowledgeBaseFactory.create(workspace=workspace, slug="race")
                inserted.set()
                _wait_for_a_blocked_insert()
        finally:
            connections.close_all()

    thread = threading.Thread(target=other_request)
    thread.start()
    assert inserted.wait(10)
    # when: this request inserts the same slug (it waits on the unique index until the other commits)
    response = client.post(BASE, {"slug": "race", "name": "Race", "embedding_model": "minilm"}, format="json")
    thread.join()
    # then: 409 in the one error shape, and one knowledge base
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "conflict" and error["fields"] == {"slug": ["Already taken."]}
    assert KnowledgeBase.objects.filter(workspace=workspace, slug="race").count() == 1


def test_creating_or_renaming_to_a_taken_slug_is_a_conflict(workspace: Workspace, owner: User) -> None:
    KnowledgeBaseFactory.create(workspace=workspace, slug="taken")
    mine = KnowledgeBaseFactory.create(workspace=workspace, slug="mine")
    response = client_for(owner).post(
        BASE, {"slug": "taken", "name": "Again", "embedding_model": "minilm"}, format="json"
    )
    assert response.status_code == 409 and response.json()["error"]["fields"] == {"slug": ["Already taken."]}
    with pytest.raises(Conflict) as renamed:
        knowledge_base_update(knowledge_base=mine, slug="taken")
    assert renamed.value.fields == {"slug": ["Already taken."]}
    assert KnowledgeBase.objects.get(pk=mine.pk).slug == "mine"


def upload(client: APIClient, slug: str, name: str, content: bytes, **extra: Any) -> Any:
    return client.post(
        f"{BASE}{slug}/documents/", {"file": SimpleUploadedFile(name, content), **extra}, format="multipart"
    )


@pytest.mark.parametrize(("name", "content", "status", "code"), [
    ("empty.txt", b"", 400, "invalid"),
    ("blank.md", b" \r\n\t \n", 400, "invalid"),
    ("tool.exe", b"MZ binary", 400, "invalid"),
    ("big.txt", b"x" * 2048, 413, "too_large"),
])  # fmt: skip
@override_settings(LLMOPS_KNOWLEDGE_MAX_UPLOAD_BYTES=1024)
def test_bad_uploads_get_a_4xx_reason_and_store_nothing(
    name: str, content: bytes, status: int, code: str, workspace: Workspace, owner: User
) -> None:
    KnowledgeBaseFactory.create(workspace=workspace, slug="docs")
    response = upload(client_for(owner), "docs", name, content)
    assert response.status_code == status and response.json()["error"]["code"] == code
    assert not Document.objects.exists()


def test_url_to_a_private_address_is_refused(workspace: Workspace, owner: User) -> None:
    KnowledgeBaseFactory.create(workspace=workspace, slug="docs")
    for url in ("http://10.0.0.5/page", "http://169.254.169.254/latest/meta-data"):
        response = client_for(owner).post(f"{BASE}docs/documents/", {"url": url}, format="json")
        assert response.status_code == 400 and "url" in response.json()["error"]["fields"]
    assert not Document.objects.exists()


def test_duplicate_upload_is_skipped_by_checksum(
    celery_worker_process: subprocess.Popen[bytes], kb: KnowledgeBase, owner: User
) -> None:
    client = client_for(owner)
    first = upload(client, "docs", "a.txt", b"same text")
    assert first.status_code == 201
    again = upload(client, "docs", "b.txt", b"same text")
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"
    assert wait_document(first.json()["id"]).status == DocumentStatus.READY


def test_upload_is_ingested_by_the_worker_and_listed_with_status_progress_and_chunks(
    celery_worker_process: subprocess.Popen[bytes], kb: KnowledgeBase, owner: User
) -> None:
    client = client_for(owner)
    content = pdf_bytes(["Herons stand still in shallow water.", "They spear fish with their beaks."])
    created = upload(client, "docs", "herons.pdf", content, metadata='{"team": "birds"}')
    assert created.status_code == 201 and created.json()["status"] == "queued"
    broken = upload(client, "docs", "broken.pdf", b"%PDF-1.4 not really")
    # when the worker has run
    assert wait_document(created.json()["id"]).status == DocumentStatus.READY
    failed = wait_document(broken.json()["id"])
    # then
    assert failed.status == DocumentStatus.FAILED and "Cannot read pdf" in failed.error
    listing = {d["file_name"]: d for d in client.get(f"{BASE}docs/documents/").json()["results"]}
    assert listing["herons.pdf"]["progress"] == 100 and listing["herons.pdf"]["chunk_count"] == 1
    assert listing["broken.pdf"]["status"] == "failed" and listing["broken.pdf"]["error"]
    chunks = client.get(f"{BASE}docs/documents/{created.json()['id']}/chunks/").json()["results"]
    assert chunks[0]["metadata"] == {"team": "birds"} and "Herons" in chunks[0]["text"]


def test_chunks_can_be_edited_and_disabled(kb: KnowledgeBase, owner: User) -> None:
    document = ingest_text(kb, "Owls", "Owls hunt mice at night.")
    client = client_for(owner)
    url = f"{BASE}docs/documents/{document.pk}/chunks/"
    chunk_id = client.get(url).json()["results"][0]["id"]
    edited = client.patch(f"{url}{chunk_id}/", {"text": "Zebras graze on the savanna."}, format="json")
    assert edited.status_code == 200
    hits = client.post(
        f"{BASE}docs/hit-testing/", {"query": "zebra grazing", "mode": "vector"}, format="json"
    )
    assert hits.json()["records"][0]["text"] == "Zebras graze on the savanna."
    client.patch(f"{url}{chunk_id}/", {"enabled": False}, format="json")
    assert client.post(f"{BASE}docs/hit-testing/", {"query": "zebra"}, format="json").json()["records"] == []


def test_hit_testing_returns_ranked_chunks_with_per_mode_scores(kb: KnowledgeBase, owner: User) -> None:
    ingest_text(kb, "panda", "大熊猫主要生活在四川的山区竹林中，每天要花十几个小时吃竹子。")
    ingest_text(kb, "owls", "Owls are nocturnal birds of prey.")
    response = client_for(owner).post(
        f"{BASE}docs/hit-testing/", {"query": "熊猫吃什么", "top_k": 2}, format="json"
    )
    records = response.json()["records"]
    assert records[0]["document_title"] == "panda"
    assert set(records[0]["scores"]) == {"vector", "full_text"} and records[0]["score"] > records[-1]["score"]


def test_other_workspaces_cannot_see_or_search_a_knowledge_base(kb: KnowledgeBase, outsider: User) -> None:
    ingest_text(kb, "owls", "Owls are nocturnal birds of prey.")
    client = client_for(outsider)
    assert client.post(f"{BASE}docs/hit-testing/", {"query": "owls"}, format="json").status_code == 404
    assert client.get(f"{BASE}docs/documents/").status_code == 404
    # even through the outsider's own workspace URL
    other = client.post(
        "/api/workspaces/other/knowledge-bases/docs/hit-testing/", {"query": "owls"}, format="json"
    )
    assert other.status_code == 404


def test_dify_external_knowledge_contract(kb: KnowledgeBase, owner: User) -> None:
    ingest_text(kb, "refund", "用户在签收商品后七天内可以申请无理由退货，运费由商家承担。")
    _, token = AuthToken.objects.create(owner)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    url = "/api/workspaces/acme/external-knowledge/retrieval"
    body = {
        "knowledge_id": "docs",
        "query": "退货运费",
        "retrieval_setting": {"top_k": 2, "score_threshold": 0.1},
    }
    response = client.post(url, body, format="json")
    assert response.status_code == 200, response.json()
    record = response.json()["records"][0]
    assert set(record) == {"content", "score", "title", "metadata"} and record["title"] == "refund"
    missing = client.post(url, {**body, "knowledge_id": "nope"}, format="json")
    assert missing.status_code == 404 and missing.json()["error_code"] == 2001
    anonymous = APIClient().post(url, body, format="json")
    assert anonymous.status_code == 401 and anonymous.json()["error_code"] == 1002
