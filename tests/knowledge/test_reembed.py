"""Re-embedding (a new embedding endpoint or distance): searches keep reading the previous, complete vectors
until every document has new ones, then switch all at once; when the previous vectors cannot be searched, the
search says so and hybrid keeps its full-text half."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connections
from rest_framework.test import APIClient

from llmops.accounts.models import User, Workspace
from llmops.knowledge.models import Document, DocumentStatus, KnowledgeBase
from llmops.knowledge.search import knowledge_search
from tests.conftest import client_for
from tests.knowledge.conftest import ingest_text, wait_document
from tests.knowledge.factories import KnowledgeBaseFactory, embedding_endpoint
from tests.providers.factories import ModelEndpointFactory, endpoint_config
from tests.support.openai_test_server import Behaviour, OpenAITestServer, embeddings

pytestmark = pytest.mark.django_db(transaction=True)
BASE = "/api/workspaces/acme/knowledge-bases/docs/"
OWLS = "Owls are nocturnal birds of prey that hunt mice at night with silent flight."
BREAD = "To bake bread, knead the dough, let the yeast make it rise, then bake it in a hot oven."
QUERY = "which bird hunts at night"


class Gate(Behaviour):
    """Embeddings of ``dimensions`` dimensions, answered only when the test lets a request through."""

    def __init__(self, dimensions: int) -> None:
        self.dimensions = dimensions
        self._permits = threading.Semaphore(0)
        self._opened = threading.Event()

    def let_one_through(self) -> None:
        self._permits.release()

    def open(self) -> None:
        self._opened.set()

    def respond(self, exchange: Any) -> None:
        while not (self._opened.is_set() or self._permits.acquire(timeout=0.05)):
            if exchange.handler.server.stopping.is_set():
                return
        embeddings(dimensions=self.dimensions).respond(exchange)


def hit_testing(client: APIClient, mode: str, query: str = QUERY) -> Any:
    return client.post(f"{BASE}hit-testing/", {"query": query, "mode": mode, "top_k": 2}, format="json")


def chunk_ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.json()
    return [record["chunk_id"] for record in response.json()["records"]]


def wait_until(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def test_a_reembed_that_cannot_finish_keeps_searching_the_previous_vectors(
    celery_worker_process: subprocess.Popen[bytes], kb: KnowledgeBase, owner: User
) -> None:
    # given: two documents embedded with MiniLM (384 dimensions)
    documents = [ingest_text(kb, "owls", OWLS), ingest_text(kb, "bread", BREAD)]
    client = client_for(owner)
    before = chunk_ids(hit_testing(client, "vector"))
    assert len(before) == 2
    # when: the knowledge base moves to an endpoint that cannot embed, and the worker tries to re-embed
    embedding_endpoint(kb.workspace, "http://127.0.0.1:9/v1", slug="down")
    assert client.patch(BASE, {"embedding_model": "down"}, format="json").status_code == 200
    failed = [wait_document(document.pk, generation=2) for document in documents]
    # then: each document says why, and every search still reads the previous, complete vectors
    assert all(d.status == DocumentStatus.FAILED and d.error for d in failed)
    assert chunk_ids(hit_testing(client, "vector")) == before
    hybrid = hit_testing(client, "hybrid").json()
    assert hybrid["records"][0]["document_title"] == "owls" and "vector" in hybrid["records"][0]["scores"]
    assert hybrid["notices"] == []
    shown = client.get(BASE).json()
    assert shown["dims"] == 384 and shown["embedding_model"] == "down"
    assert shown["active_embedding_model"] == "minilm" and shown["reembedding"] is True


def test_search_switches_to_the_new_vectors_all_at_once_when_every_document_is_reembedded(
    celery_worker_process: subprocess.Popen[bytes], kb: KnowledgeBase, owner: User
) -> None:
    # given: two documents embedded with MiniLM, and a reader searching all along
    documents = [ingest_text(kb, "owls", OWLS), ingest_text(kb, "bread", BREAD)]
    client = client_for(owner)
    before = chunk_ids(hit_testing(client, "vector"))
    seen: list[frozenset[int]] = []
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                fresh = KnowledgeBase.objects.get(pk=kb.pk)
                hits = knowledge_search(knowledge_bases=[fresh], query=QUERY, mode="vector", top_k=2)
                seen.append(frozenset(h.chunk_id for h in hits))
        finally:
            connections.close_all()

    gate = Gate(dimensions=256)
    with OpenAITestServer(default=gate) as server:
        config = endpoint_config(
            base_url=server.url, model="hash", model_type="embedding", timeout_seconds=60
        )
        ModelEndpointFactory.create(workspace=kb.workspace, slug="hashed", draft=config)
        thread = threading.Thread(target=reader)
        thread.start()
        try:
            # when: the endpoint changes (256 dimensions) and one of the two documents is re-embedded
            assert client.patch(BASE, {"embedding_model": "hashed"}, format="json").status_code == 200
            gate.let_one_through()
            ready = Document.objects.filter(
                knowledge_base=kb, latest_generation=2, status=DocumentStatus.READY
            )
            wait_until(lambda: ready.count() == 1 and len(server.requests) == 2)
            # then: searches still read the previous vectors, all of them
            assert chunk_ids(hit_testing(client, "vector")) == before
            assert client.get(BASE).json()["dims"] == 384
            # when: the last document is re-embedded
            gate.open()
            for document in documents:
                wait_document(document.pk, generation=2)
            # then: every search reads the new vectors
            after = chunk_ids(hit_testing(client, "vector"))
            time.sleep(0.3)  # the reader searches the new generation a few times too
        finally:
            stop.set()
            thread.join()
    assert len(after) == 2 and not set(after) & set(before)
    shown = client.get(BASE).json()
    assert (
        shown["dims"] == 256 and shown["active_embedding_model"] == "hashed" and shown["reembedding"] is False
    )
    # and the reader saw the old generation or the new one, never a mix or nothing
    assert set(seen) == {frozenset(before), frozenset(after)}


@pytest.mark.parametrize("previous", ["gone", "other_dimension"])
def test_when_the_previous_vectors_cannot_be_searched_hybrid_keeps_full_text_and_says_so(
    celery_worker_process: subprocess.Popen[bytes],
    openai_test_server: OpenAITestServer,
    workspace: Workspace,
    owner: User,
    previous: str,
) -> None:
    # given: a knowledge base embedded with a hosted endpoint (256 dimensions), moving to one that cannot embed
    openai_test_server.default = embeddings(dimensions=256)
    embedding_endpoint(workspace, openai_test_server.url, slug="hosted")
    kb = KnowledgeBaseFactory.create(workspace=workspace, slug="docs", embedding_model="hosted")
    documents = [ingest_text(kb, "owls", OWLS), ingest_text(kb, "bread", BREAD)]
    embedding_endpoint(workspace, "http://127.0.0.1:9/v1", slug="down")
    client = client_for(owner)
    assert client.patch(BASE, {"embedding_model": "down"}, format="json").status_code == 200
    for document in documents:
        wait_document(document.pk, generation=2)
    # when: the previous endpoint is gone too, or now answers another dimension
    if previous == "gone":
        openai_test_server.stop()
    else:
        openai_test_server.default = embeddings(dimensions=512)
    # then: hybrid search answers from full text and says why the vectors are left out
    hybrid = hit_testing(client, "hybrid", query="bake bread").json()
    assert [r["document_title"] for r in hybrid["records"]] == ["bread"]
    assert set(hybrid["records"][0]["scores"]) == {"full_text"}
    assert len(hybrid["notices"]) == 1 and "'hosted'" in hybrid["notices"][0]
    assert "re-embedding with 'down' is not complete" in hybrid["notices"][0]
    # and a vector-only search is refused with the reason instead of looking like "nothing matched"
    vector = hit_testing(client, "vector", query="bake bread")
    assert vector.status_code == 503 and vector.json()["error"]["code"] == "service_unavailable"
    assert "Full-text search still works" in vector.json()["error"]["message"]
