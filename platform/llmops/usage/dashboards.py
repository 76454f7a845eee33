"""Dashboard reads on the rollups: series and totals over a range, grouped by one dimension, and top-N tables.

Money is reported in the workspace's currency (``UsageSettings``): costs in other currencies are converted
with its rates; a currency without a rate is reported apart (``unconverted``), never added in silently.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from django.db import connection

from llmops.accounts.models import Workspace
from llmops.core.errors import ValidationError
from llmops.usage import histograms
from llmops.usage.ledger_dashboards import ledger_dashboard
from llmops.usage.models import Dimension, Granularity, RunDimension, UsageRollup
from llmops.usage.money import workspace_rates
from llmops.usage.rollups import DAILY_ONLY_DIMENSIONS
from llmops.usage.run_rollups import run_figures

MAX_HOURLY_DAYS = 400
MAX_DAYS = 3660
MAX_FILTERED_DAYS = 93  # a filtered view scans the ledger's rows of the range
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
    tops: tuple[str, ...] = TOP_DIMENSIONS
    # Only ledger rows with one of these values in each dimension named (read from the ledger, not the rollups).
    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()


def dashboard_query_check(query: DashboardQuery) -> DashboardQuery:
    """The query with its range aligned to whole buckets; 400 naming the field of anything invalid."""
    errors: dict[str, list[str]] = {}
    if query.granularity not in Granularity.values:
        errors["granularity"] = [f"One of: {', '.join(Granularity.values)}."]
    groupable = [d for d in Dimension.values if d != Dimension.TOTAL]
    if query.group_by is not None and query.group_by not in groupable:
        errors["group_by"] = [f"One of: {', '.join(groupable)}."]
    elif (
        query.group_by in DAILY_ONLY_DIMENSIONS
        and query.granularity == Granularity.HOUR
        and not query.filters
    ):
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
    unknown = [t for t in query.tops if t not in TOP_DIMENSIONS]
    if unknown:
        errors["top_of"] = [f"One of: {', '.join(TOP_DIMENSIONS)}."]
    for dimension, values in query.filters:
        if dimension not in groupable:
            errors["filters"] = [f"Filter on: {', '.join(groupable)}."]
        elif not values or len(values) > 100 or any(len(v) > 200 or "\x00" in v for v in values):
            errors[dimension] = ["From 1 to 100 values of at most 200 characters."]
    if query.filters and query.end - query.start > timedelta(days=MAX_FILTERED_DAYS) and "end" not in errors:
        errors["end"] = [f"Filtered views read the ledger: at most {MAX_FILTERED_DAYS} days."]
    if len(query.keys) > 100 or any(len(k) > 200 or "\x00" in k for k in query.keys):
        errors["key"] = ["At most 100 keys of at most 200 characters."]
    if errors:
        raise ValidationError("Invalid dashboard query.", fields=errors)
    step = _STEP[Granularity(query.granularity)]
    return replace(query, start=_floor(query.start, step), end=_ceil(query.end, step))


def _floor(moment: datetime, step: timedelta) -> datetime:
    moment = moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0) if step == timedelta(days=1) else moment


def _ceil(moment: datetime, step: timedelta) -> datetime:
    floored = _floor(moment, step)
    return floored if floored == moment.astimezone(UTC) else floored + step


class _Money:
    """Converts each currency's cost into the workspace's currency."""

    def __init__(self, workspace: Workspace) -> None:
        self.currency, self.rates = workspace_rates(workspace.pk)

    def convert(self, cost: Decimal, currency: str) -> Decimal | None:
        rate = self.rates.get(currency)
        return None if rate is None else cost * rate


# The bucket comes back as ISO text (parsing and formatting thousands of timestamps cost more than the query).
_ROW = (
    """to_char(bucket AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"')""",
    "key", "currency", "cost", "latency_hist", "ttft_hist", *_SUMS,
)  # fmt: skip


class _Cells:
    """Fetched rollup cells as columns: sums and histograms in numpy matrices, cost converted per cell."""

    def __init__(self, rows: list[tuple[Any, ...]], money: _Money) -> None:
        self.rows = rows
        count = len(rows)
        self.sums = np.array([row[6:] for row in rows], dtype=np.int64).reshape(count, len(_SUMS))
        # Histograms are stored up to their last non-empty bucket: as wide as the widest here, not BUCKETS.
        width = max((max(len(row[4]), len(row[5])) for row in rows), default=1) or 1
        self.latency = np.zeros((count, width), dtype=np.int64)
        self.ttft = np.zeros((count, width), dtype=np.int64)
        self.cost: list[Decimal | None] = []
        for i, (_bucket, _key, currency, cost, latency, ttft, *_sums) in enumerate(rows):
            if latency:
                self.latency[i, : len(latency)] = latency
            if ttft:
                self.ttft[i, : len(ttft)] = ttft
            self.cost.append(money.convert(cost, currency))


class _Groups:
    """Cells merged into groups (the points of a series, the series, the totals), one vector sum per figure."""

    def __init__(self, cells: _Cells, group_of: list[int], count: int) -> None:
        ids = np.array(group_of, dtype=np.intp)
        self.sums = histograms.group_sums(cells.sums, ids, count)
        self.latency = histograms.group_sums(cells.latency, ids, count)
        self.ttft = histograms.group_sums(cells.ttft, ids, count)
        self.cost = [Decimal(0)] * count
        self.unconverted: list[dict[str, Decimal]] = [defaultdict(Decimal) for _ in range(count)]
        for group, converted, row in zip(group_of, cells.cost, cells.rows, strict=True):
            if converted is None:
                self.unconverted[group][row[2]] += row[3]
            else:
                self.cost[group] += converted

    def figures(self) -> list[dict[str, Any]]:
        """Each group's figures, in group order."""
        latency = {f: histograms.percentiles(self.latency, f) for f in (0.5, 0.95)}
        ttft = {f: histograms.percentiles(self.ttft, f) for f in (0.5, 0.95)}
        requests, errors, prompt, completion, cached, _latency_sum, _ttft = self.sums.T.tolist()
        counts = np.maximum(self.sums[:, 0], 1)
        error_rates = np.round(self.sums[:, 1] / counts, 4).tolist()
        means = np.round(self.sums[:, 5] / counts, 1).tolist()
        out = []
        for g, n in enumerate(requests):
            out.append({
                "requests": n,
                "errors": errors[g],
                "error_rate": error_rates[g],
                "prompt_tokens": prompt[g],
                "completion_tokens": completion[g],
                "cached_tokens": cached[g],
                "cost": f"{self.cost[g]:.6f}",
                "unconverted": {c: f"{a:.6f}" for c, a in sorted(self.unconverted[g].items())},
                "latency_ms_mean": means[g] if n else None,
                "latency_ms_p50": latency[0.5][g],
                "latency_ms_p95": latency[0.95][g],
                "ttft_ms_p50": ttft[0.5][g],
                "ttft_ms_p95": ttft[0.95][g],
            })  # fmt: skip
        return out


def _cells(
    workspace: Workspace, granularity: str, dimension: str, query: DashboardQuery
) -> list[tuple[Any, ...]]:
    """The rollup cells of one dimension in the range (only ``query.keys`` of the grouped dimension)."""
    sql = (
        f"SELECT {', '.join(_ROW)} FROM {UsageRollup._meta.db_table} WHERE workspace_id = %s AND granularity = %s"
        " AND dimension = %s AND bucket >= %s AND bucket < %s"
    )
    params: list[Any] = [workspace.pk, granularity, dimension, query.start, query.end]
    if dimension == query.group_by and query.keys:
        sql += " AND key = ANY(%s)"
        params.append(list(query.keys))
    with connection.cursor() as cursor:  # raw rows: the ORM's per-value converters cost more than the query
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def _top(workspace: Workspace, dimension: str, query: DashboardQuery, money: _Money) -> list[dict[str, Any]]:
    """The ``query.top`` keys of ``dimension`` that cost most (then by requests), by whole days.

    Ranked in PostgreSQL, costs converted there (a CASE over the workspace's rates): only the top rows come
    back, whatever the number of keys (thousands of end users a day). Costs in a currency without a rate do not
    rank; the top keys' amounts in such currencies are read after and reported apart."""
    day = _STEP[Granularity.DAY]
    table = UsageRollup._meta.db_table
    rates = sorted(money.rates.items())
    converted = "CASE currency " + " ".join("WHEN %s THEN cost * %s" for _ in rates) + " ELSE 0 END"
    where = "workspace_id = %s AND granularity = %s AND dimension = %s AND bucket >= %s AND bucket < %s"
    window: list[Any] = [
        workspace.pk,
        Granularity.DAY,
        dimension,
        _floor(query.start, day),
        _ceil(query.end, day),
    ]
    sql = (
        f"SELECT key, SUM({converted}) AS cost, SUM(requests)::bigint, SUM(errors)::bigint,"
        " SUM(prompt_tokens + completion_tokens)::bigint"
        f" FROM {table} WHERE {where} GROUP BY key ORDER BY 2 DESC, 3 DESC, key LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for rate in rates for value in rate] + window + [query.top])
        ranked = cursor.fetchall()
        unconverted: dict[str, dict[str, Decimal]] = defaultdict(dict)
        if ranked:
            cursor.execute(
                f"SELECT key, currency, SUM(cost) FROM {table} WHERE {where} AND key = ANY(%s)"
                " AND NOT currency = ANY(%s) GROUP BY key, currency",
                [*window, [row[0] for row in ranked], [code for code, _ in rates]],
            )
            for key, currency, amount in cursor.fetchall():
                unconverted[key][currency] = amount
    return [
        {
            "key": key,
            "cost": f"{cost:.6f}",
            "requests": requests,
            "errors": errors,
            "tokens": tokens,
            "unconverted": {c: f"{a:.6f}" for c, a in sorted(unconverted[key].items())},
        }
        for key, cost, requests, errors, tokens in ranked
    ]


def dashboard(*, workspace: Workspace, query: DashboardQuery, with_top: bool = True) -> dict[str, Any]:
    """Series (one per key of ``group_by``, each point a bucket), totals over the range and top-N tables;
    with the run figures (``runs``: runs, failures, durations) when grouped by nothing, workflow or
    deployment. With ``filters``, everything is of the rows they keep (read from the ledger)."""
    query = dashboard_query_check(query)
    money = _Money(workspace)
    if query.filters:
        return ledger_dashboard(
            workspace_id=workspace.pk, query=query, filters=query.filters, currency=money.currency,
            rates=money.rates, with_top=with_top,
        )  # fmt: skip
    dimension = query.group_by or Dimension.TOTAL
    cells = _Cells(_cells(workspace, query.granularity, dimension, query), money)
    keys = sorted({row[1] for row in cells.rows})
    key_index = {key: i for i, key in enumerate(keys)}
    points: dict[tuple[str, str], int] = {}
    point_of = [points.setdefault((row[1], row[0]), len(points)) for row in cells.rows]
    point_figures = _Groups(cells, point_of, len(points)).figures()
    key_figures = _Groups(cells, [key_index[row[1]] for row in cells.rows], len(keys)).figures()
    series: list[dict[str, Any]] = [
        {"key": key, "totals": key_figures[i], "points": []} for i, key in enumerate(keys)
    ]
    for (key, bucket), g in sorted(points.items(), key=lambda item: item[0][1]):
        series[key_index[key]]["points"].append({"bucket": bucket, **point_figures[g]})
    series.sort(key=lambda s: (-Decimal(s["totals"]["cost"]), -s["totals"]["requests"], s["key"]))
    # Every ledger row has one key in each dimension ("" when it has none): all series add up to the total.
    whole = (
        cells
        if not query.keys
        else _Cells(_cells(workspace, query.granularity, Dimension.TOTAL, query), money)
    )
    totals = _Groups(whole, [0] * len(whole.rows), 1).figures()[0]
    view: dict[str, Any] = {
        "currency": money.currency,
        "start": query.start.isoformat(),
        "end": query.end.isoformat(),
        "granularity": query.granularity,
        "group_by": query.group_by,
        "totals": totals,
        "series": series,
        "top": {d: _top(workspace, d, query, money) for d in query.tops} if with_top else {},
    }
    if query.group_by is None or query.group_by in RunDimension.values:
        view["runs"] = run_figures(
            workspace_id=workspace.pk, start=query.start, end=query.end, granularity=query.granularity,
            group_by=query.group_by, keys=query.keys,
        )  # fmt: skip
    return view


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
