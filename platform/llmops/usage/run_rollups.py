"""Run-level dashboard figures: finished runs rolled up per hour and day, for the workspace, each workflow and
each deployment (runs, failures, cancellations, duration mean and percentiles).

Like the ledger's rollups (:mod:`llmops.usage.rollups`), a batch takes final runs not yet counted
(``Run.rolled_up = false``), adds them into the cells and marks them, in one transaction under the same
advisory lock. A run is counted in the bucket of its creation (when it was asked for), with its duration
from start to finish. Debug runs (the canvas's test runs) are marked without being counted: dashboards show
what the workflow does for its users.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from django.db import connection, transaction

from llmops.runs.models import FINAL_STATUSES, Run, RunStatus, Trigger
from llmops.studio.models import Workflow
from llmops.usage import histograms
from llmops.usage.models import Granularity, RunDimension, RunRollup
from llmops.usage.rollups import ROLLUP_LOCK, batches_drain

BATCH_SIZE = 5_000
_COLUMNS = (
    "workspace_id", "granularity", "dimension", "bucket", "key", "runs", "failures", "cancelled",
    "duration_count", "duration_ms_sum", "duration_hist",
)  # fmt: skip


@dataclass(slots=True)
class _Cell:
    runs: int = 0
    failures: int = 0
    cancelled: int = 0
    duration_count: int = 0
    duration_ms_sum: int = 0
    duration_hist: list[int] = field(default_factory=list)


def _batch_sql() -> str:
    runs, flows = Run._meta.db_table, Workflow._meta.db_table
    final = ", ".join(f"'{status}'" for status in FINAL_STATUSES)
    return f"""
        SELECT r.id, r.workspace_id, r.created_at, w.slug, COALESCE(r.deployment_id::text, ''), r.status,
               r.trigger, (EXTRACT(EPOCH FROM r.finished_at - r.started_at) * 1000)::bigint
        FROM {runs} r JOIN {flows} w ON w.id = r.workflow_id
        WHERE r.rolled_up = false AND r.status IN ({final})
        ORDER BY r.created_at
        LIMIT %s
        FOR UPDATE OF r SKIP LOCKED
    """


def _upsert_sql() -> str:
    table = RunRollup._meta.db_table
    sums = ("runs", "failures", "cancelled", "duration_count", "duration_ms_sum")
    placeholders = ", ".join(["%s"] * len(_COLUMNS))
    return f"""
        INSERT INTO {table} ({", ".join(_COLUMNS)}) VALUES ({placeholders})
        ON CONFLICT (workspace_id, granularity, dimension, bucket, key) DO UPDATE SET
            {", ".join(f"{c} = {table}.{c} + EXCLUDED.{c}" for c in sums)},
            duration_hist = ARRAY(SELECT COALESCE(a, 0) + COALESCE(b, 0) FROM
                unnest({table}.duration_hist, EXCLUDED.duration_hist) WITH ORDINALITY AS t(a, b, i) ORDER BY i)
    """


def _cells(rows: list[tuple[Any, ...]]) -> dict[tuple[Any, ...], _Cell]:
    cells: dict[tuple[Any, ...], _Cell] = defaultdict(_Cell)
    for _id, workspace, created, workflow, deployment, status, trigger, duration in rows:
        if trigger == Trigger.DEBUG:
            continue
        hour = created.replace(minute=0, second=0, microsecond=0)
        keys = {RunDimension.TOTAL: "", RunDimension.WORKFLOW: workflow, RunDimension.DEPLOYMENT: deployment}
        for dimension, key in keys.items():
            if dimension == RunDimension.DEPLOYMENT and not key:
                continue  # runs from the console or evaluations have no deployment
            for granularity, bucket in ((Granularity.HOUR, hour), (Granularity.DAY, hour.replace(hour=0))):
                cell = cells[(workspace, granularity, dimension, bucket, key)]
                cell.runs += 1
                cell.failures += status == RunStatus.FAILED
                cell.cancelled += status == RunStatus.CANCELLED
                if duration is not None and duration >= 0:
                    cell.duration_count += 1
                    cell.duration_ms_sum += duration
                    index = histograms.bucket_of(duration)
                    if len(cell.duration_hist) <= index:
                        cell.duration_hist.extend([0] * (index + 1 - len(cell.duration_hist)))
                    cell.duration_hist[index] += 1
    return cells


def run_rollup_batch(limit: int = BATCH_SIZE) -> int:
    """Count up to ``limit`` finished runs not yet counted; returns how many were taken."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ROLLUP_LOCK])
        cursor.execute(_batch_sql(), [limit])
        rows = cursor.fetchall()
        if not rows:
            return 0
        cells = _cells(rows)
        if cells:
            cursor.executemany(
                _upsert_sql(),
                [
                    (
                        *key,
                        c.runs,
                        c.failures,
                        c.cancelled,
                        c.duration_count,
                        c.duration_ms_sum,
                        c.duration_hist,
                    )
                    for key, c in cells.items()
                ],
            )
        cursor.execute(
            f"UPDATE {Run._meta.db_table} SET rolled_up = true WHERE id = ANY(%s)", [[row[0] for row in rows]]
        )
    return len(rows)


def run_rollup(*, max_runs: int | None = None) -> int:
    """Count every finished run not yet counted (at most ``max_runs``); returns how many were."""
    return batches_drain(run_rollup_batch, size=BATCH_SIZE, most=max_runs)


def run_rollup_rebuild(*, workspace_id: int | None = None, since: datetime | None = None) -> int:
    """Drop the run rollups (of one workspace, from ``since``: whole days) and count the runs again."""
    rollups = RunRollup.objects.all()
    runs = Run.objects.all()
    if workspace_id is not None:
        rollups, runs = rollups.filter(workspace_id=workspace_id), runs.filter(workspace_id=workspace_id)
    if since is not None:
        day = since.replace(hour=0, minute=0, second=0, microsecond=0)
        rollups, runs = rollups.filter(bucket__gte=day), runs.filter(created_at__gte=day)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ROLLUP_LOCK])  # as the ledger's rebuild
        rollups.delete()
        runs.filter(rolled_up=True).update(rolled_up=False)
    return run_rollup()


def _figures(sums: np.ndarray[Any, Any], hist: np.ndarray[Any, Any]) -> list[dict[str, Any]]:
    out = []
    percentiles = {fraction: histograms.percentiles(hist, fraction) for fraction in (0.5, 0.95)}
    for g, (runs, failures, cancelled, count, duration_sum) in enumerate(sums.tolist()):
        out.append({
            "runs": runs,
            "failures": failures,
            "cancelled": cancelled,
            "failure_rate": round(failures / runs, 4) if runs else 0.0,
            "duration_ms_mean": round(duration_sum / count, 1) if count else None,
            "duration_ms_p50": percentiles[0.5][g],
            "duration_ms_p95": percentiles[0.95][g],
        })  # fmt: skip
    return out


def _read(
    workspace_id: int, granularity: str, dimension: str, start: datetime, end: datetime, keys: tuple[str, ...]
) -> tuple[list[tuple[Any, ...]], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """The cells of one dimension in the range: rows, their sums and their histograms."""
    sql = (
        """SELECT to_char(bucket AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"'), key, runs, failures,"""
        f" cancelled, duration_count, duration_ms_sum, duration_hist FROM {RunRollup._meta.db_table}"
        " WHERE workspace_id = %s AND granularity = %s AND dimension = %s AND bucket >= %s AND bucket < %s"
    )
    params: list[Any] = [workspace_id, granularity, dimension, start, end]
    if keys:
        sql += " AND key = ANY(%s)"
        params.append(list(keys))
    with connection.cursor() as cursor:
        cursor.execute(sql + " ORDER BY bucket, key", params)
        rows = cursor.fetchall()
    sums = np.array([row[2:7] for row in rows], dtype=np.int64).reshape(len(rows), 5)
    hist = np.zeros((len(rows), histograms.BUCKETS), dtype=np.int64)
    for i, row in enumerate(rows):
        hist[i, : len(row[7])] = row[7]
    return rows, sums, hist


def run_figures(
    *, workspace_id: int, start: datetime, end: datetime, granularity: str, group_by: str | None,
    keys: tuple[str, ...] = (),
) -> dict[str, Any]:  # fmt: skip
    """Runs in ``[start, end)``: the workspace's totals and one series per key of ``group_by`` (None: the
    workspace; else ``workflow`` or ``deployment``; only ``keys`` when given), each point a bucket, as the
    ledger's dashboard series."""
    dimension = group_by or RunDimension.TOTAL
    rows, sums, hist = _read(workspace_id, granularity, dimension, start, end, keys if group_by else ())
    series_keys = sorted({row[1] for row in rows})
    index = {key: i for i, key in enumerate(series_keys)}
    group_of = np.array([index[row[1]] for row in rows], dtype=np.intp)
    key_sums = histograms.group_sums(sums, group_of, len(series_keys))
    key_hist = histograms.group_sums(hist, group_of, len(series_keys))
    series: list[dict[str, Any]] = [
        {"key": key, "totals": figures, "points": []}
        for key, figures in zip(series_keys, _figures(key_sums, key_hist), strict=True)
    ]
    for row, figures in zip(rows, _figures(sums, hist), strict=True):
        series[index[row[1]]]["points"].append({"bucket": row[0], **figures})
    series.sort(key=lambda s: (-s["totals"]["runs"], s["key"]))
    if dimension != RunDimension.TOTAL:  # every run is in the total; not every run has a deployment
        _rows, sums, hist = _read(workspace_id, granularity, RunDimension.TOTAL, start, end, ())
    totals = _figures(sums.sum(axis=0, keepdims=True), hist.sum(axis=0, keepdims=True))[0]
    return {"totals": totals, "series": series}
