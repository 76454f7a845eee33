"""Where prompts and chains meet the providers app: the model gateway, recorded cost, moderation endpoints.

A moderation endpoint is a model endpoint of type ``moderation`` speaking the OpenAI protocol: ``POST
{base_url}/moderations`` with ``{"model", "input"}`` answers ``{"results": [{"flagged", "categories"}]}``.
It is called through the metered gateway (:meth:`llmops.providers.gateway.PlatformModelGateway.moderate`):
SSRF-guarded, with the endpoint's retries, fallbacks and limits, and one usage row (operation
``moderation``) per attempt, attributed like the call it moderates when the caller passes its gateway.
"""

from __future__ import annotations

from decimal import Decimal

from asgiref.sync import sync_to_async
from django.db.models import Sum

from llmops.accounts.models import Workspace
from llmops.core.errors import ValidationError
from llmops.prompts.moderation import EndpointModerator
from workflows import CallContext, ModelGateway


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
    cost: Decimal | None = total["cost"]
    return cost


async def recorded_cost(*, workspace: Workspace, run_id: str) -> Decimal | None:
    """The cost the gateway recorded for the calls of ``run_id`` (``None`` when nothing was recorded)."""
    return await sync_to_async(_recorded_cost)(workspace.pk, run_id)


def endpoint_moderator(
    workspace: Workspace, *, gateway: ModelGateway | None = None, context: CallContext | None = None
) -> EndpointModerator:
    """A function that asks a moderation endpoint of ``workspace`` about a text (flagged categories).

    Pass the gateway and context of the call being moderated to meter the moderation with it (source, run,
    node, deployment, API key, end user); without them it is metered as a ``run`` of the workspace.
    """
    from llmops.providers.gateway import EndpointTypeMismatch, PlatformModelGateway

    metered = (
        gateway
        if isinstance(gateway, PlatformModelGateway)
        else PlatformModelGateway(workspace=workspace, source="run")
    )
    call_context = context or CallContext(run_id="", node_id="")

    async def ask(ref: str, text: str) -> list[str]:
        try:
            result = await metered.moderate(ref, text, call_context)
        except EndpointTypeMismatch:
            raise ValidationError(
                f"Model endpoint {ref!r} is not a moderation endpoint.", fields={"moderation": [ref]}
            ) from None
        return result.categories

    return ask
