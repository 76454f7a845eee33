"""Usage dashboards at scale: load a ledger of 1,000,000 model calls, roll it up, time dashboard queries.

The ledger is written in bulk by PostgreSQL (``generate_series``): 90 days, 50 deployments, 200 API keys,
5,000 end users, 8 models, three sources, 3 % errors, log-normal latencies, half the calls streamed (with a
TTFT), a fifth priced in CNY. Then ``usage_rollup`` counts it (rows per second), and 200 dashboard queries of
mixed shape run through the same code as the API: a 30-day daily series grouped by deployment, a 24-hour
hourly series of the workspace, and the top-10 end users over 30 days (a fourth shape, all four top-10 tables
at once as the API answers by default, is timed apart).

Run: ``python -m tests.benchmarks.dashboards`` (``--rows N``; ``--quick``: 20,000 rows and 20 queries).
Then the budget check the gateway makes before every model call is timed (three budgets matching the call).
The last line is ``RESULT rollup_rows_per_s=<..> dashboard_p95_ms=<..> budget_check_us=<..> cpu_calibration_ms=<..>``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.benchmarks._calibration import calibration_line, cpu_calibration_ms
from tests.benchmarks._runs_harness import make_workspace, setup_django

DAYS = 90
FOUR_TABLES = "30d all four top-10 tables"


def _load(workspace_id: int, rows: int, end: datetime) -> float:
    """Insert ``rows`` ledger rows spread over the 90 days before ``end``; returns the seconds it took."""
    from django.db import connection

    from llmops.usage.models import UsageRecord

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {UsageRecord._meta.db_table} (
                workspace_id, endpoint_slug, endpoint_version, model_name, provider_kind, operation, source,
                run_id, node_id, deployment_id, api_key_id, end_user, attempt, prompt_tokens, completion_tokens,
                cached_tokens, latency_ms, ttft_ms, cost, currency, status, error_type, error_message,
                created_at, rolled_up)
            SELECT %s, 'ep-' || (g %% 8), 1, 'model-' || (g %% 8), 'openai',
                   CASE WHEN g %% 2 = 0 THEN 'stream' ELSE 'chat' END,
                   (ARRAY['api', 'run', 'evaluation'])[1 + g %% 3], '', '',
                   (1 + (g * 7) %% 50)::text, (1 + (g * 13) %% 200)::text, 'user-' || ((g * 31) %% 5000),
                   1, 50 + (g * 17) %% 2000, (g * 11) %% 600, (g * 3) %% 100,
                   (exp(5.5 + 0.8 * sqrt(-2 * ln(random())) * cos(2 * pi() * random())))::int,
                   CASE WHEN g %% 2 = 0 THEN (exp(5 + 0.5 * sqrt(-2 * ln(random())) * cos(2 * pi() * random())))::int END,
                   ((g %% 1000) + 1) / 1000000.0, CASE WHEN g %% 5 = 0 THEN 'CNY' ELSE 'USD' END,
                   CASE WHEN g %% 33 = 0 THEN 'error' ELSE 'ok' END, '', '',
                   %s - (g::float / %s) * interval '{DAYS} days', false
            FROM generate_series(1, %s) AS g
            """,  # the table name comes from the model
            [workspace_id, end, rows, rows],
        )
    return time.perf_counter() - started


def _queries(workspace: Any, count: int, end: datetime) -> list[tuple[str, float]]:
    """``count`` dashboard queries of mixed shape: (shape, milliseconds) each."""
    from llmops.usage.dashboards import DashboardQuery, dashboard

    shapes = [
        (
            "30d daily by deployment",
            DashboardQuery(end - timedelta(days=30), end, "day", "deployment"),
            False,
        ),
        ("24h hourly, workspace", DashboardQuery(end - timedelta(hours=24), end, "hour"), False),
        (
            "30d top-10 end users",
            DashboardQuery(end - timedelta(days=30), end, "day", None, tops=("end_user",)),
            True,
        ),
    ]
    timings: list[tuple[str, float]] = []
    every_table = DashboardQuery(end - timedelta(days=30), end, "day")
    for i in range(count):
        name, query, with_top = shapes[i % len(shapes)]
        shift = timedelta(days=i % 7)  # not always the same rows (and cache pages)
        query = replace(query, start=query.start - shift, end=query.end - shift)
        started = time.perf_counter()
        dashboard(workspace=workspace, query=query, with_top=with_top)
        timings.append((name, (time.perf_counter() - started) * 1000))
    for i in range(max(1, count // 10)):  # the API's default answer: four top-10 tables (timed apart)
        shift = timedelta(days=i % 7)
        started = time.perf_counter()
        dashboard(
            workspace=workspace, query=DashboardQuery(every_table.start - shift, every_table.end - shift)
        )
        timings.append((FOUR_TABLES, (time.perf_counter() - started) * 1000))
    return timings


def _budget_check_us(workspace: Any, checks: int) -> list[float]:
    """Microseconds of the gateway's budget check (three budgets match the call: workspace, key, end user;
    counters in Redis, budgets cached in the process), ``checks`` times."""
    import asyncio
    from decimal import Decimal

    from llmops.usage.budgets import CallScope, budget_acheck, budget_arecord
    from llmops.usage.models import Budget

    for scope, key in (("workspace", ""), ("api_key", "13"), ("end_user", "")):
        Budget.objects.create(
            workspace=workspace, name=f"bench {scope}", scope=scope, scope_key=key, period="month",
            cap=Decimal("1000000"),
        )  # fmt: skip
    call = CallScope(workspace.pk, "1", "13", "user-42")

    async def measure() -> list[float]:
        await budget_arecord(call, cost=Decimal("0.01"), currency="USD", tokens=10)  # counters exist
        await budget_acheck(call)  # budgets cached
        timings = []
        for _ in range(checks):
            started = time.perf_counter()
            await budget_acheck(call)
            timings.append((time.perf_counter() - started) * 1_000_000)
        return timings

    return asyncio.run(measure())


def _p(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    """Load, roll up, query; print the table and the RESULT line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="20,000 rows, 20 queries (a smoke check)")
    args = parser.parse_args()
    rows, queries = (20_000, 20) if args.quick else (args.rows, args.queries)
    setup_django()
    from django.db import connection

    from llmops.usage.models import UsageRecord, UsageRollup
    from llmops.usage.rollups import usage_rollup

    workspace = make_workspace("bench-dashboards")
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    calibration = cpu_calibration_ms()
    try:
        load_s = _load(workspace.pk, rows, end)
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {UsageRecord._meta.db_table}")
        started = time.perf_counter()
        counted = usage_rollup()
        rollup_s = time.perf_counter() - started
        assert counted >= rows, f"rolled up {counted} of {rows} rows"
        cells = UsageRollup.objects.filter(workspace=workspace).count()
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {UsageRollup._meta.db_table}")
        timings = _queries(workspace, queries, end)
        budget_us = _budget_check_us(workspace, 200 if args.quick else 2000)
    finally:
        UsageRecord.objects.filter(workspace=workspace).delete()
        workspace.delete()
    calibration_after = cpu_calibration_ms()
    print(f"ledger: {rows:,} rows over {DAYS} days loaded in {load_s:.1f} s; rollup: {counted:,} rows in "
          f"{rollup_s:.1f} s = {counted / rollup_s:,.0f} rows/s, {cells:,} rollup cells")  # fmt: skip
    print(f"{'query':<26} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for name in dict.fromkeys(n for n, _ in timings):
        mine = [ms for n, ms in timings if n == name]
        print(
            f"{name:<26} {len(mine):>4} {statistics.median(mine):>8.1f} {_p(mine, 0.95):>8.1f} {max(mine):>8.1f}"
        )
    every = [ms for n, ms in timings if n != FOUR_TABLES]  # the three shapes
    print(
        f"{'all':<26} {len(every):>4} {statistics.median(every):>8.1f} {_p(every, 0.95):>8.1f} {max(every):>8.1f}"
    )
    print(f"budget check before a model call (3 budgets match): p50 {statistics.median(budget_us):.0f} us, "
          f"p95 {_p(budget_us, 0.95):.0f} us over {len(budget_us)}")  # fmt: skip
    print(calibration_line(calibration, calibration_after))
    print(
        f"RESULT rollup_rows_per_s={counted / rollup_s:.0f} dashboard_p95_ms={_p(every, 0.95):.1f} "
        f"budget_check_us={statistics.median(budget_us):.0f} cpu_calibration_ms={calibration:.0f}"
    )


if __name__ == "__main__":
    main()
