"""URL documents have their own allow-list (empty in every mode): an import cannot read the platform's own
pages or other internal services, directly or through a redirect, even in development where model endpoints
may reach loopback."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import override_settings

from llmops.accounts.models import User, Workspace
from llmops.knowledge.ingestion import document_ingest_run
from llmops.knowledge.models import Chunk, Document, DocumentStatus, KnowledgeBase
from llmops.settings import env
from tests.conftest import client_for
from tests.knowledge.conftest import make_document
from tests.knowledge.factories import KnowledgeBaseFactory
from tests.support.scripted_network import RecordingServer, recording_servers

pytestmark = pytest.mark.django_db(transaction=True)

DOCUMENTS = "/api/workspaces/acme/knowledge-bases/docs/documents/"
INTERNAL_PAGE = b'{"status": "ready", "checks": {"database": "postgresql on 10.0.0.12"}}'


@pytest.fixture
def docs(workspace: Workspace) -> KnowledgeBase:
    return KnowledgeBaseFactory.create(workspace=workspace, slug="docs")


def test_the_url_allowlist_is_its_own_and_empty_in_development() -> None:
    assert "127.0.0.0/8" in settings.LLMOPS_OUTBOUND_ALLOWLIST  # model endpoints may reach loopback here
    assert settings.LLMOPS_KNOWLEDGE_URL_ALLOWLIST == []


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]"])
def test_a_url_on_loopback_is_refused_by_the_api(docs: KnowledgeBase, owner: User, host: str) -> None:
    # given the platform's own readiness page (a real server on loopback)
    with recording_servers(RecordingServer(body=INTERNAL_PAGE)) as (internal,):
        url = f"http://{host}:{internal.port}/readyz"
        # when
        response = client_for(owner).post(DOCUMENTS, {"url": url}, format="json")
    # then
    assert response.status_code == 400, response.content
    reason = " ".join(response.json()["error"]["fields"]["url"])
    assert "LLMOPS_KNOWLEDGE_URL_ALLOWLIST" in reason
    assert internal.requests == [] and not Document.objects.exists()


def test_a_stored_url_on_loopback_fails_at_fetch_with_the_reason(docs: KnowledgeBase) -> None:
    # given a URL document that reached the queue (stored before this rule, or by another path)
    with recording_servers(RecordingServer(body=INTERNAL_PAGE)) as (internal,):
        document = make_document(docs, "", b"", source="url", source_url=f"{internal.url}/readyz", title="x")
        # when
        document_ingest_run(document_id=document.pk)
    # then
    document.refresh_from_db()
    assert document.status == DocumentStatus.FAILED
    assert "loopback" in document.error and "LLMOPS_KNOWLEDGE_URL_ALLOWLIST" in document.error
    assert internal.requests == [] and not Chunk.objects.filter(document=document).exists()


@override_settings(LLMOPS_KNOWLEDGE_URL_ALLOWLIST=["127.0.0.1"])
def test_a_redirect_from_an_allowed_host_to_another_internal_address_is_refused(docs: KnowledgeBase) -> None:
    # given an allow-listed page server that redirects to an internal service on another loopback address
    internal = RecordingServer(body=INTERNAL_PAGE, host="127.0.0.2")
    with recording_servers(internal, RecordingServer(redirect_to="")) as (_, front):
        front.redirect_to = internal.url
        document = make_document(docs, "", b"", source="url", source_url=f"{front.url}/readyz", title="x")
        # when
        document_ingest_run(document_id=document.pk)
    # then the page server was asked, the internal one never was
    document.refresh_from_db()
    assert front.requests and internal.requests == []
    assert document.status == DocumentStatus.FAILED and "127.0.0.2" in document.error
    assert not Chunk.objects.filter(document=document).exists()


def test_a_malformed_network_in_the_allowlist_stops_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMOPS_KNOWLEDGE_URL_ALLOWLIST", "10.0.0.0/33")
    with pytest.raises(env.SettingError, match="LLMOPS_KNOWLEDGE_URL_ALLOWLIST"):
        env.env_allowlist("LLMOPS_KNOWLEDGE_URL_ALLOWLIST", [])
