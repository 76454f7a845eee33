"""Writes on the usage ledger: cost computation and one row per model call."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from llmops.providers.pricing import PER_THOUSAND, request_price
from llmops.providers.schemas import Prices
from llmops.usage.models import UsageRecord, UsageStatus

_PER_MILLION = Decimal(1_000_000)


@dataclass(frozen=True, slots=True)
class MeteredCall:
    """Everything the gateway knows about one call once it has finished (or failed)."""

    workspace_id: int
    endpoint_id: int | None
    endpoint_slug: str
    endpoint_version: int | None
    model_name: str
    provider_kind: str
    operation: str
    source: str
    prices: Prices
    run_id: str = ""
    node_id: str = ""
    deployment_id: str = ""
    api_key_id: str = ""
    end_user: str = ""
    attempt: int = 1
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    requests: int = 0  # billed requests (searches for rerank), priced per 1,000 when the prices say so
    latency_ms: int = 0
    ttft_ms: int | None = None
    error_type: str = ""
    error_message: str = ""


def usage_cost(
    *, prices: Prices, prompt_tokens: int, completion_tokens: int, cached_tokens: int, requests: int = 0
) -> Decimal:
    """Cost of one call from prices per 1M tokens (cached prompt tokens use the cached-input price if set)
    plus, where the prices have one, the price per 1,000 requests (rerank searches, moderation calls)."""
    cached = min(cached_tokens, prompt_tokens)
    cached_price = (
        prices.decimal("cached_input") if prices.cached_input is not None else prices.decimal("input")
    )
    tokens = (
        (prompt_tokens - cached) * prices.decimal("input")
        + cached * cached_price
        + completion_tokens * prices.decimal("output")
    )
    total = tokens / _PER_MILLION + requests * request_price(prices) / PER_THOUSAND
    return total.quantize(Decimal("0.0000000001"))


def _row(call: MeteredCall) -> UsageRecord:
    return UsageRecord(
        workspace_id=call.workspace_id,
        endpoint_id=call.endpoint_id,
        endpoint_slug=call.endpoint_slug,
        endpoint_version=call.endpoint_version,
        model_name=call.model_name,
        provider_kind=call.provider_kind,
        operation=call.operation,
        source=call.source,
        run_id=call.run_id,
        node_id=call.node_id,
        deployment_id=call.deployment_id,
        api_key_id=call.api_key_id,
        end_user=call.end_user[:200],
        attempt=call.attempt,
        prompt_tokens=call.prompt_tokens,
        completion_tokens=call.completion_tokens,
        cached_tokens=call.cached_tokens,
        latency_ms=call.latency_ms,
        ttft_ms=call.ttft_ms,
        cost=usage_cost(
            prices=call.prices,
            prompt_tokens=call.prompt_tokens,
            completion_tokens=call.completion_tokens,
            cached_tokens=call.cached_tokens,
            requests=call.requests,
        ),
        currency=call.prices.currency,
        status=UsageStatus.ERROR if call.error_type else UsageStatus.OK,
        error_type=call.error_type[:64],
        error_message=call.error_message[:2000],
    )


async def usage_record_acreate(*, call: MeteredCall) -> UsageRecord:
    """Write the usage row of one model call (the gateway calls it after the call, off the hot path)."""
    row = _row(call)
    await row.asave(force_insert=True)
    return row
