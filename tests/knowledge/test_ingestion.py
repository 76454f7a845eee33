"""Ingestion: statuses, failures with reasons, atomic and concurrent re-ingest, re-embedding."""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection, connections
from django.test import override_settings

from llmops.accounts.events import workspace_group
from llmops.knowledge.indexes import index_name
from llmops.knowledge.ingestion import document_ingest_run
from llmops.knowledge.models import Chunk, DocumentStatus, KnowledgeBase
from llmops.knowledge.search import knowledge_search
from llmops.knowledge.services import knowledge_base_update
from llmops.usage.models import UsageRecord
from tests.knowledge.conftest import ingest_text, make_document, wait_document
from tests.knowledge.factories import embedding_endpoint, pdf_bytes

pytestmark = pytest.mark.django_db(transaction=True)
OWLS = "Owls are nocturnal birds of prey. They hunt mice at night with silent flight.\n\n" * 20


def test_text_document_becomes_ready_with_chunks_embeddings_and_metered_usage(kb: KnowledgeBase) -> None:
    # when
    document = ingest_text(kb, "Owls", OWLS, topic="birds")
    # then
    assert document.status == DocumentStatus.READY and document.progress == 100, document.error
    chunks = Chunk.objects.filter(document=document, generation=document.active_generation)
    assert document.chunk_count == chunks.count() > 1
    assert all(c.dims == 384 and c.metadata == {"topic": "birds"} for c in chunks)
    kb.refresh_from_db()
    assert kb.dims == 384
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_indexes WHERE indexname = %s", [index_name(384, "cosine")])
        assert cursor.fetchone()
    assert UsageRecord.objects.filter(source="ingest", workspace_id=kb.workspace_id).exists()


def test_pdf_upload_is_parsed_and_searchable(kb: KnowledgeBase) -> None:
    content = pdf_bytes(["Herons stand still in shallow water.", "They spear fish with their beaks."])
    document = make_document(kb, "herons.pdf", content)
    document_ingest_run(document_id=document.pk)
    kb.refresh_from_db()
    hits = knowledge_search(knowledge_bases=[kb], query="which bird spears fish", mode="vector", top_k=1)
    assert hits and "Herons" in hits[0].text and hits[0].document_title == "herons.pdf"


def test_corrupt_pdf_fails_with_a_reason_and_nothing_is_searchable(kb: KnowledgeBase) -> None:
    document = make_document(kb, "broken.pdf", b"%PDF-1.4 broken owls")
    document_ingest_run(document_id=document.pk)
    document.refresh_from_db()
    assert document.status == DocumentStatus.FAILED and "Cannot read pdf" in document.error
    assert not Chunk.objects.filter(document=document).exists()
    assert knowledge_search(knowledge_bases=[kb], query="owls", mode="full_text") == []


def test_unreachable_embedding_endpoint_fails_the_document_without_partial_chunks(kb: KnowledgeBase) -> None:
    embedding_endpoint(kb.workspace, "http://127.0.0.1:9/v1", slug="down")
    KnowledgeBase.objects.filter(pk=kb.pk).update(embedding_model="down")
    kb.refresh_from_db()
    document = ingest_text(kb, "Owls", OWLS)
    assert document.status == DocumentStatus.FAILED and document.error
    assert not Chunk.objects.filter(document=document).exists()


def test_reingest_replaces_chunks_atomically(kb: KnowledgeBase) -> None:
    document = ingest_text(kb, "Owls", OWLS)
    first = set(Chunk.objects.filter(document=document).values_list("id", flat=True))
    # when
    document_ingest_run(document_id=document.pk)
    # then: a new generation only, the old chunks are gone
    document.refresh_from_db()
    remaining = Chunk.objects.filter(document=document)
    assert document.active_generation == 2 and document.status == DocumentStatus.READY
    assert set(remaining.values_list("generation", flat=True)) == {2}
    assert not first & set(remaining.values_list("id", flat=True))


def test_concurrent_reingest_of_one_document_leaves_exactly_one_generation(kb: KnowledgeBase) -> None:
    document = ingest_text(kb, "Owls", OWLS)
    chunk_count = document.chunk_count
    seen: list[int] = []
    stop = threading.Event()

    def reader() -> None:
        # a reader polling while two ingestions race never sees a mixed or empty index
        try:
            while not stop.is_set():
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT count(*) FROM knowledge_chunk c JOIN knowledge_document d ON d.id = c.document_id"
                        " AND d.active_generation = c.generation WHERE d.id = %s AND NOT c.is_parent",
                        [document.pk],
                    )
                    seen.append(cursor.fetchone()[0])
        finally:
            connections.close_all()

    def ingest() -> None:
        try:
            document_ingest_run(document_id=document.pk)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=reader)] + [threading.Thread(target=ingest) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads[1:]:
        thread.join()
    stop.set()
    threads[0].join()
    document.refresh_from_db()
    assert document.status == DocumentStatus.READY and document.active_generation == 3
    assert set(Chunk.objects.filter(document=document).values_list("generation", flat=True)) == {3}
    assert Chunk.objects.filter(document=document).count() == chunk_count
    assert seen and set(seen) == {chunk_count}


def test_changing_the_embedding_endpoint_reembeds_every_document_on_the_worker(
    celery_worker_process: subprocess.Popen[bytes], kb: KnowledgeBase, local_embedding_model_url: str
) -> None:
    document = ingest_text(kb, "Owls", OWLS)
    embedding_endpoint(kb.workspace, local_embedding_model_url, slug="minilm-2")
    # when
    knowledge_base_update(knowledge_base=kb, embedding_model="minilm-2")
    # then
    document = wait_document(document.pk, generation=2)
    kb.refresh_from_db()
    assert document.status == DocumentStatus.READY and document.active_generation == 2
    assert kb.dims == 384
    assert knowledge_search(knowledge_bases=[kb], query="nocturnal birds", mode="vector", top_k=1)


async def _drain(channel: str) -> list[dict[str, Any]]:
    layer = get_channel_layer()
    events: list[dict[str, Any]] = []
    while True:
        try:
            message = await asyncio.wait_for(layer.receive(channel), timeout=0.5)
        except TimeoutError:
            return events
        events.append(message["event"])


def test_progress_events_reach_the_workspace_websocket_group(kb: KnowledgeBase) -> None:
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(workspace_group(kb.workspace_id), channel)
    # when
    document = ingest_text(kb, "Owls", OWLS)
    # then
    events = [e for e in async_to_sync(_drain)(channel) if e["document"] == document.pk]
    statuses = [e["status"] for e in events]
    assert statuses[0] == "parsing" and statuses[-1] == "ready" and "embedding" in statuses
    assert [e["progress"] for e in events] == sorted(e["progress"] for e in events)
    assert all(e["type"] == "knowledge.document" and e["knowledge_base"] == "docs" for e in events)


@override_settings(LLMOPS_KNOWLEDGE_URL_ALLOWLIST=["127.0.0.1"])  # the test servers are on loopback
def test_url_source_is_fetched_through_the_guard_and_indexed(kb: KnowledgeBase) -> None:
    # given: a page on a loopback server, allow-listed for URL documents
    page = b"<html><body><h1>Kingfishers</h1><p>Kingfishers dive into rivers to catch fish.</p></body></html>"

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/kingfishers"
    try:
        document = make_document(kb, "", b"", source="url", source_url=url, title="Kingfishers")
        document_ingest_run(document_id=document.pk)
    finally:
        server.shutdown()
    document.refresh_from_db()
    assert document.status == DocumentStatus.READY, document.error
    hits = knowledge_search(knowledge_bases=[kb], query="kingfisher river", mode="full_text", top_k=1)
    assert hits and "dive into rivers" in hits[0].text


def test_url_that_resolves_to_a_private_address_fails_at_fetch(kb: KnowledgeBase) -> None:
    document = make_document(kb, "", b"", source="url", source_url="http://10.1.2.3/internal", title="x")
    document_ingest_run(document_id=document.pk)
    document.refresh_from_db()
    assert document.status == DocumentStatus.FAILED and "not allowed" in document.error
    assert not Chunk.objects.filter(document=document).exists()


@contextlib.contextmanager
def serve(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve ``handler`` on a free loopback port for the duration of the ``with``; yields the base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


PAGE_LIMIT = 4096
PAGE_CHUNK = 64 * 1024
PAGE_TOTAL = 256 * PAGE_CHUNK  # 16 MiB, about 2.5 s to stream whole at the pace below


@override_settings(LLMOPS_KNOWLEDGE_URL_ALLOWLIST=["127.0.0.1"])  # the test servers are on loopback
@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "no-content-length"])
@override_settings(LLMOPS_KNOWLEDGE_MAX_UPLOAD_BYTES=PAGE_LIMIT)
def test_url_page_over_the_limit_is_not_downloaded_and_the_document_fails(
    kb: KnowledgeBase, declared: bool
) -> None:
    # given: a page streaming far more than the limit, saying its size or not
    sent: list[int] = []
    finished = threading.Event()

    class Huge(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            try:
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                if declared:
                    self.send_header("Content-Length", str(PAGE_TOTAL))
                self.end_headers()
                for _ in range(PAGE_TOTAL // PAGE_CHUNK):
                    self.wfile.write(b"owls " * (PAGE_CHUNK // 5) + b"o" * (PAGE_CHUNK % 5))
                    self.wfile.flush()
                    sent.append(PAGE_CHUNK)
                    time.sleep(0.01)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client hung up
            finally:
                finished.set()

        def log_message(self, *args: object) -> None:
            pass

    with serve(Huge) as base:
        document = make_document(kb, "", b"", source="url", source_url=f"{base}/huge.txt", title="Huge")
        # when
        document_ingest_run(document_id=document.pk)
        assert finished.wait(10)
    # then: the fetch stopped early, the document failed with the reason, and nothing was stored
    assert sum(sent) < PAGE_TOTAL // 4
    document.refresh_from_db()
    assert document.status == DocumentStatus.FAILED
    assert document.error == f"The page is over the {PAGE_LIMIT}-byte limit."
    assert bytes(document.content) == b"" and not Chunk.objects.filter(document=document).exists()


@override_settings(LLMOPS_KNOWLEDGE_URL_ALLOWLIST=["127.0.0.1"])  # the test servers are on loopback
@override_settings(LLMOPS_KNOWLEDGE_FETCH_SECONDS=1)
def test_a_page_trickled_slower_than_the_fetch_deadline_fails_the_document(kb: KnowledgeBase) -> None:
    # given: a small page sent one byte every 0.2 s (each read is quick, the whole would take 40 s)
    class Trickle(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            try:
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                for _ in range(200):
                    self.wfile.write(b"o")
                    self.wfile.flush()
                    time.sleep(0.2)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client hung up

        def log_message(self, *args: object) -> None:
            pass

    with serve(Trickle) as base:
        document = make_document(kb, "", b"", source="url", source_url=f"{base}/slow.txt", title="Slow")
        started = time.monotonic()
        # when
        document_ingest_run(document_id=document.pk)
        elapsed = time.monotonic() - started
    # then: the fetch gave up at the deadline, with the reason, and stored nothing
    assert elapsed < 5
    document.refresh_from_db()
    assert document.status == DocumentStatus.FAILED
    assert document.error == "The page took longer than 1 s to download."
    assert not Chunk.objects.filter(document=document).exists()


@override_settings(LLMOPS_KNOWLEDGE_URL_ALLOWLIST=["127.0.0.1"])  # the test servers are on loopback
def test_url_that_redirects_to_a_private_address_fails_at_fetch(kb: KnowledgeBase) -> None:
    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(302)
            self.send_header("Location", "http://10.1.2.3/internal")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    with serve(Redirect) as base:
        document = make_document(kb, "", b"", source="url", source_url=f"{base}/page", title="x")
        document_ingest_run(document_id=document.pk)
    document.refresh_from_db()
    assert document.status == DocumentStatus.FAILED and "not allowed" in document.error
    assert not Chunk.objects.filter(document=document).exists()


@pytest.mark.parametrize(("name", "content"), [
    ("spaces.txt", "\ufeff\u3000\u3000 \u00a0\n\u3000".encode()),  # a BOM and ideographic / no-break spaces
    ("scan.pdf", pdf_bytes([])),  # a PDF page without text, as a scan without OCR is
])  # fmt: skip
def test_a_document_without_text_fails_with_a_reason_and_indexes_nothing(
    kb: KnowledgeBase, name: str, content: bytes
) -> None:
    document = make_document(kb, name, content)
    document_ingest_run(document_id=document.pk)
    document.refresh_from_db()
    assert document.status == DocumentStatus.FAILED
    assert "no text" in document.error.lower() or "empty" in document.error.lower()
    assert not Chunk.objects.filter(document=document).exists()
