"""Knowledge bases as versioned resources: publish, pinned search, labels, diff, restore, copy on write,
deletes that keep what versions hold, garbage collection, and the API (roles, tenants, bad input)."""

from __future__ import annotations

import subprocess

import pytest

from llmops.accounts.models import Role, User, Workspace
from llmops.core.errors import Conflict, NotFound
from llmops.knowledge import services
from llmops.knowledge.ingestion import document_ingest_run
from llmops.knowledge.models import Chunk, Document, KnowledgeBase
from llmops.knowledge.search import knowledge_search
from llmops.knowledge.versions import (
    knowledge_garbage_collect,
    knowledge_label_set,
    knowledge_scope_resolve,
    knowledge_version_delete,
    knowledge_version_diff,
    knowledge_version_publish,
    knowledge_version_restore,
)
from llmops.runs.models import RunStatus
from llmops.runs.services import run_start
from tests.accounts.factories import MembershipFactory, UserFactory, WorkspaceFactory
from tests.conftest import client_for
from tests.deployments.factories import DeploymentFactory
from tests.knowledge.conftest import ingest_text, make_document
from tests.knowledge.factories import KnowledgeBaseFactory
from tests.runs.test_runs import wait_final
from tests.studio.factories import published_workflow

pytestmark = pytest.mark.django_db(transaction=True)
BASE = "/api/workspaces/acme/knowledge-bases/docs/"
SEVEN = "Refunds are accepted within 7 days of delivery. 退货期限为签收后七天。"
THIRTY = "Refunds are accepted within 30 days of delivery. 退货期限为签收后三十天。"


def texts(kb: KnowledgeBase, ref: str, query: str = "how many days for refunds 退货期限") -> list[str]:
    """What a search of ``ref`` finds, best first."""
    scope = knowledge_scope_resolve(workspace_id=kb.workspace_id, ref=ref)
    return [hit.text for hit in knowledge_search(knowledge_bases=[scope], query=query, top_k=3)]


def test_a_pinned_version_searches_its_snapshot_while_the_head_moves_on(
    kb: KnowledgeBase, owner: User
) -> None:
    # given: v1 with the 7-day policy
    seven = ingest_text(kb, "Policy", SEVEN)
    ingest_text(kb, "Owls", "Owls are nocturnal birds of prey.")
    v1 = knowledge_version_publish(knowledge_base=kb, user=owner, message="first policy")
    # when: the head replaces the policy
    services.document_delete(document=seven)
    ingest_text(kb, "Policy 2025", THIRTY)
    # then
    assert texts(kb, "docs:1")[0] == SEVEN
    assert texts(kb, "docs@draft")[0] == THIRTY and SEVEN not in texts(kb, "docs@draft")
    assert texts(kb, "docs")[0] == SEVEN  # "docs" alone: the latest published version
    assert v1.document_count == 2 and v1.message == "first policy" and v1.author == owner
    assert not Document.objects.filter(pk=seven.pk).exists()  # gone from the head...
    assert Document.all_objects.get(pk=seven.pk).deleted_at is not None  # ...kept for v1


def test_a_knowledge_base_never_published_answers_from_its_head(kb: KnowledgeBase) -> None:
    ingest_text(kb, "Policy", SEVEN)
    assert texts(kb, "docs")[0] == SEVEN
    with pytest.raises(NotFound, match="no version or label 'production'"):
        knowledge_scope_resolve(workspace_id=kb.workspace_id, ref="docs@production")
    with pytest.raises(NotFound, match="has no version or label 7"):
        knowledge_scope_resolve(workspace_id=kb.workspace_id, ref="docs:7")


def test_publishing_during_an_ingestion_excludes_half_ingested_documents_and_says_which(
    kb: KnowledgeBase, owner: User
) -> None:
    # given: one ready document, one new upload still queued, one being re-ingested
    ready = ingest_text(kb, "Policy", SEVEN)
    make_document(kb, "new.txt", b"A document still being ingested.", title="New upload")
    Document.objects.filter(pk=ready.pk).update(status="embedding")  # a re-ingest in flight
    # when
    version = knowledge_version_publish(knowledge_base=kb, user=owner)
    # then: the re-ingested one at its complete generation, the new one left out with the reason
    assert version.content["documents"] == {str(ready.pk): ready.active_generation}
    assert [e["title"] for e in version.excluded] == ["New upload"]
    assert "still being ingested" in version.excluded[0]["reason"]


def test_publishing_an_unchanged_head_is_refused(kb: KnowledgeBase, owner: User) -> None:
    ingest_text(kb, "Policy", SEVEN)
    knowledge_version_publish(knowledge_base=kb, user=owner)
    with pytest.raises(Conflict, match="unchanged since v1"):
        knowledge_version_publish(knowledge_base=kb, user=owner)
    assert kb.versions.count() == 1


def test_a_chunk_edit_copies_the_pinned_generation_and_the_diff_names_it(
    kb: KnowledgeBase, owner: User
) -> None:
    # given
    document = ingest_text(kb, "Policy", SEVEN)
    knowledge_version_publish(knowledge_base=kb, user=owner)
    chunk = Chunk.objects.get(document=document, generation=document.active_generation)
    # when
    edited = services.chunk_update(chunk=chunk, text=THIRTY)
    # then: the head searches the edit, v1 the original, and both chunks exist
    assert edited.pk != chunk.pk and edited.text == THIRTY
    assert texts(kb, "docs@draft")[0] == THIRTY and texts(kb, "docs:1")[0] == SEVEN
    assert Chunk.objects.get(pk=chunk.pk).text == SEVEN
    # and a second edit of the same (now unpinned) generation edits in place
    again = services.chunk_update(chunk=edited, enabled=False)
    assert again.pk == edited.pk
    knowledge_version_publish(knowledge_base=kb, user=owner)
    diff = knowledge_version_diff(knowledge_base=kb, old=1, new=2)
    assert [(d["title"], d["chunks_edited"]) for d in diff["chunks_edited"]] == [("Policy", 1)]
    assert diff["added"] == diff["removed"] == diff["re_chunked"] == [] and diff["settings"] == []


def test_the_diff_names_added_removed_re_chunked_documents_and_changed_settings(
    kb: KnowledgeBase, owner: User
) -> None:
    long_text = " ".join(f"Sentence number {i} about refunds and deliveries." for i in range(120))
    kept = ingest_text(kb, "Handbook", long_text)
    gone = ingest_text(kb, "Old FAQ", "An old question.")
    knowledge_version_publish(knowledge_base=kb, user=owner)
    services.knowledge_base_update(knowledge_base=kb, chunking={"chunk_size": 60, "chunk_overlap": 0})
    document_ingest_run(document_id=kept.pk)  # re-chunked with the new size
    services.document_delete(document=gone)
    ingest_text(kb, "New FAQ", "A new question.")
    knowledge_version_publish(knowledge_base=kb, user=owner)
    # when
    diff = knowledge_version_diff(knowledge_base=kb, old=1, new=2)
    # then
    assert [d["title"] for d in diff["added"]] == ["New FAQ"]
    assert [d["title"] for d in diff["removed"]] == ["Old FAQ"]
    [rechunked] = diff["re_chunked"]
    assert rechunked["title"] == "Handbook" and rechunked["chunks_after"] > rechunked["chunks_before"]
    assert {"field": "chunking.chunk_size", "old": 300, "new": 60} in diff["settings"]


def test_re_ingesting_keeps_the_generation_a_version_holds_until_nothing_needs_it(
    kb: KnowledgeBase, owner: User
) -> None:
    # given
    document = ingest_text(kb, "Policy", SEVEN)
    first = document.active_generation
    knowledge_version_publish(knowledge_base=kb, user=owner)
    # when: a re-ingest makes a new generation
    document_ingest_run(document_id=document.pk)
    document.refresh_from_db()
    # then: both generations are kept (the head's and v1's), garbage collection keeps both
    assert document.active_generation > first
    knowledge_garbage_collect()
    assert Chunk.objects.filter(document=document, generation=first).exists()
    assert texts(kb, "docs:1")[0] == SEVEN
    # when v1 is deleted, the next collection removes its generation and only that
    knowledge_version_delete(knowledge_base=kb, number=1)
    removed = knowledge_garbage_collect()
    assert removed["chunks"] >= 1
    assert not Chunk.objects.filter(document=document, generation=first).exists()
    assert texts(kb, "docs@draft")[0] == SEVEN


def test_garbage_collection_removes_deleted_documents_no_version_holds(
    kb: KnowledgeBase, owner: User
) -> None:
    document = ingest_text(kb, "Policy", SEVEN)
    knowledge_version_publish(knowledge_base=kb, user=owner)
    services.document_delete(document=document)
    assert knowledge_garbage_collect()["documents"] == 0  # v1 still holds it
    knowledge_version_delete(knowledge_base=kb, number=1)
    assert knowledge_garbage_collect()["documents"] == 1
    assert not Document.all_objects.filter(pk=document.pk).exists()
    assert not Chunk.objects.filter(document_id=document.pk).exists()


def test_uploading_a_document_deleted_from_the_head_again_brings_it_back(
    kb: KnowledgeBase, owner: User
) -> None:
    document = ingest_text(kb, "Policy", SEVEN)
    knowledge_version_publish(knowledge_base=kb, user=owner)
    services.document_delete(document=document)
    again = services.document_create_from_text(knowledge_base=kb, title="Policy", text=SEVEN)
    assert again.pk == document.pk and again.deleted_at is None and again.status == "queued"


def test_labels_move_and_a_labelled_version_cannot_be_deleted(kb: KnowledgeBase, owner: User) -> None:
    ingest_text(kb, "Policy", SEVEN)
    knowledge_version_publish(knowledge_base=kb, user=owner)
    ingest_text(kb, "Owls", "Owls are nocturnal birds of prey.")
    knowledge_version_publish(knowledge_base=kb, user=owner)
    knowledge_label_set(knowledge_base=kb, name="production", number=1, user=owner)
    assert knowledge_scope_resolve(workspace_id=kb.workspace_id, ref="docs@production").ref == "docs:1"
    knowledge_label_set(knowledge_base=kb, name="production", number=2, user=owner)
    assert knowledge_scope_resolve(workspace_id=kb.workspace_id, ref="docs@production").ref == "docs:2"
    with pytest.raises(Conflict, match="labelled production"):
        knowledge_version_delete(knowledge_base=kb, number=2)
    knowledge_version_delete(knowledge_base=kb, number=1)
    assert list(kb.versions.values_list("number", flat=True)) == [2]


def test_restore_makes_the_head_what_the_version_was(kb: KnowledgeBase, owner: User) -> None:
    # given: v1 = the 7-day policy with chunk size 300; the head then moved on
    seven = ingest_text(kb, "Policy", SEVEN)
    knowledge_version_publish(knowledge_base=kb, user=owner)
    services.document_delete(document=seven)
    thirty = ingest_text(kb, "Policy 2025", THIRTY)
    services.knowledge_base_update(knowledge_base=kb, retrieval={"top_k": 9})
    # when
    knowledge_version_restore(knowledge_base=kb, number=1, user=owner)
    # then
    kb.refresh_from_db()
    assert kb.retrieval["top_k"] == 4
    assert list(Document.objects.filter(knowledge_base=kb).values_list("title", flat=True)) == ["Policy"]
    assert not Document.all_objects.filter(pk=thirty.pk).exists()  # no version held it
    assert texts(kb, "docs@draft")[0] == SEVEN


def test_restore_is_refused_while_a_document_is_ingesting(kb: KnowledgeBase, owner: User) -> None:
    ingest_text(kb, "Policy", SEVEN)
    knowledge_version_publish(knowledge_base=kb, user=owner)
    make_document(kb, "new.txt", b"Being ingested.", title="Busy one")
    with pytest.raises(Conflict, match="Busy one"):
        knowledge_version_restore(knowledge_base=kb, number=1, user=owner)


def pinned_dsl(ref: str) -> dict[str, object]:
    """start(question) -> knowledge_retrieval(ref) -> end(context)."""
    return {
        "inputs": [{"name": "question", "type": "text", "required": True}],
        "nodes": [
            {"id": "start", "type": "start"},
            {
                "id": "search",
                "type": "knowledge_retrieval",
                "config": {"query": "{{ start.question }}", "knowledge_base_ids": [ref], "top_k": 1},
            },
            {"id": "end", "type": "end", "config": {"outputs": {"context": "search.context"}}},
        ],
        "edges": [{"source": "start", "target": "search"}, {"source": "search", "target": "end"}],
    }


@pytest.mark.integration
def test_a_pinned_workflow_version_answers_from_its_snapshot_and_records_it(
    celery_worker_process: subprocess.Popen[bytes], kb: KnowledgeBase, owner: User
) -> None:
    # given: production = v1 (7 days); the head then says 30 days
    seven = ingest_text(kb, "Policy", SEVEN)
    knowledge_version_publish(knowledge_base=kb, user=owner)
    knowledge_label_set(knowledge_base=kb, name="production", number=1, user=owner)
    services.document_delete(document=seven)
    ingest_text(kb, "Policy 2025", THIRTY)
    pinned = published_workflow(workspace=kb.workspace, slug="pinned", draft=pinned_dsl("docs@production"))
    live = published_workflow(workspace=kb.workspace, slug="live", draft=pinned_dsl("docs@draft"))
    question = {"question": "退货期限是多少天"}
    # when
    old = wait_final(run_start(workflow=pinned, inputs=question, user=owner).id, timeout=60)
    new = wait_final(run_start(workflow=live, inputs=question, user=owner).id, timeout=60)
    # then
    assert old.status == new.status == RunStatus.SUCCEEDED, (old.error, new.error)
    assert "七天" in old.outputs["context"] and "三十天" in new.outputs["context"]
    assert old.knowledge_versions == {"docs@production": "docs:1"}
    assert new.knowledge_versions == {"docs@draft": "docs@draft"}


def test_a_version_a_deployment_searches_cannot_be_deleted(kb: KnowledgeBase, owner: User) -> None:
    ingest_text(kb, "Policy", SEVEN)
    knowledge_version_publish(knowledge_base=kb, user=owner)
    workflow = published_workflow(workspace=kb.workspace, slug="pinned", draft=pinned_dsl("docs:1"))
    DeploymentFactory.create(workspace=kb.workspace, workflow=workflow, slug="support-bot")
    with pytest.raises(Conflict, match="support-bot"):
        knowledge_version_delete(knowledge_base=kb, number=1)


def test_the_versions_api_publishes_lists_diffs_labels_and_hit_tests_a_version(
    kb: KnowledgeBase, owner: User, member: User
) -> None:
    ingest_text(kb, "Policy", SEVEN)
    client = client_for(member)
    # publish
    published = client.post(f"{BASE}publish/", {"message": "launch"}, format="json")
    assert published.status_code == 201, published.json()
    assert published.json()["number"] == 1 and published.json()["document_count"] == 1
    assert client.post(f"{BASE}publish/", {}, format="json").status_code == 409
    # the head moves on
    services.chunk_update(chunk=Chunk.objects.get(knowledge_base=kb), text=THIRTY)
    assert client.post(f"{BASE}publish/", {}, format="json").status_code == 201
    # list, detail, label, diff
    assert [v["number"] for v in client.get(f"{BASE}versions/").json()] == [2, 1]
    detail = client.get(f"{BASE}versions/1/").json()
    assert [d["title"] for d in detail["documents"]] == ["Policy"] and detail["settings"]["dims"] == 384
    assert (
        client.put(f"{BASE}labels/", {"name": "production", "version": 1}, format="json").status_code == 200
    )
    assert client.get(f"{BASE}versions/1/").json()["labels"] == ["production"]
    diff = client.get(f"{BASE}diff/?from=1&to=2").json()
    assert diff["chunks_edited"][0]["chunks_edited"] == 1
    # hit testing a version, the head, a label
    query = {"query": "refund days", "top_k": 1}
    for version, expected, searched in [("1", SEVEN, "docs:1"), ("draft", THIRTY, "docs@draft"),
                                        ("production", SEVEN, "docs:1")]:  # fmt: skip
        answer = client.post(f"{BASE}hit-testing/", {**query, "version": version}, format="json").json()
        assert (answer["records"][0]["text"], answer["searched"]) == (expected, searched)
    # bad input: unknown version, label on a version that does not exist, deleting a labelled one
    missing = client.post(f"{BASE}hit-testing/", {**query, "version": "9"}, format="json")
    assert missing.status_code == 404 and "no version or label" in missing.json()["error"]["message"]
    bad_label = client.put(f"{BASE}labels/", {"name": "staging", "version": 9}, format="json")
    assert bad_label.status_code == 404
    refused = client.delete(f"{BASE}versions/1/")
    assert refused.status_code == 409 and "production" in refused.json()["error"]["message"]
    assert client.delete(f"{BASE}versions/2/").status_code == 204
    # restore through the API
    restored = client.post(f"{BASE}restore/", {"number": 1}, format="json")
    assert restored.status_code == 200, restored.json()
    assert texts(kb, "docs@draft")[0] == SEVEN


def test_versions_of_another_workspace_are_not_found_and_viewers_cannot_publish(
    kb: KnowledgeBase, owner: User, outsider: User
) -> None:
    viewer = MembershipFactory.create(
        workspace=kb.workspace, user=UserFactory.create(username="vera"), role=Role.VIEWER
    ).user
    ingest_text(kb, "Policy", SEVEN)
    knowledge_version_publish(knowledge_base=kb, user=owner)
    other = WorkspaceFactory.create(slug="rival")
    KnowledgeBaseFactory.create(workspace=other, slug="docs")
    assert client_for(outsider).get(f"{BASE}versions/").status_code == 404
    assert client_for(outsider).post(f"{BASE}publish/", {}, format="json").status_code == 404
    assert client_for(viewer).get(f"{BASE}versions/1/").status_code == 200
    assert client_for(viewer).post(f"{BASE}publish/", {}, format="json").status_code == 403
    assert client_for(viewer).delete(f"{BASE}versions/1/").status_code == 403
    # a reference never crosses workspaces
    with pytest.raises(NotFound):
        knowledge_scope_resolve(workspace_id=other.pk, ref="docs:1")


def test_the_external_knowledge_endpoint_searches_a_pinned_version(
    kb: KnowledgeBase, workspace: Workspace, owner: User
) -> None:
    ingest_text(kb, "Policy", SEVEN)
    knowledge_version_publish(knowledge_base=kb, user=owner)
    services.chunk_update(chunk=Chunk.objects.get(knowledge_base=kb), text=THIRTY)
    client = client_for(owner)
    body = {"query": "refund days", "retrieval_setting": {"top_k": 1}}
    url = "/api/workspaces/acme/external-knowledge/retrieval"
    pinned = client.post(url, {**body, "knowledge_id": "docs:1"}, format="json").json()
    head = client.post(url, {**body, "knowledge_id": "docs@draft"}, format="json").json()
    assert pinned["records"][0]["content"] == SEVEN and head["records"][0]["content"] == THIRTY
    unknown = client.post(url, {**body, "knowledge_id": "docs:5"}, format="json")
    assert unknown.status_code == 404 and unknown.json()["error_code"] == 2001
