"""Rerank and moderation calls in the ledger: the summary's totals and per-operation breakdown, the
``operation`` filter, and a deployment's counters."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from asgiref.sync import async_to_sync

from llmops.accounts.models import User, Workspace
from llmops.deployments.selectors import deployment_counters
from llmops.providers.gateway import PlatformModelGateway
from llmops.usage.models import UsageRecord
from tests.conftest import client_for
from tests.deployments.factories import DeploymentFactory
from tests.providers.factories import ModelEndpointFactory, endpoint_config
from tests.support.openai_test_server import OpenAITestServer, moderation, rerank
from tests.usage.factories import UsageRecordFactory
from workflows import CallContext

pytestmark = pytest.mark.django_db(transaction=True)

SUMMARY = "/api/workspaces/acme/usage/summary/"
RECORDS = "/api/workspaces/acme/usage/records/"


@pytest.fixture
def metered_calls(workspace: Workspace, openai_test_server: OpenAITestServer) -> Any:
    """A chat row, then one rerank and one moderation call made for a deployment through the gateway."""
    deployment = DeploymentFactory.create(workspace=workspace)
    UsageRecordFactory.create(workspace=workspace, deployment_id=str(deployment.pk), cost=Decimal("0.01"))
    for slug, model_type in (("rr", "rerank"), ("mod", "moderation")):
        draft = endpoint_config(
            base_url=openai_test_server.url,
            model=slug,
            model_type=model_type,
            prices={"input": 10, "output": 0},
        )
        ModelEndpointFactory.create(workspace=workspace, slug=slug, draft=draft)
    openai_test_server.script(rerank(tokens=100), moderation())
    gateway = PlatformModelGateway(workspace=workspace, source="api", deployment_id=str(deployment.pk))
    context = CallContext(run_id="run-1", node_id="node")
    async_to_sync(gateway.rerank)("rr", "owls", ["owls hunt", "bread"], context)
    async_to_sync(gateway.moderate)("mod", "hello there", context)
    return deployment


def test_the_summary_counts_rerank_and_moderation_calls_per_operation(
    metered_calls: Any, owner: User
) -> None:
    body = client_for(owner).get(SUMMARY).json()
    (totals,) = body["totals"]
    assert totals["calls"] == 3
    assert {row["operation"]: row["calls"] for row in body["by_operation"]} == {
        "chat": 1,
        "rerank": 1,
        "moderation": 1,
    }
    rerank_cost = next(row["cost"] for row in body["by_operation"] if row["operation"] == "rerank")
    assert Decimal(rerank_cost) == Decimal("0.001")  # 100 tokens at 10 per 1M
    assert {row["endpoint_slug"] for row in body["by_endpoint"]} == {"gpt", "rr", "mod"}


def test_records_can_be_filtered_by_operation(metered_calls: Any, owner: User) -> None:
    client = client_for(owner)
    rows = client.get(RECORDS + "?operation=rerank").json()["results"]
    assert [(row["operation"], row["endpoint_slug"], row["run_id"]) for row in rows] == [
        ("rerank", "rr", "run-1")
    ]
    assert client.get(SUMMARY + "?operation=moderation").json()["totals"][0]["calls"] == 1
    assert client.get(RECORDS + "?operation=search").status_code == 400


def test_deployment_counters_include_rerank_and_moderation_calls(metered_calls: Any) -> None:
    counters = deployment_counters(deployment=metered_calls)
    moderation_row = UsageRecord.objects.get(operation="moderation")
    assert counters.model_calls == 3 and moderation_row.cost > 0
    assert counters.cost == Decimal("0.01") + Decimal("0.001") + moderation_row.cost
