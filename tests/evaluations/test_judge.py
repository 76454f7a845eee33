"""The LLM judge and embedding similarity through the metered gateway against a scripted OpenAI-protocol
server (a judge that answers garbage fails the item, not the run; the real local model judges in
``test_evaluators``), and the agreement and bootstrap statistics on known sets."""

from __future__ import annotations

import json
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from llmops.accounts.models import Workspace
from llmops.evaluations.evaluators import EvalCase, Score, evaluate, validate_config
from llmops.evaluations.selectors import cohens_kappa, paired_bootstrap
from llmops.providers.gateway import PlatformModelGateway
from llmops.usage.models import UsageRecord, UsageSource
from tests.providers.factories import ModelEndpointFactory, endpoint_config, publish
from tests.support.openai_test_server import OpenAITestServer, embeddings, ok
from workflows import CallContext

RUBRIC = "The answer names the right city."
CASE = EvalCase(inputs={"question": "What is the capital of France?"}, output="Paris.", expected="Paris")


def _endpoint_sync(workspace: Workspace, slug: str, url: str, **config: Any) -> None:
    endpoint = ModelEndpointFactory.create(
        workspace=workspace, slug=slug, draft=endpoint_config(base_url=url, **config)
    )
    publish(endpoint)


async def _endpoint(workspace: Workspace, slug: str, url: str, **config: Any) -> None:
    await sync_to_async(_endpoint_sync)(workspace, slug, url, **config)


async def _score(workspace: Workspace, kind: str, config: dict[str, Any], case: EvalCase = CASE) -> Score:
    gateway = PlatformModelGateway(workspace=workspace, source=UsageSource.EVALUATION, run_id="evaluation-1")
    context = CallContext(run_id="evaluation-1", node_id="case-1#0:judge")
    return await evaluate(kind, validate_config(kind, config), case, gateway=gateway, context=context)


@pytest.mark.django_db(transaction=True)
async def test_the_judge_scales_its_grade_and_is_metered_as_evaluation(
    workspace: Workspace, openai_test_server: OpenAITestServer
) -> None:
    await _endpoint(workspace, "judge", openai_test_server.url)
    openai_test_server.script(ok(json.dumps({"score": 4, "reason": "names Paris"}), usage=(80, 9)))
    score = await _score(workspace, "llm_judge", {"model": "judge", "rubric": RUBRIC})
    assert score.score == 0.75 and score.passed and score.reason == "names Paris"
    sent = openai_test_server.requests[0].json
    assert sent["response_format"]["type"] == "json_schema" and RUBRIC in sent["messages"][0]["content"]
    record = await UsageRecord.objects.aget(workspace=workspace)
    assert record.source == UsageSource.EVALUATION and record.run_id == "evaluation-1"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("reply", ["I cannot grade this.", '{"score": 9}', '{"score": "high"}'])
async def test_a_judge_without_a_parsable_grade_fails_the_item_with_what_it_said(
    workspace: Workspace, openai_test_server: OpenAITestServer, reply: str
) -> None:
    await _endpoint(workspace, "judge", openai_test_server.url)
    openai_test_server.script(ok(reply))
    score = await _score(workspace, "llm_judge", {"model": "judge", "rubric": RUBRIC})
    assert score.error and "no parsable score" in score.error and not score.passed


@pytest.mark.django_db(transaction=True)
async def test_an_unreachable_judge_fails_the_item_not_the_run(workspace: Workspace) -> None:
    await _endpoint(workspace, "judge", "http://127.0.0.1:9/v1", max_retries=0)
    score = await _score(workspace, "llm_judge", {"model": "judge", "rubric": RUBRIC})
    assert score.error and score.error.startswith("llm_judge evaluator failed")


@pytest.mark.django_db(transaction=True)
async def test_embedding_similarity_compares_output_and_expected(
    workspace: Workspace, openai_test_server: OpenAITestServer
) -> None:
    await _endpoint(workspace, "embedder", openai_test_server.url, model_type="embedding")
    openai_test_server.script(embeddings([[1.0, 0.0, 0.0], [0.8, 0.6, 0.0]]))
    score = await _score(workspace, "embedding_similarity", {"model": "embedder", "threshold": 0.75})
    assert score.score == pytest.approx(0.8) and score.passed


def test_cohens_kappa_on_known_sets() -> None:
    # 50 pairs: 20 both pass, 15 both fail, 5 judge-only pass, 10 human-only pass (a textbook example)
    pairs = [(True, True)] * 20 + [(False, False)] * 15 + [(True, False)] * 5 + [(False, True)] * 10
    assert cohens_kappa(pairs) == pytest.approx(0.4)
    assert cohens_kappa([(True, True), (False, False)]) == 1.0
    assert cohens_kappa([]) is None


def test_the_paired_bootstrap_interval_holds_the_true_difference() -> None:
    differences = [1.0] * 30 + [0.0] * 60 + [-1.0] * 10  # mean 0.2
    low, high = paired_bootstrap(differences)
    assert low < 0.2 < high and low > 0.0
    assert paired_bootstrap([0.0] * 10) == (0.0, 0.0)
