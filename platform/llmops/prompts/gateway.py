"""Where prompts and chains meet the providers app: the model gateway, recorded cost, moderation endpoints.

A moderation endpoint is a model endpoint of type ``moderation`` speaking the OpenAI protocol: ``POST
{base_url}/moderations`` with ``{"model", "input"}`` answers ``{"results": [{"flagged", "categories"}]}``.
It is called with httpx through the providers app's SSRF-guarded client.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
from asgiref.sync import sync_to_async
from django.db.models import Sum

from llmops.accounts.models import Workspace
from llmops.core.errors import ServiceUnavailable, ValidationError
from llmops.prompts.moderation import EndpointModerator
from workflows._ports import ModelGateway


def gateway_for(
    *, workspace: Workspace, source: str, run_id: str | None = None, node_id: str | None = None
) -> ModelGateway:
    """The platform's model gateway for ``workspace`` (it records one usage row per call)."""
    from llmops.providers.gateway import PlatformModelGateway

    gateway: ModelGateway = PlatformModelGateway(
        workspace=workspace, source=source, run_id=run_id, node_id=node_id
    )
    return gateway


def _recorded_cost(workspace_id: int, run_id: str) -> Decimal | None:
    from llmops.usage.models import UsageRecord

    total = UsageRecord.objects.filter(workspace_id=workspace_id, run_id=run_id).aggregate(cost=Sum("cost"))
    return total["cost"]  # type: ignore[no-any-return]


async def recorded_cost(*, workspace: Workspace, run_id: str) -> Decimal | None:
    """The cost the gateway recorded for the calls of ``run_id`` (``None`` when nothing was recorded)."""
    return await sync_to_async(_recorded_cost)(workspace.pk, run_id)


def _flagged_categories(body: Any) -> list[str]:
    categories: list[str] = []
    for result in body.get("results", []) if isinstance(body, dict) else []:
        if not isinstance(result, dict) or not result.get("flagged"):
            continue
        hits = [name for name, hit in (result.get("categories") or {}).items() if hit]
        categories += hits or ["flagged"]
    return categories


def endpoint_moderator(workspace: Workspace) -> EndpointModerator:
    """A function that asks a moderation endpoint of ``workspace`` about a text (flagged categories)."""
    from llmops.providers.selectors import endpoint_resolve
    from llmops.providers.ssrf import BlockedURL, guarded_async_client

    async def ask(ref: str, text: str) -> list[str]:
        resolved = await sync_to_async(endpoint_resolve)(workspace_id=workspace.pk, ref=ref)
        if resolved.config.model_type != "moderation":
            raise ValidationError(
                f"Model endpoint {ref!r} is not a moderation endpoint.", fields={"moderation": [ref]}
            )
        api_key = str(resolved.credentials.get("api_key") or "")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        url = resolved.config.effective_base_url.rstrip("/") + "/moderations"
        try:
            async with guarded_async_client(timeout=resolved.config.timeout_seconds) as client:
                response = await client.post(
                    url, json={"model": resolved.config.model, "input": text}, headers=headers
                )
                response.raise_for_status()
        except (httpx.HTTPError, BlockedURL) as exc:
            raise ServiceUnavailable(f"Moderation endpoint {ref!r} failed: {exc}") from None
        return _flagged_categories(response.json())

    return ask
