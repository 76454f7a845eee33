"""The retrieval-quality harness as an evaluator: over the same questions, a run's mean score is the
harness's MRR and its pass rate the harness's hit@k."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync

from llmops.accounts.models import Workspace
from llmops.core.errors import ValidationError
from llmops.evaluations.evaluators import EvalCase, evaluate, validate_config
from llmops.knowledge.retrieval_quality import measure, search_texts
from tests.knowledge import retrieval_set
from tests.knowledge.factories import KnowledgeBaseFactory, multilingual_embedding_endpoint

DOCS = {"zh-chunking.md", "en-rag-pipeline.md"}


@pytest.mark.django_db(transaction=True)
def test_the_retrieval_evaluator_agrees_with_the_harness(
    workspace: Workspace, local_embedding_model_url: str
) -> None:
    multilingual_embedding_endpoint(workspace, local_embedding_model_url)
    kb = KnowledgeBaseFactory.create(workspace=workspace, slug="notes", embedding_model="multilingual")
    retrieval_set.ingest(kb, sorted(DOCS))
    questions = retrieval_set.questions(DOCS)
    config = validate_config("retrieval", {"knowledge_base": "notes", "hit_at": 5})
    scores = [
        async_to_sync(evaluate)(
            "retrieval",
            config,
            EvalCase(inputs={"question": q.question}, output="", expected=q.answer),
            workspace_id=workspace.pk,
        )
        for q in questions
    ]
    harness = measure(search_texts([kb]), questions, modes=["hybrid"])["hybrid"].overall
    assert sum(s.score for s in scores) / len(scores) == pytest.approx(harness.mrr)
    assert sum(s.passed for s in scores) / len(scores) == pytest.approx(harness.hit_at[5])


def test_a_retrieval_evaluator_needs_a_knowledge_base_and_sane_depths() -> None:
    with pytest.raises(ValidationError) as missing:
        validate_config("retrieval", {})
    assert "config.knowledge_base" in missing.value.fields
    with pytest.raises(ValidationError) as deep:
        validate_config("retrieval", {"knowledge_base": "kb", "top_k": 1000})
    assert "config.top_k" in deep.value.fields
