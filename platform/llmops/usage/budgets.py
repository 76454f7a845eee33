"""Budgets: caps on spend per period, enforced **before** each model call, with soft thresholds that alert once.

A call's budgets are the active ones of its workspace that match it: the workspace's, and those of its
deployment, API key and end user (a budget with an empty key applies to **each** deployment, key or user,
with a counter of its own). Spend is counted in Redis (one counter per budget, period and key, incremented
after each call with its cost or tokens) and read before the next: at or over the cap, the call is refused
with :class:`BudgetExceeded` (HTTP 429 ``budget_exceeded`` with the reset time; in a run, the model node fails
naming the budget). A counter Redis does not have (a restart, an eviction) is rebuilt from the usage ledger,
and beat reconciles every counter with the ledger (``budgets_reconcile``), so spend is never lost; while Redis
is unreachable the ledger answers directly.

Costs in another currency than the budget's convert through the workspace's rates (``UsageSettings``); a cost
whose currency has no rate does not count (it cannot be compared with the cap).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

import redis
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from redis.exceptions import RedisError

from llmops.accounts.events import workspace_group
from llmops.core.async_redis import async_redis
from llmops.core.enqueue import enqueue_on_commit
from llmops.core.errors import RateLimited
from llmops.usage.models import Budget, BudgetAlert, BudgetMetric, BudgetPeriod, BudgetScope, UsageRecord
from llmops.usage.money import workspace_rates

logger = logging.getLogger(__name__)
CACHE_SECONDS = 5.0  # how long a process keeps a workspace's budgets and rates (a change applies within this)
# The ledger column a scope's key is matched against.
SCOPE_COLUMNS: dict[str, str] = {
    BudgetScope.DEPLOYMENT: "deployment_id",
    BudgetScope.API_KEY: "api_key_id",
    BudgetScope.END_USER: "end_user",
}


@dataclass(frozen=True, slots=True)
class _Cached:
    expires: float
    budgets: list[Budget]
    rates: dict[str, Decimal]


_cache: dict[int, _Cached] = {}


class BudgetExceeded(RateLimited):
    """A budget of the call is spent for this period: 429 ``budget_exceeded``, retry after the reset."""

    code = "budget_exceeded"

    def __init__(self, budget: Budget, spent: Decimal, resets_at: datetime) -> None:
        unit = budget.currency if budget.metric == BudgetMetric.COST else "tokens"
        whose = f" for {budget.scope} {_value_label(budget)}" if budget.scope != BudgetScope.WORKSPACE else ""
        super().__init__(
            f"Budget {budget.name!r}{whose} is spent: {spent:.6f} of {budget.cap} {unit} this {budget.period}; "
            f"it resets at {resets_at.isoformat()}.",
            retry_after=max(1.0, (resets_at - datetime.now(UTC)).total_seconds()),
        )
        self.budget_id = budget.pk
        self.resets_at = resets_at


def _value_label(budget: Budget) -> str:
    return repr(budget.scope_key) if budget.scope_key else "(each)"


@dataclass(frozen=True, slots=True)
class CallScope:
    """Who a model call is for: its workspace and, when known, its deployment, API key and end user."""

    workspace_id: int
    deployment_id: str = ""
    api_key_id: str = ""
    end_user: str = ""

    def value_for(self, budget: Budget) -> str | None:
        """The key this call counts under for ``budget``, or None when the budget does not apply to it."""
        if budget.scope == BudgetScope.WORKSPACE:
            return ""
        value = {
            BudgetScope.DEPLOYMENT: self.deployment_id,
            BudgetScope.API_KEY: self.api_key_id,
            BudgetScope.END_USER: self.end_user,
        }[BudgetScope(budget.scope)]
        if not value or (budget.scope_key and budget.scope_key != value):
            return None
        return value


def period_bounds(period: str, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The calendar period (UTC) holding ``now``: its start and the next period's start."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == BudgetPeriod.MONTH:
        start = start.replace(day=1)
        end = (
            start.replace(year=start.year + 1, month=1)
            if start.month == 12
            else start.replace(month=start.month + 1)
        )
    else:
        end = datetime.fromtimestamp(start.timestamp() + 86_400, UTC)
    return start, end


def counter_key(budget: Budget, start: datetime, value: str) -> str:
    """The Redis counter of ``budget`` for one period and key (end users hashed: any text is a valid key)."""
    digest = hashlib.sha256(value.encode()).hexdigest()[:16]
    return f"llmops:budget:{budget.pk}:{start:%Y%m%d}:{digest}"


def _matching(budgets: list[Budget], scope: CallScope) -> list[tuple[Budget, str]]:
    return [(b, v) for b in budgets if (v := scope.value_for(b)) is not None]


def workspace_budgets(workspace_id: int) -> _Cached:
    """The workspace's active budgets and currency rates (cached per process for ``CACHE_SECONDS``)."""
    cached = _cache.get(workspace_id)
    now = time.monotonic()
    if cached and cached.expires > now:
        return cached
    cached = _Cached(
        now + CACHE_SECONDS,
        list(Budget.objects.filter(workspace_id=workspace_id, is_active=True)),
        workspace_rates(workspace_id)[1],
    )
    _cache[workspace_id] = cached
    return cached


def budgets_forget(workspace_id: int) -> None:
    """Drop this process's cached budgets of a workspace (after a change made here)."""
    _cache.pop(workspace_id, None)


def amount_of(
    budget: Budget, *, cost: Decimal, currency: str, tokens: int, rates: dict[str, Decimal]
) -> Decimal:
    """What one call adds to ``budget``: its tokens, or its cost in the budget's currency (0 when the cost's
    currency cannot be converted)."""
    if budget.metric == BudgetMetric.TOKENS:
        return Decimal(tokens)
    if currency == budget.currency:
        return cost
    if currency in rates and budget.currency in rates:
        return cost * rates[currency] / rates[budget.currency]
    return Decimal(0)


def ledger_spent(budget: Budget, value: str, start: datetime) -> Decimal:
    """The budget's spend for one key since ``start``, from the usage ledger (the truth Redis mirrors)."""
    rows = UsageRecord.objects.filter(workspace_id=budget.workspace_id, created_at__gte=start)
    if budget.scope != BudgetScope.WORKSPACE:
        rows = rows.filter(**{SCOPE_COLUMNS[budget.scope]: value})
    if budget.metric == BudgetMetric.TOKENS:
        total = rows.aggregate(n=Sum(F("prompt_tokens") + F("completion_tokens")))["n"]
        return Decimal(total or 0)
    _, rates = workspace_rates(budget.workspace_id)
    spent = Decimal(0)
    for currency, cost in rows.values_list("currency").annotate(cost=Sum("cost")).order_by():
        spent += amount_of(budget, cost=cost or Decimal(0), currency=currency, tokens=0, rates=rates)
    return spent


def _ttl(end: datetime) -> int:
    return int((end - datetime.now(UTC)).total_seconds()) + 2 * 86_400


# --- before the call ----------------------------------------------------------------------------------------


async def _abudgets(workspace_id: int) -> _Cached:
    """``workspace_budgets`` without a thread hop while the process's copy is fresh (every model call asks)."""
    cached = _cache.get(workspace_id)
    if cached is not None and cached.expires > time.monotonic():
        return cached
    return await sync_to_async(workspace_budgets)(workspace_id)


async def budget_acheck(scope: CallScope) -> None:
    """Refuse the call (``BudgetExceeded``) when one of its budgets is spent for the period (one Redis
    round trip for all of them)."""
    matching = _matching((await _abudgets(scope.workspace_id)).budgets, scope)
    if not matching:
        return
    bounds = [period_bounds(budget.period) for budget, _ in matching]
    keys = [
        counter_key(budget, start, value)
        for (budget, value), (start, _) in zip(matching, bounds, strict=True)
    ]
    try:
        raws: list[bytes | None] = await async_redis().mget(keys)
    except RedisError:
        raws = [None] * len(keys)
        redis_down = True
    else:
        redis_down = False
    for (budget, value), (start, end), key, raw in zip(matching, bounds, keys, raws, strict=True):
        if raw is not None:
            spent = Decimal(raw.decode())
        elif redis_down:
            spent = await sync_to_async(ledger_spent)(budget, value, start)
        else:
            spent = await _arebuild(budget, value, start, end, key)
        if spent >= budget.cap:
            raise BudgetExceeded(budget, spent, end)


async def _arebuild(budget: Budget, value: str, start: datetime, end: datetime, key: str) -> Decimal:
    spent = await sync_to_async(ledger_spent)(budget, value, start)
    with contextlib.suppress(RedisError):
        await async_redis().set(key, str(spent), ex=_ttl(end), nx=True)
    return spent


def budget_check(scope: CallScope) -> None:
    """``budget_acheck`` for synchronous callers (the public API's admission)."""
    client = _sync_redis()
    for budget, value in _matching(workspace_budgets(scope.workspace_id).budgets, scope):
        start, end = period_bounds(budget.period)
        key = counter_key(budget, start, value)
        try:
            raw = cast(bytes | None, client.get(key))
        except RedisError:
            raw = None
        if raw is not None:
            spent = Decimal(raw.decode())
        else:
            spent = ledger_spent(budget, value, start)
            with contextlib.suppress(RedisError):
                client.set(key, str(spent), ex=_ttl(end), nx=True)
        if spent >= budget.cap:
            raise BudgetExceeded(budget, spent, end)


_sync_client: redis.Redis | None = None


def _sync_redis() -> redis.Redis:
    global _sync_client
    if _sync_client is None:
        _sync_client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
    return _sync_client


# --- after the call -----------------------------------------------------------------------------------------


async def budget_arecord(scope: CallScope, *, cost: Decimal, currency: str, tokens: int) -> None:
    """Count a finished call into its budgets' counters; a crossed soft threshold alerts (once per period)."""
    cached = await _abudgets(scope.workspace_id)
    matching = _matching(cached.budgets, scope)
    if not matching:
        return
    rates = cached.rates
    for budget, value in matching:
        amount = amount_of(budget, cost=cost, currency=currency, tokens=tokens, rates=rates)
        if amount <= 0:
            continue
        start, end = period_bounds(budget.period)
        key = counter_key(budget, start, value)
        try:
            if await async_redis().exists(key):
                after = Decimal(str(await async_redis().incrbyfloat(key, float(amount))))
            else:  # rebuilt from the ledger, which already holds this call
                after = await _arebuild(budget, value, start, end, key)
        except RedisError:
            after = await sync_to_async(ledger_spent)(budget, value, start)
        await sync_to_async(_thresholds_cross)(budget, value, start, after - amount, after)


def _thresholds_cross(budget: Budget, value: str, start: datetime, before: Decimal, after: Decimal) -> None:
    for threshold in sorted(int(t) for t in budget.thresholds):
        line = budget.cap * threshold / 100
        if before < line <= after:
            _alert(budget, start, value, threshold, after)


def _alert(budget: Budget, start: datetime, value: str, threshold: int, spent: Decimal) -> None:
    """Record the crossing (the unique row makes it once per budget, period, key and threshold) and send
    the budget's webhook for it."""
    try:
        with transaction.atomic():
            alert = BudgetAlert.objects.create(
                budget=budget, period_start=start, scope_value=value, threshold=threshold, spent=spent
            )
    except IntegrityError:
        return  # already alerted (another process crossed it too)
    logger.warning(
        "budget %r of workspace %s reached %s%% (%s of %s) for %r",
        budget.name, budget.workspace_id, threshold, spent, budget.cap, value,
    )  # fmt: skip
    event = {
        "type": "budget.threshold", "budget": budget.name, "budget_id": budget.pk, "scope": budget.scope,
        "scope_value": value, "period": budget.period, "period_start": start.isoformat(), "threshold": threshold,
        "spent": str(spent), "cap": str(budget.cap), "unit": budget.currency if budget.metric == "cost" else "tokens",
    }  # fmt: skip
    transaction.on_commit(lambda: _event_send(budget.workspace_id, event), robust=True)
    if budget.webhook_url:
        from llmops.usage.tasks import budget_alert_deliver

        enqueue_on_commit(budget_alert_deliver, alert.pk, robust=True)


def _event_send(workspace_id: int, event: dict[str, Any]) -> None:
    """Tell the workspace's open consoles (its websocket group); best effort, the alert row is the record."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(
            workspace_group(workspace_id), {"type": "event.message", "event": event}
        )
    except Exception:
        logger.warning("budget threshold event not delivered", exc_info=True)


# --- beat ---------------------------------------------------------------------------------------------------


def budgets_reconcile() -> int:
    """Set every current counter to the ledger's figure (drift from a lost increment, a Redis restart);
    returns how many counters were written."""
    client = _sync_redis()
    written = 0
    for budget in Budget.objects.filter(is_active=True):
        start, end = period_bounds(budget.period)
        for value in _values_with_spend(budget, start):
            try:
                client.set(
                    counter_key(budget, start, value), str(ledger_spent(budget, value, start)), ex=_ttl(end)
                )
            except RedisError:
                logger.warning("budget reconcile: Redis unreachable", exc_info=True)
                return written
            written += 1
    return written


def _values_with_spend(budget: Budget, start: datetime) -> list[str]:
    if budget.scope == BudgetScope.WORKSPACE:
        return [""]
    if budget.scope_key:
        return [budget.scope_key]
    field = SCOPE_COLUMNS[budget.scope]
    rows = UsageRecord.objects.filter(workspace_id=budget.workspace_id, created_at__gte=start).exclude(
        **{field: ""}
    )
    return list(rows.values_list(field, flat=True).distinct())


def budget_status(budget: Budget) -> dict[str, Any]:
    """A budget's consumption this period: per key (the ledger's figures), with the reset time."""
    start, end = period_bounds(budget.period)
    spent = {value: ledger_spent(budget, value, start) for value in _values_with_spend(budget, start)}
    return {
        "period_start": start.isoformat(),
        "resets_at": end.isoformat(),
        "spent": {
            value: f"{amount:.6f}" for value, amount in sorted(spent.items(), key=lambda kv: -kv[1])[:100]
        },
        "used_fraction": float(max(spent.values(), default=Decimal(0)) / budget.cap) if budget.cap else 0.0,
    }
