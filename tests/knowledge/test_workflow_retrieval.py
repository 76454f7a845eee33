"""The knowledge_retrieval node inside a workflow run on a real worker returns cited chunks."""

from __future__ import annotations

import subprocess

import pytest

from llmops.accounts.models import User
from llmops.knowledge.models import KnowledgeBase
from llmops.runs.models import NodeRun, RunStatus
from llmops.runs.services import run_start
from tests.knowledge.conftest import ingest_text
from tests.runs.test_runs import wait_final
from tests.studio.factories import published_workflow

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


def retrieval_dsl() -> dict[str, object]:
    """start(question) -> knowledge_retrieval(docs, hybrid) -> end(result, context)."""
    return {
        "inputs": [{"name": "question", "type": "text", "required": True}],
        "nodes": [
            {"id": "start", "type": "start"},
            {
                "id": "search",
                "type": "knowledge_retrieval",
                "config": {"query": "{{ start.question }}", "knowledge_base_ids": ["docs"], "top_k": 2},
            },
            {
                "id": "end",
                "type": "end",
                "config": {"outputs": {"chunks": "search.result", "context": "search.context"}},
            },
        ],
        "edges": [{"source": "start", "target": "search"}, {"source": "search", "target": "end"}],
    }


def test_knowledge_retrieval_node_returns_cited_chunks_in_a_run(
    celery_worker_process: subprocess.Popen[bytes], kb: KnowledgeBase, owner: User
) -> None:
    # given
    ingest_text(kb, "Refund policy", "用户在签收商品后七天内可以申请无理由退货，运费由商家承担。")
    ingest_text(kb, "Owls", "Owls are nocturnal birds of prey that hunt mice.")
    workflow = published_workflow(workspace=kb.workspace, slug="qa", draft=retrieval_dsl())
    # when
    run = wait_final(
        run_start(workflow=workflow, inputs={"question": "退货运费谁承担"}, user=owner).id, timeout=60
    )
    # then
    assert run.status == RunStatus.SUCCEEDED, run.error
    top = run.outputs["chunks"][0]
    assert top["document_title"] == "Refund policy" and top["position"] == 0 and top["score"] > 0
    assert "退货" in top["text"] and top["metadata"]["document_id"]
    assert "退货" in run.outputs["context"]
    assert NodeRun.objects.get(run=run, node_id="search").status == "succeeded"
