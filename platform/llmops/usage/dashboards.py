"""Dashboard reads on the rollups: series and totals over a range, grouped by one dimension, and top-N tables.

Money is reported in the workspace's currency (``UsageSettings``): costs in other currencies are converted
with its rates; a currency without a rate is reported apart (``unconverted``), never added in silently.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import F, Sum

from llmops.accounts.models import Workspace
from llmops.core.errors import ValidationError
from llmops.usage import histograms
from llmops.usage.models import Dimension, Granularity, UsageRollup, UsageSettings
from llmops.usage.rollups import DAILY_ONLY_DIMENSIONS

MAX_HOURLY_DAYS = 400
MAX_DAYS = 3660
TOP_DIMENSIONS = (Dimension.DEPLOYMENT, Dimension.MODEL, Dimension.API_KEY, Dimension.END_USER)
_STEP = {Granularity.HOUR: timedelta(hours=1), Granularity.DAY: timedelta(days=1)}
_SUMS = (
    "requests",
    "errors",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "latency_ms_sum",
    "ttft_count",
)


@dataclass(frozen=True, slots=True)
class DashboardQuery:
    """A view: ``[start, end)`` in buckets of ``granularity``, series per key of ``group_by`` (None: one
    series for the workspace), only ``keys`` when given."""

    start: datetime
    end: datetime
    granularity: str = Granularity.DAY
    group_by: str | None = None
    keys: tuple[str, ...] = ()
    top: int = 10


def dashboard_query_check(query: DashboardQuery) -> DashboardQuery:
    """The query with its range aligned to whole buckets; 400 naming the field of anything invalid."""
    errors: dict[str, list[str]] = {}
    if query.granularity not in Granularity.values:
        errors["granularity"] = [f"One of: {', '.join(Granularity.values)}."]
    groupable = [d for d in Dimension.values if d != Dimension.TOTAL]
    if query.group_by is not None and query.group_by not in groupable:
        errors["group_by"] = [f"One of: {', '.join(groupable)}."]
    elif query.group_by in DAILY_ONLY_DIMENSIONS and query.granularity == Granularity.HOUR:
        errors["group_by"] = [f"{query.group_by} is kept per day: use granularity=day."]
    if query.end <= query.start:
        errors["end"] = ["Must be after start."]
    else:
        span = query.end - query.start
        if query.granularity == Granularity.HOUR and span > timedelta(days=MAX_HOURLY_DAYS):
            errors["end"] = [f"At most {MAX_HOURLY_DAYS} days at hourly granularity: use granularity=day."]
        elif span > timedelta(days=MAX_DAYS):
            errors["end"] = [f"At most {MAX_DAYS} days."]
    if not 1 <= query.top <= 100:
        errors["top"] = ["Between 1 and 100."]
    if errors:
        raise ValidationError("Invalid dashboard query.", fields=errors)
    step = _STEP[Granularity(query.granularity)]
    return DashboardQuery(
        _floor(query.start, step),
        _ceil(query.end, step),
        query.granularity,
        query.group_by,
        query.keys,
        query.top,
    )


def _floor(moment: datetime, step: timedelta) -> datetime:
    moment = moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0) if step == timedelta(days=1) else moment


def _ceil(moment: datetime, step: timedelta) -> datetime:
    floored = _floor(moment, step)
    return floored if floored == moment.astimezone(UTC) else floored + step


class _Money:
    """Converts each currency's cost into the workspace's currency."""

    def __init__(self, workspace: Workspace) -> None:
        settings = UsageSettings.objects.filter(workspace=workspace).first()
        self.currency = settings.currency if settings else "USD"
        self.rates = {code: Decimal(str(rate)) for code, rate in (settings.rates if settings else {}).items()}
        self.rates[self.currency] = Decimal(1)

    def convert(self, cost: Decimal, currency: str) -> Decimal | None:
        rate = self.rates.get(currency)
        return None if rate is None else cost * rate


def _figures(rows: list[dict[str, Any]], money: _Money) -> dict[str, Any]:
    """The figures of a set of rollup cells (any buckets, keys and currencies) merged."""
    sums = {name: sum(r[name] for r in rows) for name in _SUMS}
    cost = Decimal(0)
    unconverted: dict[str, Decimal] = defaultdict(Decimal)
    for r in rows:
        converted = money.convert(r["cost"], r["currency"])
        if converted is None:
            unconverted[r["currency"]] += r["cost"]
        else:
            cost += converted
    latency = histograms.merge(r["latency_hist"] for r in rows)
    ttft = histograms.merge(r["ttft_hist"] for r in rows)
    requests = sums["requests"]
    return {
        "requests": requests,
        "errors": sums["errors"],
        "error_rate": round(sums["errors"] / requests, 4) if requests else 0.0,
        "prompt_tokens": sums["prompt_tokens"],
        "completion_tokens": sums["completion_tokens"],
        "cached_tokens": sums["cached_tokens"],
        "cost": str(round(cost, 6)),
        "unconverted": {code: str(round(amount, 6)) for code, amount in sorted(unconverted.items())},
        "latency_ms_mean": round(sums["latency_ms_sum"] / requests, 1) if requests else None,
        "latency_ms_p50": histograms.percentile(latency, 0.5),
        "latency_ms_p95": histograms.percentile(latency, 0.95),
        "ttft_ms_p50": histograms.percentile(ttft, 0.5),
        "ttft_ms_p95": histograms.percentile(ttft, 0.95),
    }


def _cells(
    workspace: Workspace, granularity: str, dimension: str, query: DashboardQuery
) -> list[dict[str, Any]]:
    cells = UsageRollup.objects.filter(
        workspace=workspace, granularity=granularity, dimension=dimension,
        bucket__gte=query.start, bucket__lt=query.end,
    )  # fmt: skip
    if dimension == query.group_by and query.keys:
        cells = cells.filter(key__in=query.keys)
    return list(cells.values("bucket", "key", "currency", "cost", "latency_hist", "ttft_hist", *_SUMS))


def _top(workspace: Workspace, dimension: str, query: DashboardQuery, money: _Money) -> list[dict[str, Any]]:
    """The ``query.top`` keys of ``dimension`` that cost most (then by requests), by whole days."""
    day = _STEP[Granularity.DAY]
    rows = (
        UsageRollup.objects.filter(
            workspace=workspace,
            granularity=Granularity.DAY,
            dimension=dimension,
            bucket__gte=_floor(query.start, day),
            bucket__lt=_ceil(query.end, day),
        )
        .values("key", "currency")
        .annotate(
            cost_sum=Sum("cost"),
            requests_sum=Sum("requests"),
            errors_sum=Sum("errors"),
            tokens_sum=Sum(F("prompt_tokens") + F("completion_tokens")),
        )
    )
    totals: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = totals.setdefault(row["key"], {"key": row["key"], "cost": Decimal(0), "requests": 0, "errors": 0,
                                               "tokens": 0, "unconverted": {}})  # fmt: skip
        converted = money.convert(row["cost_sum"], row["currency"])
        if converted is None:
            entry["unconverted"][row["currency"]] = str(round(row["cost_sum"], 6))
        else:
            entry["cost"] += converted
        entry["requests"] += row["requests_sum"]
        entry["errors"] += row["errors_sum"]
        entry["tokens"] += row["tokens_sum"]
    ranked = sorted(totals.values(), key=lambda e: (-e["cost"], -e["requests"], e["key"]))[: query.top]
    return [{**entry, "cost": str(round(entry["cost"], 6))} for entry in ranked]


def dashboard(*, workspace: Workspace, query: DashboardQuery, with_top: bool = True) -> dict[str, Any]:
    """Series (one per key of ``group_by``, each point a bucket), totals over the range and top-N tables."""
    query = dashboard_query_check(query)
    money = _Money(workspace)
    dimension = query.group_by or Dimension.TOTAL
    cells = _cells(workspace, query.granularity, dimension, query)
    by_key: dict[str, dict[datetime, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for cell in cells:
        by_key[cell["key"]][cell["bucket"]].append(cell)
    series: list[dict[str, Any]] = [
        {
            "key": key,
            "totals": _figures([c for cs in buckets.values() for c in cs], money),
            "points": [{"bucket": b.isoformat(), **_figures(cs, money)} for b, cs in sorted(buckets.items())],
        }
        for key, buckets in by_key.items()
    ]
    series.sort(key=lambda s: (-Decimal(s["totals"]["cost"]), -s["totals"]["requests"], s["key"]))
    totals_cells = (
        cells
        if dimension == Dimension.TOTAL
        else _cells(workspace, query.granularity, Dimension.TOTAL, query)
    )
    return {
        "currency": money.currency,
        "start": query.start.isoformat(),
        "end": query.end.isoformat(),
        "granularity": query.granularity,
        "group_by": query.group_by,
        "totals": _figures(totals_cells, money),
        "series": series,
        "top": {d: _top(workspace, d, query, money) for d in TOP_DIMENSIONS} if with_top else {},
    }


SERIES_CSV_COLUMNS = (
    "key", "bucket", "requests", "errors", "error_rate", "prompt_tokens", "completion_tokens", "cached_tokens",
    "cost", "latency_ms_mean", "latency_ms_p50", "latency_ms_p95", "ttft_ms_p50", "ttft_ms_p95",
)  # fmt: skip


def dashboard_csv_rows(view: dict[str, Any]) -> list[list[Any]]:
    """The view's series as CSV rows (a header first): one row per key and bucket, cost in its currency."""
    rows: list[list[Any]] = [[*SERIES_CSV_COLUMNS, "currency"]]
    for series in view["series"]:
        for point in series["points"]:
            rows.append([series["key"], *(point[c] for c in SERIES_CSV_COLUMNS[1:]), view["currency"]])
    return rows
