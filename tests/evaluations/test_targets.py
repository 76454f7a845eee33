"""Evaluation targets other than workflows, on a real Celery worker: a prompt version, a chain version and a
deployment (its chain at its label); the promotion gate on a prompt's label; bad targets that create nothing.

The model is the scripted OpenAI-protocol server: each item's call takes the next scripted answer (one slot,
so items go in dataset order).
"""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from llmops.accounts.models import User, Workspace
from llmops.chains.content import chain_content_normalize
from llmops.chains.models import Chain
from llmops.core import versioning
from llmops.deployments.models import Deployment
from llmops.evaluations.models import (
    EvaluationItem,
    EvaluationRun,
    GateDecision,
    ItemStatus,
    RunStatus,
    TargetKind,
)
from llmops.prompts.models import Prompt
from llmops.usage.models import UsageRecord, UsageSource
from tests.chains.conftest import chain_content, make_summarize_prompt
from tests.conftest import client_for
from tests.evaluations.factories import published_dataset
from tests.evaluations.test_evaluation_runs import wait_run
from tests.prompts.factories import PromptFactory, chat_content
from tests.providers.factories import ModelEndpointFactory, endpoint_config
from tests.support.openai_test_server import OpenAITestServer, ok, status

BASE = "/api/workspaces/acme/"
TOPICS = {
    "items": [
        {"id": "cats", "inputs": {"topic": "cats"}, "expected": "Cats purr."},
        {"id": "tea", "inputs": {"topic": "茶"}, "expected": "茶是一种饮料。"},
    ]
}
MENTIONS = [{"name": "mentions", "kind": "contains", "config": {"value": "purr"}}]


@pytest.fixture
def endpoint(workspace: Workspace, openai_test_server: OpenAITestServer) -> Any:
    """Model endpoint ``local`` on the scripted server (prices 1 and 2 per million tokens)."""
    return ModelEndpointFactory.create(
        workspace=workspace, slug="local", draft=endpoint_config(base_url=openai_test_server.url),
        credentials={"api_key": "sk-t"},
    )  # fmt: skip


def _prompt(workspace: Workspace, slug: str = "about", model: str | None = "local") -> Prompt:
    prompt = PromptFactory.create(workspace=workspace, slug=slug, draft=chat_content(model=model))
    versioning.version_publish(resource=prompt, user=None, message="v1")
    return prompt


def _chain(workspace: Workspace, slug: str, **content: Any) -> Chain:
    """A chain over the ``summarize`` prompt (which names model ``local``), published as v1."""
    make_summarize_prompt(workspace)
    draft = chain_content_normalize(chain_content(**content), workspace=workspace)
    chain = Chain.objects.create(workspace=workspace, name=slug.title(), slug=slug, draft=draft)
    versioning.version_publish(resource=chain, user=None, message="v1")
    return chain


def _start(owner: User, **body: Any) -> Any:
    payload = {"dataset": "topics", "evaluators": MENTIONS, "max_concurrency": 1, **body}
    return client_for(owner).post(f"{BASE}evaluation-runs/", payload, format="json")


@pytest.mark.django_db(transaction=True)
def test_a_prompt_version_is_evaluated_call_by_call_metered_as_evaluation(
    celery_worker_process: subprocess.Popen[bytes], workspace: Workspace, owner: User, endpoint: Any,
    openai_test_server: OpenAITestServer,
) -> None:  # fmt: skip
    # given: a prompt whose v1 names the scripted model, and two topics
    published_dataset(workspace=workspace, slug="topics", draft=TOPICS)
    prompt = _prompt(workspace)
    openai_test_server.script(ok("Cats purr when content.", usage=(20, 5)), ok("茶很好喝。", usage=(18, 4)))
    # when
    response = _start(owner, prompt="about", version="1")
    # then: each item is one call of the rendered prompt, scored on its answer
    assert response.status_code == 201, response.json()
    assert response.json()["target"] == {"kind": "prompt", "slug": "about", "version": 1, "deployment": None}
    run = wait_run(response.json()["id"])
    assert run.status == RunStatus.COMPLETED and run.prompt == prompt and run.workflow is None
    cats, tea = EvaluationItem.objects.filter(run=run).order_by("position")
    assert (cats.status, cats.output, cats.passed) == (ItemStatus.SCORED, "Cats purr when content.", True)
    assert (tea.status, tea.output, tea.passed) == (ItemStatus.SCORED, "茶很好喝。", False)
    sent = [r.json["messages"][-1]["content"] for r in openai_test_server.requests]
    assert sent == ["Tell me about cats.", "Tell me about 茶."]
    # the trace: the call's usage rows, metered as an evaluation under the item's call id
    assert cats.trace_id and cats.trace_id != tea.trace_id and cats.target_run_id is None
    record = UsageRecord.objects.get(run_id=cats.trace_id)
    assert record.source == UsageSource.EVALUATION and (record.prompt_tokens, record.completion_tokens) == (
        20,
        5,
    )
    assert (cats.prompt_tokens, cats.completion_tokens) == (20, 5) and cats.cost == record.cost > 0
    assert cats.latency_ms is not None and cats.latency_ms > 0


@pytest.mark.django_db(transaction=True)
def test_a_failed_model_call_fails_its_item_with_the_reason_not_the_run(
    celery_worker_process: subprocess.Popen[bytes], workspace: Workspace, owner: User, endpoint: Any,
    openai_test_server: OpenAITestServer,
) -> None:  # fmt: skip
    published_dataset(workspace=workspace, slug="topics", draft=TOPICS)
    _prompt(workspace)
    openai_test_server.script(status(400, message="context length exceeded"), ok("Cats purr."))
    run = wait_run(_start(owner, prompt="about").json()["id"])
    assert run.status == RunStatus.COMPLETED
    failed, scored = EvaluationItem.objects.filter(run=run).order_by("position")
    assert failed.status == ItemStatus.ERROR and failed.passed is False
    assert "context length exceeded" in failed.error
    assert scored.status == ItemStatus.SCORED


@pytest.mark.django_db(transaction=True)
def test_a_chain_version_and_a_deployment_of_it_at_its_label(
    celery_worker_process: subprocess.Popen[bytes], workspace: Workspace, owner: User, endpoint: Any,
    openai_test_server: OpenAITestServer,
) -> None:  # fmt: skip
    # given: chain "explain" over the summarize prompt (which names model "local"), v1 labelled production,
    # and a v2 that parses JSON; a deployment serving the production label
    published_dataset(workspace=workspace, slug="topics", draft=TOPICS)
    chain = _chain(workspace, "explain")
    versioning.label_set(resource=chain, name="production", number=1, user=None)
    chain.draft = chain_content_normalize(chain_content(output_parser={"type": "json"}), workspace=workspace)
    chain.save()
    versioning.version_publish(resource=chain, user=None, message="v2")
    Deployment.objects.create(
        workspace=workspace, slug="explainer", name="Explainer", chain=chain, version="production"
    )
    openai_test_server.script(ok("Cats purr."), ok("茶。"), ok("Cats purr again."), ok("茶。"))
    # when: the chain at latest (v2: answers that are not JSON fail), then the deployment (v1 at its label)
    latest = wait_run(_start(owner, chain="explain").json()["id"])
    response = _start(owner, deployment="explainer")
    assert response.status_code == 201, response.json()
    assert response.json()["target"] == {
        "kind": "chain",
        "slug": "explain",
        "version": 1,
        "deployment": "explainer",
    }
    deployed = wait_run(response.json()["id"])
    # then
    assert latest.target_kind == TargetKind.CHAIN and latest.target_version.number == 2
    assert {i.status for i in EvaluationItem.objects.filter(run=latest)} == {ItemStatus.ERROR}
    assert deployed.status == RunStatus.COMPLETED and deployed.target_version.number == 1
    outputs = list(
        EvaluationItem.objects.filter(run=deployed).order_by("position").values_list("output", "passed")
    )
    assert outputs == [("Cats purr again.", True), ("茶。", False)]
    assert UsageRecord.objects.filter(source=UsageSource.EVALUATION).count() == 4


@pytest.mark.django_db(transaction=True)
def test_the_promotion_gate_on_a_prompt_label(
    celery_worker_process: subprocess.Popen[bytes], workspace: Workspace, owner: User, endpoint: Any,
    openai_test_server: OpenAITestServer,
) -> None:  # fmt: skip
    published_dataset(workspace=workspace, slug="topics", draft=TOPICS)
    _prompt(workspace)
    client = client_for(owner)
    gate = client.post(f"{BASE}label-gates/", {"prompt": "about", "min_pass_rate": 0.5}, format="json")
    assert gate.status_code == 201 and gate.json()["kind"] == "prompt" and gate.json()["prompt"] == "about"
    label = {"name": "production", "version": 1}
    blocked = client.put(f"{BASE}prompts/about/labels/", label, format="json")
    assert (
        blocked.status_code == 409 and "approved evaluation run of v1" in blocked.json()["error"]["message"]
    )
    openai_test_server.script(ok("Cats purr."), ok("茶。"))
    run = wait_run(_start(owner, prompt="about").json()["id"])
    decided = client.post(f"{BASE}evaluation-runs/{run.pk}/decide/", {"decision": "approved"}, format="json")
    assert decided.status_code == 200, decided.json()
    moved = client.put(f"{BASE}prompts/about/labels/", label, format="json")
    assert moved.status_code == 200, moved.json()
    decisions = list(
        GateDecision.objects.order_by("created_at").values_list("kind", "allowed", "evaluation_run")
    )
    assert decisions == [("prompt", False, None), ("prompt", True, run.pk)]
    # a gate on every chain of the workspace does not gate prompts, and one resource per gate
    assert client.post(f"{BASE}label-gates/", {"kind": "chain"}, format="json").status_code == 201
    both = client.post(f"{BASE}label-gates/", {"prompt": "about", "chain": "x"}, format="json")
    assert both.status_code == 400 and "chain" in both.json()["error"]["fields"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"prompt": "about", "workflow": "greet"}, "target"),
        ({}, "target"),
        ({"prompt": "missing"}, "prompt"),
        ({"prompt": "nomodel"}, "prompt"),
        ({"prompt": "about", "version": "7"}, "version"),
        ({"chain": "missing"}, "chain"),
        ({"deployment": "missing"}, "deployment"),
    ],
)
def test_a_bad_target_names_the_field_and_creates_nothing(
    workspace: Workspace, owner: User, body: dict[str, Any], field: str
) -> None:
    published_dataset(workspace=workspace, slug="topics", draft=TOPICS)
    _prompt(workspace)
    _prompt(workspace, "nomodel", model=None)
    response = _start(owner, **body)
    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["fields"], response.json()
    assert not EvaluationRun.objects.exists()


@pytest.mark.django_db
def test_a_run_has_exactly_one_target_in_the_database(workspace: Workspace) -> None:
    from django.db import IntegrityError

    dataset = published_dataset(workspace=workspace, slug="topics", draft=TOPICS)
    prompt = _prompt(workspace)
    chain = Chain.objects.create(workspace=workspace, name="C", slug="c", draft={})
    common = {"workspace": workspace, "dataset": dataset, "dataset_version": dataset.versions.get()}
    with pytest.raises(IntegrityError):
        EvaluationRun.objects.create(
            **common,
            target_kind=TargetKind.PROMPT,
            prompt=prompt,
            prompt_version=prompt.versions.get(),
            chain=chain,
        )
