"""Dashboards filtered across dimensions (one deployment's models, one end user's deployments...), read from
the ledger itself: rollup cells are kept per single dimension, so "deployment 12, grouped by model" has no
cell. Same answer shape as :func:`llmops.usage.dashboards.dashboard`; percentiles here are exact.

Filters narrow the ledger rows (any of a dimension's values, every dimension given), so a filtered view reads
the rows of that slice only: the indexes on the ledger's deployment, API key, endpoint and time columns keep
the common slices (one deployment, one key) small.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.db import connection

from llmops.runs.models import Run
from llmops.studio.models import Workflow
from llmops.usage.models import Dimension, Granularity, UsageRecord

# The ledger expression of each dimension (the workflow comes through the call's run).
COLUMNS: dict[str, str] = {
    Dimension.DEPLOYMENT: "u.deployment_id", Dimension.WORKFLOW: "COALESCE(w.slug, '')",
    Dimension.ENDPOINT: "u.endpoint_slug", Dimension.MODEL: "u.model_name", Dimension.API_KEY: "u.api_key_id",
    Dimension.END_USER: "u.end_user", Dimension.SOURCE: "u.source",
}  # fmt: skip
_UUID = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


def _from_where(
    workspace_id: int,
    start: Any,
    end: Any,
    filters: tuple[tuple[str, tuple[str, ...]], ...],
    *,
    workflow: bool,
) -> tuple[str, list[Any]]:
    join = ""
    if workflow:
        join = (
            f" LEFT JOIN {Run._meta.db_table} r ON r.id = CASE WHEN u.run_id ~ '{_UUID}' THEN u.run_id::uuid END"
            f" LEFT JOIN {Workflow._meta.db_table} w ON w.id = r.workflow_id"
        )
    sql = f" FROM {UsageRecord._meta.db_table} u{join} WHERE u.workspace_id = %s AND u.created_at >= %s AND u.created_at < %s"
    params: list[Any] = [workspace_id, start, end]
    for dimension, values in filters:
        sql += f" AND {COLUMNS[dimension]} = ANY(%s)"
        params.append(list(values))
    return sql, params


def _converted(rates: dict[str, Decimal]) -> tuple[str, list[Any]]:
    pairs = sorted(rates.items())
    sql = "CASE u.currency " + " ".join("WHEN %s THEN u.cost * %s" for _ in pairs) + " ELSE 0 END"
    return sql, [value for pair in pairs for value in pair]


def _figures(row: tuple[Any, ...]) -> dict[str, Any]:
    n, errors, prompt, completion, cached, latency_sum, cost, l50, l95, t50, t95 = row
    return {
        "requests": n, "errors": errors, "error_rate": round(errors / n, 4) if n else 0.0,
        "prompt_tokens": prompt, "completion_tokens": completion, "cached_tokens": cached,
        "cost": f"{cost or 0:.6f}", "unconverted": {},
        "latency_ms_mean": round(latency_sum / n, 1) if n else None,
        "latency_ms_p50": _number(l50), "latency_ms_p95": _number(l95),
        "ttft_ms_p50": _number(t50), "ttft_ms_p95": _number(t95),
    }  # fmt: skip


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def ledger_dashboard(
    *, workspace_id: int, query: Any, filters: tuple[tuple[str, tuple[str, ...]], ...], currency: str,
    rates: dict[str, Decimal], with_top: bool,
) -> dict[str, Any]:  # fmt: skip
    """Series (per key of ``query.group_by``), totals and top-N tables of the ledger rows the filters keep."""
    group = COLUMNS[query.group_by] if query.group_by else "CAST('' AS text)"
    uses_workflow = Dimension.WORKFLOW in {query.group_by, *(d for d, _ in filters)}
    source, params = _from_where(
        workspace_id,
        query.start,
        query.end,
        filters,
        workflow=uses_workflow or Dimension.WORKFLOW in query.tops,
    )
    if query.group_by and query.keys:
        source += f" AND {group} = ANY(%s)"
        params.append(list(query.keys))
    converted, rate_params = _converted(rates)
    unit = "hour" if query.granularity == Granularity.HOUR else "day"
    bucket = f"""to_char(date_trunc('{unit}', u.created_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"')"""
    sql = f"""
        SELECT {bucket}, {group}, GROUPING({bucket}), GROUPING({group}),
               COUNT(*), COUNT(*) FILTER (WHERE u.status <> 'ok'), SUM(u.prompt_tokens), SUM(u.completion_tokens),
               SUM(u.cached_tokens), SUM(u.latency_ms), SUM({converted}),
               percentile_disc(0.5) WITHIN GROUP (ORDER BY u.latency_ms),
               percentile_disc(0.95) WITHIN GROUP (ORDER BY u.latency_ms),
               percentile_disc(0.5) WITHIN GROUP (ORDER BY u.ttft_ms),
               percentile_disc(0.95) WITHIN GROUP (ORDER BY u.ttft_ms)
        {source}
        GROUP BY GROUPING SETS (({bucket}, {group}), ({group}), ())
    """
    unconverted_sql = f"""
        SELECT {bucket}, {group}, GROUPING({bucket}), GROUPING({group}), u.currency, SUM(u.cost) {source}
        AND NOT u.currency = ANY(%s)
        GROUP BY GROUPING SETS (({bucket}, {group}, u.currency), ({group}, u.currency), (u.currency))
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, rate_params + params)
        rows = cursor.fetchall()
        cursor.execute(unconverted_sql, [*params, list(rates)])
        unconverted_rows = cursor.fetchall()
    unconverted: dict[tuple[Any, ...], dict[str, str]] = defaultdict(dict)
    for at, key, no_bucket, no_key, code, amount in unconverted_rows:
        unconverted[(None if no_bucket else at, None if no_key else key)][code] = f"{amount:.6f}"
    totals = _figures((0, 0, 0, 0, 0, 0, 0, None, None, None, None))
    series: dict[str, dict[str, Any]] = {}
    for at, key, no_bucket, no_key, *figures in rows:
        done = _figures(
            tuple(int(v) if isinstance(v, Decimal) and i < 6 else v for i, v in enumerate(figures))
        )
        if no_key:
            totals = done
            totals["unconverted"] = unconverted.get((None, None), {})
            continue
        entry = series.setdefault(key, {"key": key, "totals": None, "points": []})
        if no_bucket:
            entry["totals"] = {**done, "unconverted": unconverted.get((None, key), {})}
        else:
            entry["points"].append({"bucket": at, **done, "unconverted": unconverted.get((at, key), {})})
    ordered = sorted(
        series.values(), key=lambda s: (-Decimal(s["totals"]["cost"]), -s["totals"]["requests"], s["key"])
    )
    for entry in ordered:
        entry["points"].sort(key=lambda p: p["bucket"])
    top: dict[str, list[dict[str, Any]]] = {}
    if with_top:
        for dimension in query.tops:
            top[dimension] = _top(dimension, source, params, converted, rate_params, query.top)
    return {
        "currency": currency, "start": query.start.isoformat(), "end": query.end.isoformat(),
        "granularity": query.granularity, "group_by": query.group_by,
        "filters": {dimension: list(values) for dimension, values in filters},
        "totals": totals, "series": ordered, "top": top,
    }  # fmt: skip


def _top(
    dimension: str, source: str, params: list[Any], converted: str, rate_params: list[Any], limit: int
) -> list[dict[str, Any]]:
    column = COLUMNS[dimension]
    sql = (
        f"SELECT {column}, SUM({converted}), COUNT(*), COUNT(*) FILTER (WHERE u.status <> 'ok'),"
        f" SUM(u.prompt_tokens + u.completion_tokens)::bigint {source}"
        f" GROUP BY {column} ORDER BY 2 DESC, 3 DESC, 1 LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*rate_params, *params, limit])
        ranked = cursor.fetchall()
    return [
        {"key": key, "cost": f"{cost or 0:.6f}", "requests": requests, "errors": errors, "tokens": tokens,
         "unconverted": {}}
        for key, cost, requests, errors, tokens in ranked
    ]  # fmt: skip
