"""Runs benchmark: ``python -m tests.benchmarks.runs [--runs 200] [--nodes 10] [--quick]``.

200 runs of a 10-node template workflow go through the service (validation, a queued row, enqueue after
commit) -> Celery (Redis) -> a real worker -> the engine with the PostgreSQL RunStore (a checkpoint per node,
every event stored and published). Measured with 1 and then 2 worker processes: runs/s, p50/p95 end-to-end
latency (created -> finished, from the database clocks) and per-node time inside the worker including
persistence (run elapsed / nodes). Last line: ``RESULT runs_per_s=<..> p50_ms=<..> per_node_ms=<..>``
(from the 2-worker pass). Target: per-node <= 5 ms with persistence. ``--quick``: 10 runs (a smoke check).
"""

from __future__ import annotations

import argparse
import time

from tests.benchmarks._calibration import calibration_line, cpu_calibration_ms
from tests.benchmarks._runs_harness import (
    chain_dsl,
    make_workspace,
    percentile,
    published,
    setup_django,
    start_worker,
    stop,
    wait_workers,
)


def _pass(workflow: object, runs: int, workers: int) -> dict[str, float]:
    from llmops.celery import app
    from llmops.runs.models import FINAL_STATUSES, Run
    from llmops.runs.services import run_start

    app.control.purge()
    processes = [start_worker(f"bench{i}") for i in range(workers)]
    try:
        wait_workers(workers)
        started = time.perf_counter()
        ids = [run_start(workflow=workflow, inputs={"text": "x"}, user=None, trigger="api").id  # type: ignore[arg-type]
               for _ in range(runs)]  # fmt: skip
        while Run.objects.filter(id__in=ids).exclude(status__in=FINAL_STATUSES).exists():
            time.sleep(0.05)
        wall = time.perf_counter() - started
    finally:
        for process in processes:
            stop(process)
    rows = list(
        Run.objects.filter(id__in=ids).values("status", "created_at", "finished_at", "elapsed_ms", "steps")
    )
    failed = sum(1 for r in rows if r["status"] != "succeeded")
    latencies = [
        (r["finished_at"] - r["created_at"]).total_seconds() * 1000 for r in rows if r["finished_at"]
    ]
    per_node = [r["elapsed_ms"] / r["steps"] for r in rows if r["steps"] and r["elapsed_ms"] is not None]
    return {
        "workers": workers, "runs": runs, "failed": failed, "runs_per_s": runs / wall,
        "p50_ms": percentile(latencies, 0.5), "p95_ms": percentile(latencies, 0.95),
        "per_node_ms": percentile(per_node, 0.5),
    }  # fmt: skip


def main() -> None:
    """Run both passes and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--nodes", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="10 runs (a smoke check for the test suite)")
    args = parser.parse_args()
    runs = 10 if args.quick else args.runs
    setup_django()
    workspace = make_workspace("bench-runs")
    workflow = published(workspace, "chain", chain_dsl(args.nodes))
    calibration = cpu_calibration_ms()
    try:
        results = [_pass(workflow, runs, workers) for workers in (1, 2)]
    finally:
        workspace.delete()
    calibration_after = cpu_calibration_ms()
    print(
        f"{'workers':>7} {'runs':>5} {'failed':>6} {'runs/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'ms/node':>8}"
    )
    for r in results:
        print(f"{r['workers']:>7} {r['runs']:>5} {r['failed']:>6} {r['runs_per_s']:>8.1f} {r['p50_ms']:>8.1f} "
              f"{r['p95_ms']:>8.1f} {r['per_node_ms']:>8.2f}")  # fmt: skip
    best = results[-1]
    print(calibration_line(calibration, calibration_after))
    print(
        f"RESULT runs_per_s={best['runs_per_s']:.1f} p50_ms={best['p50_ms']:.1f} "
        f"per_node_ms={best['per_node_ms']:.2f} cpu_calibration_ms={calibration:.0f}"
    )


if __name__ == "__main__":
    main()
