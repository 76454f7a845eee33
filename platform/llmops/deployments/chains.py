"""Chain deployments: a chain call attributed to the deployment, key and end user (no ``Run`` row: chains
run to completion in the request, like the studio's chain run API)."""

from __future__ import annotations

import uuid
from typing import Any

from asgiref.sync import async_to_sync

from llmops.deployments.models import ApiKey, Deployment
from llmops.providers.gateway import PlatformModelGateway
from llmops.studio.chain_runner import ChainExecutor, ChainOutcome
from llmops.studio.chain_selectors import chain_snapshot
from workflows import CallContext


def chain_call(
    *, deployment: Deployment, key: ApiKey, inputs: dict[str, Any], end_user: str, conversation_id: str | None
) -> ChainOutcome:
    """Run the deployed chain version once; usage rows carry the deployment, key and end user."""
    chain = deployment.chain
    assert chain is not None
    workspace = key.workspace
    snapshot = chain_snapshot(chain=chain, version=deployment.version)
    run_id = f"chain-{uuid.uuid4().hex}"
    gateway = PlatformModelGateway(
        workspace=workspace, source="api", run_id=run_id, node_id=chain.slug,
        deployment_id=str(deployment.pk), api_key_id=str(key.pk), end_user=end_user,
    )  # fmt: skip
    context = CallContext(run_id, chain.slug, user_id=end_user or None, workspace_id=str(workspace.pk))
    executor = ChainExecutor(workspace, gateway, context, metered_run_id=run_id)
    return async_to_sync(executor.execute)(snapshot, inputs, conversation_id=conversation_id)
