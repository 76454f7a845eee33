"""Rolling the usage ledger up into hourly and daily buckets per dimension (what dashboards read).

Every ledger row is counted exactly once: a batch takes rows not yet rolled up (``rolled_up = false``, late
ones included whatever their time), adds them into the rollup cells with an upsert and marks them, in one
transaction, holding an advisory lock (batches of several workers run one after the other). A crash in between rolls the
whole batch back. ``usage_rollup_rebuild`` starts over from the ledger.

Cells: the workspace total, deployment, workflow, endpoint, model and source by hour and by day, with latency
and TTFT histograms; API key and end user by day (their cardinality is high; no histograms).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection, transaction

from llmops.runs.models import Run
from llmops.studio.models import Workflow
from llmops.usage import histograms
from llmops.usage.models import Dimension, Granularity, UsageRecord, UsageRollup

BATCH_SIZE = 20_000
ROLLUP_LOCK = 0x75736167  # the advisory lock key of the rollup ("usag")
# The dimensions kept per hour (with histograms); the others are kept per day only.
HOURLY_DIMENSIONS = (
    Dimension.TOTAL, Dimension.DEPLOYMENT, Dimension.WORKFLOW, Dimension.ENDPOINT, Dimension.MODEL,
    Dimension.SOURCE,
)  # fmt: skip
DAILY_ONLY_DIMENSIONS = (Dimension.API_KEY, Dimension.END_USER)
_UUID = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


@dataclass(slots=True)
class _Cell:
    requests: int = 0
    errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cost: Decimal = Decimal(0)
    latency_ms_sum: int = 0
    latency_hist: list[int] = field(default_factory=list)
    ttft_count: int = 0
    ttft_hist: list[int] = field(default_factory=list)


def _batch_sql() -> str:
    usage, runs, flows = UsageRecord._meta.db_table, Run._meta.db_table, Workflow._meta.db_table
    return f"""
        SELECT u.id, u.workspace_id, u.created_at, u.deployment_id, COALESCE(w.slug, ''), u.endpoint_slug,
               u.model_name, u.api_key_id, u.end_user, u.source, u.currency, u.status, u.prompt_tokens,
               u.completion_tokens, u.cached_tokens, u.cost, u.latency_ms, u.ttft_ms
        FROM {usage} u
        LEFT JOIN {runs} r ON r.id = CASE WHEN u.run_id ~ '{_UUID}' THEN u.run_id::uuid END
        LEFT JOIN {flows} w ON w.id = r.workflow_id
        WHERE u.rolled_up = false
        ORDER BY u.id
        LIMIT %s
        FOR UPDATE OF u SKIP LOCKED
    """


_COLUMNS = (
    "workspace_id", "granularity", "dimension", "bucket", "key", "currency", "requests", "errors", "prompt_tokens",
    "completion_tokens", "cached_tokens", "cost", "latency_ms_sum", "latency_hist", "ttft_count", "ttft_hist",
)  # fmt: skip
_TYPES = ("int8", "text", "text", "timestamptz", "text", "text", "int8", "int8", "int8", "int8", "int8",
          "numeric", "int8", "int4[]", "int8", "int4[]")  # fmt: skip
_STAGE = "usage_rollup_stage"


def _stage_sql() -> str:
    """A temporary table (per connection, emptied at commit) the batch's cells are copied into."""
    columns = ", ".join(f"{c} {t}" for c, t in zip(_COLUMNS, _TYPES, strict=True))
    return f"CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGE} ({columns}) ON COMMIT DELETE ROWS"


def _upsert_sql() -> str:
    """Add the staged cells into the rollups (a new cell is inserted, an existing one summed into)."""
    table = UsageRollup._meta.db_table

    def added(column: str) -> str:
        return f"{column} = {table}.{column} + EXCLUDED.{column}"

    def merged(column: str) -> str:  # element-wise sum of two histograms of any lengths
        return (
            f"{column} = ARRAY(SELECT COALESCE(a, 0) + COALESCE(b, 0) FROM "
            f"unnest({table}.{column}, EXCLUDED.{column}) WITH ORDINALITY AS t(a, b, i) ORDER BY i)"
        )

    sums = ["requests", "errors", "prompt_tokens", "completion_tokens", "cached_tokens", "cost",
            "latency_ms_sum", "ttft_count"]  # fmt: skip
    columns = ", ".join(_COLUMNS)
    return f"""
        INSERT INTO {table} ({columns}) SELECT {columns} FROM {_STAGE}
        ON CONFLICT (workspace_id, granularity, dimension, bucket, key, currency) DO UPDATE SET
            {", ".join(added(c) for c in sums)}, {merged("latency_hist")}, {merged("ttft_hist")}
    """


def _keys(row: tuple[Any, ...]) -> dict[str, str]:
    _id, _ws, _at, deployment, workflow, endpoint, model, api_key, end_user, source = row[:10]
    return {
        Dimension.TOTAL: "", Dimension.DEPLOYMENT: deployment, Dimension.WORKFLOW: workflow,
        Dimension.ENDPOINT: endpoint, Dimension.MODEL: model, Dimension.SOURCE: source,
        Dimension.API_KEY: api_key, Dimension.END_USER: end_user,
    }  # fmt: skip


def _add(cell: _Cell, row: tuple[Any, ...], *, with_histograms: bool) -> None:
    status, prompt, completion, cached, cost, latency, ttft = row[11:18]
    cell.requests += 1
    cell.errors += status != "ok"
    cell.prompt_tokens += prompt
    cell.completion_tokens += completion
    cell.cached_tokens += cached
    cell.cost += cost
    cell.latency_ms_sum += latency
    if with_histograms:
        _count(cell.latency_hist, histograms.bucket_of(latency))
        if ttft is not None:
            cell.ttft_count += 1
            _count(cell.ttft_hist, histograms.bucket_of(ttft))


def _count(histogram: list[int], index: int) -> None:
    if len(histogram) <= index:  # kept only as long as its last non-empty bucket
        histogram.extend([0] * (index + 1 - len(histogram)))
    histogram[index] += 1


def _cells(rows: list[tuple[Any, ...]]) -> dict[tuple[Any, ...], _Cell]:
    cells: dict[tuple[Any, ...], _Cell] = defaultdict(_Cell)
    for row in rows:
        workspace, at, currency = row[1], row[2], row[10]
        hour = at.replace(minute=0, second=0, microsecond=0)
        day = hour.replace(hour=0)
        for dimension, key in _keys(row).items():
            if dimension in HOURLY_DIMENSIONS:
                _add(
                    cells[(workspace, Granularity.HOUR, dimension, hour, key, currency)],
                    row,
                    with_histograms=True,
                )
                _add(
                    cells[(workspace, Granularity.DAY, dimension, day, key, currency)],
                    row,
                    with_histograms=True,
                )
            else:
                _add(
                    cells[(workspace, Granularity.DAY, dimension, day, key, currency)],
                    row,
                    with_histograms=False,
                )
    return cells


def usage_rollup_batch(limit: int = BATCH_SIZE) -> int:
    """Roll up to ``limit`` ledger rows not yet counted; returns how many were."""
    with transaction.atomic(), connection.cursor() as cursor:
        # One batch at a time across workers: two batches adding into the same cells would deadlock.
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ROLLUP_LOCK])
        cursor.execute(_batch_sql(), [limit])
        rows = cursor.fetchall()
        if not rows:
            return 0
        cursor.execute(_stage_sql())
        cursor.execute(f"TRUNCATE {_STAGE}")  # empty even when the caller's transaction has not committed
        # COPY is an order of magnitude faster than one upsert statement per cell.
        with cursor.cursor.copy(f"COPY {_STAGE} ({', '.join(_COLUMNS)}) FROM STDIN") as copy:
            copy.set_types(list(_TYPES))
            for key, c in _cells(rows).items():
                copy.write_row(
                    (*key, c.requests, c.errors, c.prompt_tokens, c.completion_tokens, c.cached_tokens, c.cost,
                     c.latency_ms_sum, c.latency_hist, c.ttft_count, c.ttft_hist)
                )  # fmt: skip
        cursor.execute(_upsert_sql())
        cursor.execute(
            f"UPDATE {UsageRecord._meta.db_table} SET rolled_up = true WHERE id = ANY(%s)",
            [[row[0] for row in rows]],
        )
    return len(rows)


def batches_drain(batch: Callable[[int], int], *, size: int, most: int | None) -> int:
    """Run ``batch(limit)`` until it takes nothing or ``most`` were taken; returns how many were."""
    done = 0
    while most is None or done < most:
        step = batch(size if most is None else min(size, most - done))
        if not step:
            break
        done += step
    return done


def usage_rollup(*, max_rows: int | None = None) -> int:
    """Roll up every ledger row not yet counted (at most ``max_rows``); returns how many were."""
    return batches_drain(usage_rollup_batch, size=BATCH_SIZE, most=max_rows)


def usage_rollup_rebuild(*, workspace_id: int | None = None, since: datetime | None = None) -> int:
    """Drop the rollups (of one workspace, from ``since``: whole days) and count the ledger again."""
    rollups = UsageRollup.objects.all()
    records = UsageRecord.objects.all()
    if workspace_id is not None:
        rollups, records = (
            rollups.filter(workspace_id=workspace_id),
            records.filter(workspace_id=workspace_id),
        )
    if since is not None:
        day = since.replace(hour=0, minute=0, second=0, microsecond=0)
        rollups, records = rollups.filter(bucket__gte=day), records.filter(created_at__gte=day)
    with transaction.atomic(), connection.cursor() as cursor:
        # Under the batches' lock: a batch committing in between would keep its cells and be counted again.
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ROLLUP_LOCK])
        rollups.delete()
        records.filter(rolled_up=True).update(rolled_up=False)
    return usage_rollup()
