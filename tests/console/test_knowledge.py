"""Knowledge bases in a real browser against the real platform: a knowledge base created in the form with the
workspace's embedding endpoint (the real local multilingual model), two documents (Chinese and English) uploaded
at once whose progress bars reach done from the ingestion events of a Celery worker, files of an unsupported
format or over the server's size limit refused before upload, a hit test that finds the expected chunk with its
scores, and a chunk edited in the browser that a vector search then finds by its new text."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings

from llmops.accounts.models import Role, Workspace
from llmops.deployments.models import ApiKey
from llmops.knowledge.models import Document, DocumentStatus, KnowledgeBase
from tests.accounts.factories import WorkspaceFactory
from tests.console.conftest import screenshot, sign_in
from tests.console.test_browser import person
from tests.knowledge.factories import (
    KnowledgeBaseFactory,
    embedding_endpoint,
    multilingual_embedding_endpoint,
)
from tests.providers.factories import ModelEndpointFactory, endpoint_config

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration, pytest.mark.timeout(300)]

DOCS = Path(__file__).resolve().parents[1] / "data" / "retrieval" / "docs"
ENGLISH, CHINESE = "en-vector-indexes.md", "zh-chunking.md"
PASTED = "The shop opens at 9 am on weekdays and at 10 am on Saturday; it is closed on Sunday."
EDITED = "Zebras are African horses with black and white stripes."


@pytest.fixture
def team(db: Any) -> Workspace:
    return WorkspaceFactory.create(slug="team", name="Team 团队")


# Records each upload row's phases as the page shows them (every 20 ms), to check the bars moved through
# ingestion rather than jumping to done.
WATCH_PHASES = """() => {
  window.phasesSeen = {};
  setInterval(() => {
    for (const row of document.querySelectorAll('[data-testid="upload"]')) {
      const seen = (window.phasesSeen[row.dataset.name] ??= []);
      if (seen[seen.length - 1] !== row.dataset.phase) seen.push(row.dataset.phase);
    }
  }, 20);
}"""


def upload_row(page: Any, name: str, phase: str) -> Any:
    return page.locator(f'[data-testid="upload"][data-name="{name}"][data-phase="{phase}"]')


def test_upload_two_documents_watch_them_finish_and_hit_test_a_question(
    page: Any,
    asgi_server: str,
    celery_worker_process: subprocess.Popen[bytes],
    local_embedding_model_url: str,
    team: Workspace,
) -> None:
    person(team, "ann", Role.OWNER)
    multilingual_embedding_endpoint(team, local_embedding_model_url)
    ModelEndpointFactory.create(workspace=team, slug="chatty", draft=endpoint_config(model_type="chat"))
    sign_in(page, asgi_server, "ann", "/w/team/knowledge")
    page.get_by_text("No knowledge bases yet.").wait_for()

    # created in the form; the picker offers the workspace's embedding endpoints only
    page.get_by_role("button", name="New knowledge base").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name").fill("Notes 笔记")
    dialog.get_by_label("Slug").fill("notes")
    dialog.get_by_role("combobox", name="Embedding endpoint").click()
    assert page.get_by_role("option", name="(chatty)").count() == 0
    page.get_by_role("option", name="(multilingual)").click()
    dialog.get_by_label("Overlap").fill("400")  # longer than the chunks: the API's error lands on its field
    dialog.get_by_role("button", name="Create").click()
    dialog.get_by_text("An integer between 0 and chunk_size - 1.").wait_for()
    assert not KnowledgeBase.objects.exists()
    dialog.get_by_label("Overlap").fill("30")
    dialog.get_by_role("button", name="Create").click()
    page.wait_for_url("**/w/team/knowledge/notes")
    kb = KnowledgeBase.objects.get(workspace=team, slug="notes")
    assert (kb.embedding_model, kb.chunking["chunk_size"]) == ("multilingual", 300)
    page.get_by_text("Live").wait_for()  # the workspace websocket is open

    # refused before upload: an unsupported format and a file over the server's limit, dropped on the zone
    limit = settings.LLMOPS_KNOWLEDGE_MAX_UPLOAD_BYTES
    dropped = page.evaluate_handle(
        """(limit) => {
            const dt = new DataTransfer();
            dt.items.add(new File(['x'], 'slides.pptx'));
            dt.items.add(new File([new Uint8Array(limit + 1)], 'huge.pdf'));
            return dt;
        }""",
        limit,
    )
    page.get_by_test_id("dropzone").dispatch_event("drop", {"dataTransfer": dropped})
    upload_row(page, "slides.pptx", "refused").get_by_text(
        "Not sent: .pptx is not a supported format"
    ).wait_for()
    upload_row(page, "huge.pdf", "refused").get_by_text(
        re.compile(rf"is over the server's limit of [\d.]+ [KMG]?B \({limit} bytes\)")
    ).wait_for()

    # two documents at once; both bars go from the upload through ingestion to done
    page.evaluate(WATCH_PHASES)
    page.get_by_label("Choose files").set_input_files([str(DOCS / CHINESE), str(DOCS / ENGLISH)])
    for name in (CHINESE, ENGLISH):
        upload_row(page, name, "ready").wait_for(timeout=120_000)
        bar = page.get_by_role("progressbar", name=name).first
        assert bar.get_attribute("aria-valuenow") == "100"
    screenshot(page, "knowledge-uploads")
    seen = page.evaluate("window.phasesSeen")
    for name in (CHINESE, ENGLISH):
        assert seen[name][-1] == "ready", seen
        assert {"queued", "parsing", "chunking", "embedding"} & set(seen[name]), (
            seen
        )  # watched, not just done
    documents = Document.objects.filter(knowledge_base=kb)
    assert sorted(documents.values_list("title", "status")) == [
        (ENGLISH, DocumentStatus.READY),
        (CHINESE, DocumentStatus.READY),
    ]
    assert all(d.chunk_count > 0 for d in documents)
    page.locator(f'[data-testid="document"][data-title="{CHINESE}"]').get_by_text("Done").wait_for()
    assert not Document.objects.filter(title__in=["slides.pptx", "huge.pdf"]).exists()

    # hit testing finds the expected chunk, with each mode's score and its source document
    page.get_by_role("tab", name="Hit testing").click()
    page.get_by_label("Question").fill("What is the out-of-the-box ef_search value in pgvector?")
    page.get_by_role("button", name="Test").click()
    page.get_by_test_id("hit").first.wait_for()
    assert page.get_by_test_id("hit").count() == 4  # the knowledge base's top k
    expected = page.get_by_test_id("hit").filter(has_text="`hnsw.ef_search`, default 40")
    expected.get_by_text(ENGLISH).wait_for()
    for kind, label in (("fused", "Fused"), ("vector", "Vector"), ("full_text", "Full text")):
        assert re.fullmatch(
            rf"{label} \d+\.\d{{4}}", expected.get_by_test_id(f"score-{kind}").inner_text(), re.I
        )
    screenshot(page, "knowledge-hit-testing")

    # a chunk edited in the browser is embedded again: a vector search finds it by its new meaning
    page.get_by_role("tab", name="Documents").click()
    page.locator(f'[data-testid="document"][data-title="{CHINESE}"]').get_by_role(
        "button", name="Chunks"
    ).click()
    first = page.get_by_role("dialog").get_by_test_id("chunk").first
    first.get_by_role("button", name="Edit").click()
    first.get_by_label("Chunk text").fill(EDITED)
    first.get_by_role("button", name="Save and re-embed").click()
    first.get_by_text(EDITED).wait_for()
    page.keyboard.press("Escape")
    page.get_by_role("tab", name="Hit testing").click()
    page.get_by_label("Question").fill("Which animal has black and white stripes?")
    page.get_by_role("radiogroup", name="Mode").get_by_text("Vector").click()
    page.get_by_role("button", name="Test").click()
    best = page.get_by_test_id("hit").first
    best.get_by_text(EDITED).wait_for()
    best.get_by_text(CHINESE).wait_for()
    assert best.get_by_test_id("score-full_text").inner_text() == "FULL TEXT —"  # vector mode only


def test_pasted_text_the_reembed_switch_and_the_dify_endpoint_with_a_key_made_in_the_console(
    page: Any,
    asgi_server: str,
    celery_worker_process: subprocess.Popen[bytes],
    local_embedding_model_url: str,
    team: Workspace,
) -> None:
    person(team, "ann", Role.OWNER)
    embedding_endpoint(team, local_embedding_model_url)  # minilm, 384 dims
    multilingual_embedding_endpoint(team, local_embedding_model_url)  # 512 dims
    KnowledgeBaseFactory.create(workspace=team, slug="notes", name="Notes", embedding_model="minilm")
    sign_in(page, asgi_server, "ann", "/w/team/knowledge/notes")

    # pasted text is ingested by the worker like a file
    page.get_by_label("Title", exact=True).fill("Opening hours")
    page.get_by_label("Text", exact=True).fill(PASTED)
    page.get_by_role("button", name="Add text").click()
    page.locator('[data-testid="document"][data-title="Opening hours"]').get_by_text("Done").wait_for(
        timeout=60_000
    )
    page.get_by_text("minilm · 384d").wait_for()

    # the re-embed switch: a new endpoint re-embeds every document, then the knowledge base flips to it
    page.get_by_role("tab", name="Settings").click()
    page.get_by_role("combobox", name="Embedding endpoint").click()
    page.get_by_role("option", name="(multilingual)").click()
    page.get_by_text("re-embeds every document").wait_for()
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text("multilingual · 512d").wait_for(timeout=60_000)
    kb = KnowledgeBase.objects.get(slug="notes")
    assert (kb.active_embedding_model, kb.dims, kb.reembedding) == ("multilingual", 512, False)

    # Dify's external knowledge API: the endpoint shown and a key made here answer a retrieval
    endpoint = page.get_by_test_id("external-endpoint").inner_text()
    assert endpoint == f"http://{asgi_server}/api/workspaces/team/external-knowledge"
    assert page.get_by_test_id("external-id").inner_text() == "notes"
    page.get_by_role("button", name="Create API key").click()
    key = page.get_by_test_id("api-key").inner_text()
    assert ApiKey.objects.get(name="Dify: notes").scopes == ["knowledge"]  # it can search, nothing else
    screenshot(page, "knowledge-settings")
    response = httpx.post(
        f"{endpoint}/retrieval",
        headers={"Authorization": f"Bearer {key}"},
        json={
            "knowledge_id": "notes",
            "query": "When does the shop open on Saturday?",
            "retrieval_setting": {"top_k": 1},
        },
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert [r["title"] for r in response.json()["records"]] == ["Opening hours"]
    console = httpx.get(
        f"http://{asgi_server}/api/workspaces/team/knowledge-bases/",
        headers={"Authorization": f"Bearer {key}"},
    )
    assert console.status_code == 401  # not a login
