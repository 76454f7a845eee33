"""Ingestion under attack: bombs fail their document on a worker that lives on, a document whose ingestion
keeps killing its worker fails for good, and vector sizes outside the allowed set add no global index."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import override_settings

from llmops.accounts.models import User, Workspace
from llmops.knowledge.indexes import index_name
from llmops.knowledge.ingestion import document_ingest_run
from llmops.knowledge.models import Chunk, Document, DocumentStatus, KnowledgeBase
from llmops.knowledge.services import document_reingest
from tests.conftest import _child_env, client_for
from tests.knowledge import bombs
from tests.knowledge.conftest import ingest_text, make_document, wait_document
from tests.knowledge.factories import KnowledgeBaseFactory, embedding_endpoint
from tests.support.openai_test_server import Behaviour, OpenAITestServer, embeddings

pytestmark = pytest.mark.django_db(transaction=True)
DOCS = "/api/workspaces/acme/knowledge-bases/docs/documents/"


@pytest.fixture
def hosted_kb(workspace: Workspace, openai_test_server: OpenAITestServer) -> KnowledgeBase:
    """Knowledge base ``docs`` embedding with the scripted server (384 dimensions, an allowed size)."""
    openai_test_server.default = embeddings(dimensions=384)
    embedding_endpoint(workspace, openai_test_server.url, slug="hosted")
    return KnowledgeBaseFactory.create(workspace=workspace, slug="docs", embedding_model="hosted")


def upload(owner: User, name: str, content: bytes, **extra: Any) -> Any:
    file = SimpleUploadedFile(
        name, content, content_type=extra.pop("content_type", "application/octet-stream")
    )
    return client_for(owner).post(DOCS, {"file": file, **extra}, format="multipart")


def test_bombs_fail_their_document_with_a_reason_and_the_worker_ingests_the_next_one(
    celery_worker_process: subprocess.Popen[bytes], hosted_kb: KnowledgeBase, owner: User
) -> None:
    # given: a docx that inflates to 300 MiB and an xlsx whose rows pad to 16,384 cells, uploaded
    docx = upload(owner, "bomb.docx", bombs.docx_zip_bomb())
    xlsx = upload(owner, "bomb.xlsx", bombs.xlsx_wide_rows())
    assert docx.status_code == xlsx.status_code == 201
    # when the worker has taken them
    failed = [wait_document(docx.json()["id"]), wait_document(xlsx.json()["id"])]
    # then: each failed with the reason, and the same worker process ingests the next document
    assert [d.status for d in failed] == [DocumentStatus.FAILED, DocumentStatus.FAILED]
    assert "expands to more than 200 MiB when unzipped" in failed[0].error
    assert failed[1].error == "The table has more than 2,000,000 cells."
    assert not Chunk.objects.filter(document__in=failed).exists()
    fine = upload(owner, "owls.txt", b"Owls hunt at night.")
    assert wait_document(fine.json()["id"]).status == DocumentStatus.READY
    assert celery_worker_process.poll() is None


class Hang(Behaviour):
    """Never answers (until the server stops): the ingestion waits inside its embedding call."""

    def respond(self, exchange: Any) -> None:
        while not exchange.handler.server.stopping.wait(0.05):
            pass


def _ingest_in_a_worker_that_dies(document_id: int, server: OpenAITestServer, requests_before: int) -> None:
    """Run the ingestion in a separate process, and kill it (SIGKILL, as the OOM killer would) mid-way."""
    code = (
        "import django; django.setup(); from llmops.knowledge.ingestion import document_ingest_run; "
        f"document_ingest_run(document_id={document_id})"
    )
    worker = subprocess.Popen(
        [sys.executable, "-c", code], env={**_child_env(), "LLMOPS_KNOWLEDGE_MAX_ATTEMPTS": "2"}
    )
    try:
        deadline = time.monotonic() + 60
        while len(server.requests) == requests_before:  # it is embedding: parsed and counted
            assert worker.poll() is None and time.monotonic() < deadline, "the ingestion did not start"
            time.sleep(0.05)
    finally:
        worker.kill()
        worker.wait()


@override_settings(LLMOPS_KNOWLEDGE_MAX_ATTEMPTS=2)
def test_a_document_whose_ingestion_kills_its_worker_fails_for_good_after_the_attempts(
    hosted_kb: KnowledgeBase, openai_test_server: OpenAITestServer
) -> None:
    # given: a document whose ingestion has killed its worker twice (the task would be redelivered again)
    openai_test_server.default = Hang()
    document = make_document(hosted_kb, "owls.txt", b"Owls hunt at night.")
    for attempt in range(2):
        _ingest_in_a_worker_that_dies(document.pk, openai_test_server, requests_before=attempt)
    # when: the task is delivered a third time
    document_ingest_run(document_id=document.pk)
    # then: the document failed with the reason, without being parsed or embedded again
    document.refresh_from_db()
    assert document.status == DocumentStatus.FAILED
    assert document.error == (
        "Ingestion was started 2 times and its worker stopped each time (the document may be too large or "
        "malformed); it is not retried."
    )
    assert len(openai_test_server.requests) == 2
    # and a later redelivery does not try again either
    document_ingest_run(document_id=document.pk)
    assert len(openai_test_server.requests) == 2
    # when the user asks for a re-ingest, it gets its attempts back (the task is queued on commit: the session's
    # worker, if one is started, may take it too, so only the counter is looked at)
    document_reingest(document_id=document.pk)
    document.refresh_from_db()
    assert (document.status, document.attempts, document.error) == (DocumentStatus.QUEUED, 0, "")


def test_finished_ingestions_do_not_count_as_attempts(hosted_kb: KnowledgeBase) -> None:
    # given: more ingestions of one document than the attempts allowed, each finishing (ready or failed)
    document = ingest_text(hosted_kb, "owls", "Owls hunt at night.")
    broken = make_document(hosted_kb, "broken.pdf", b"%PDF-1.4 broken")
    for _ in range(4):
        document_ingest_run(document_id=document.pk)
        document_ingest_run(document_id=broken.pk)
    # then
    document.refresh_from_db()
    broken.refresh_from_db()
    assert (document.status, document.attempts) == (DocumentStatus.READY, 0)
    assert broken.status == DocumentStatus.FAILED and broken.error.startswith("Cannot read pdf")


def _index_exists(dims: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_indexes WHERE indexname = %s", [index_name(dims, "cosine")])
        return cursor.fetchone() is not None


@pytest.mark.parametrize("dims", [10, 4000])
def test_an_endpoint_answering_a_vector_size_not_allowed_fails_the_document_and_adds_no_index(
    hosted_kb: KnowledgeBase, openai_test_server: OpenAITestServer, dims: int
) -> None:
    # given: the endpoint answers vectors of a size outside LLMOPS_EMBEDDING_ALLOWED_DIMENSIONS
    openai_test_server.default = embeddings(dimensions=dims)
    # when
    document = ingest_text(hosted_kb, "owls", "Owls hunt at night.")
    # then
    assert document.status == DocumentStatus.FAILED
    assert document.error == (
        f"The embedding endpoint 'hosted' returns {dims}-dimensional vectors; knowledge bases accept 256, 384, "
        "512, 768, 1024, 1536, 2048, 3072 (LLMOPS_EMBEDDING_ALLOWED_DIMENSIONS)."
    )
    hosted_kb.refresh_from_db()
    assert hosted_kb.dims is None and not Chunk.objects.filter(document=document).exists()
    assert not _index_exists(dims)


@override_settings(LLMOPS_EMBEDDING_ALLOWED_DIMENSIONS=frozenset({256}))
def test_the_allowed_sizes_are_a_setting(
    hosted_kb: KnowledgeBase, openai_test_server: OpenAITestServer
) -> None:
    # 384 is refused once the operator allows only 256
    document = ingest_text(hosted_kb, "owls", "Owls hunt at night.")
    assert document.status == DocumentStatus.FAILED and "accept 256 (" in document.error
    openai_test_server.default = embeddings(dimensions=256)
    document = ingest_text(hosted_kb, "herons", "Herons fish by day.")
    assert document.status == DocumentStatus.READY and _index_exists(256)


# --- values longer than their column: a field error for the user's own, clipped when derived -------------


def test_a_title_longer_than_its_column_is_a_field_error(hosted_kb: KnowledgeBase, owner: User) -> None:
    client = client_for(owner)
    for body in (
        {"text": "Owls.", "title": "t" * 301},
        {"url": "https://example.com/owls", "title": "t" * 301},
    ):
        response = client.post(DOCS, body, format="json")
        assert response.status_code == 400, response.json()
        assert response.json()["error"]["fields"] == {"title": ["At most 300 characters."]}
    response = upload(owner, "owls.txt", b"Owls hunt.", title="t" * 301)
    assert response.status_code == 400 and list(response.json()["error"]["fields"]) == ["title"]
    assert not Document.objects.exists()


def test_a_url_longer_than_its_column_is_a_field_error(hosted_kb: KnowledgeBase, owner: User) -> None:
    url = "https://example.com/" + "o" * 2000
    response = client_for(owner).post(DOCS, {"url": url}, format="json")
    assert response.status_code == 400 and response.json()["error"]["fields"] == {
        "url": ["At most 2000 characters."]
    }


def test_a_long_mime_type_and_derived_names_are_clipped_to_their_columns(
    celery_worker_process: subprocess.Popen[bytes], hosted_kb: KnowledgeBase, owner: User
) -> None:
    # given: an upload whose Content-Type header is 300 characters, and a pasted text with a 300-character title
    mime = "application/vnd.owls." + "o" * 279
    uploaded = upload(owner, "owls.txt", b"Owls hunt.", content_type=mime)
    pasted = client_for(owner).post(DOCS, {"text": "Herons fish.", "title": "h" * 300}, format="json")
    # then: both are stored, the header and the derived file name cut to their columns
    assert uploaded.status_code == 201, uploaded.json()
    assert uploaded.json()["mime_type"] == mime[:200]
    assert pasted.status_code == 201, pasted.json()
    assert pasted.json()["title"] == "h" * 300 and pasted.json()["file_name"] == "h" * 296 + ".txt"
    # and both are ingested: the worker is done with them before the test's tables are emptied (a flush racing
    # an ingestion deadlocked once)
    assert wait_document(uploaded.json()["id"]).status == DocumentStatus.READY
    assert wait_document(pasted.json()["id"]).status == DocumentStatus.READY


@pytest.mark.parametrize("ref", ["²", "١٢", "99999999999999999999"])
def test_knowledge_base_references_that_look_numeric_but_are_not_ids_are_not_found(
    hosted_kb: KnowledgeBase, owner: User, ref: str
) -> None:
    client = client_for(owner)
    assert client.get(f"/api/workspaces/acme/knowledge-bases/{ref}/documents/").status_code == 404
    external = client.post(
        "/api/workspaces/acme/external-knowledge/retrieval",
        {"knowledge_id": ref, "query": "owls", "retrieval_setting": {"top_k": 1}},
        format="json",
    )
    assert external.status_code == 404 and external.json()["error_code"] == 2001
    assert client.get(f"/api/workspaces/acme/knowledge-bases/{hosted_kb.pk}/documents/").status_code == 200


@override_settings(LLMOPS_KNOWLEDGE_EMBED_BATCH=2)
def test_an_endpoint_whose_dimension_changes_mid_document_fails_it_with_nothing_indexed(
    hosted_kb: KnowledgeBase, openai_test_server: OpenAITestServer
) -> None:
    # given an endpoint that answers the first batch in 384 dimensions and the next in 512 (a model swapped)
    openai_test_server.script(embeddings(dimensions=384), embeddings(dimensions=512))
    text = "\n\n".join(f"Paragraph {n} about owls hunting at night in the forest. " * 40 for n in range(12))
    document = make_document(hosted_kb, "owls.txt", text.encode())
    # when it is ingested
    document_ingest_run(document_id=document.pk)
    # then the document failed with the reason, and no chunk of it is stored
    assert len(openai_test_server.requests) >= 2
    document.refresh_from_db()
    assert document.status == DocumentStatus.FAILED, document.error
    assert "changed its vector dimension while embedding this document (384, 512)" in document.error
    assert not Chunk.objects.filter(document=document).exists()
    hosted_kb.refresh_from_db()
    assert hosted_kb.dims is None
