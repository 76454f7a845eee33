"""Chaos benchmark: ``python -m tests.benchmarks.chaos [--runs 100] [--workers 2] [--nodes 40] [--quick]``.

While ``--runs`` runs of a template chain execute on real worker processes, a random worker is killed with
SIGKILL (its whole process group, mid-run) at random moments and a fresh one started in its place. The
sweeper (what beat runs every few seconds) re-enqueues runs whose heartbeat expired; they resume from their
checkpoints. Counts: completed (succeeded), lost (not finished in time, or failed), duplicated (more than
one ``run_finished``: executed twice to completion). Last line ``RESULT completed=<n> lost=<n>
duplicated=<n> cpu_calibration_ms=<..>``. Target: 100, 0, 0. ``--quick``: 12 runs of 20 nodes (a smoke check).
"""

from __future__ import annotations

import argparse
import random
import signal
import time

from tests.benchmarks._calibration import calibration_line, cpu_calibration_ms
from tests.benchmarks._runs_harness import (
    chain_dsl,
    make_workspace,
    published,
    setup_django,
    start_worker,
    stop,
    wait_workers,
)


def main() -> None:
    """Submit the runs, kill workers while they execute, then count the outcomes."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--nodes", type=int, default=40)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="12 runs of 20 nodes (a smoke check)")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.nodes = 12, 20
    calibration = cpu_calibration_ms()
    setup_django()
    from django.db.models import Count, Q

    from llmops.celery import app
    from llmops.runs.models import FINAL_STATUSES, Run
    from llmops.runs.services import run_start, runs_sweep

    rng = random.Random(args.seed)
    workspace = make_workspace("bench-chaos")
    workflow = published(workspace, "chain", chain_dsl(args.nodes))
    app.control.purge()
    workers = [start_worker(f"chaos{i}") for i in range(args.workers)]
    kills = 0
    try:
        wait_workers(args.workers)
        ids = [run_start(workflow=workflow, inputs={"text": "x"}, user=None).id for _ in range(args.runs)]
        started = time.monotonic()
        next_kill = started + rng.uniform(0.3, 1.5)
        next_sweep = started + 1.0
        while time.monotonic() - started < args.timeout:
            pending = Run.objects.filter(id__in=ids).exclude(status__in=FINAL_STATUSES).count()
            if not pending:
                break
            now = time.monotonic()
            if now >= next_kill and pending > 5:
                index = rng.randrange(len(workers))
                stop(workers[index], signal.SIGKILL)
                workers[index] = start_worker(f"chaos{index}-{kills}")
                kills += 1
                next_kill = now + rng.uniform(0.5, 2.5)
            if now >= next_sweep:
                runs_sweep()
                next_sweep = now + 1.0
            time.sleep(0.1)
        elapsed = time.monotonic() - started
        rows = Run.objects.filter(id__in=ids).annotate(
            finishes=Count("events", filter=Q(events__type="run_finished"))
        )
        completed = rows.filter(status="succeeded").count()
        duplicated = rows.filter(finishes__gt=1).count()
        resumed = rows.filter(attempts__gt=1).count()
        lost = args.runs - completed
    finally:
        for worker in workers:
            stop(worker)
        workspace.delete()
    print(
        f"{'runs':>5} {'workers':>7} {'kills':>5} {'resumed':>7} {'completed':>9} {'lost':>4} {'dup':>4} {'s':>6}"
    )
    print(f"{args.runs:>5} {args.workers:>7} {kills:>5} {resumed:>7} {completed:>9} {lost:>4} {duplicated:>4} "
          f"{elapsed:>6.1f}")  # fmt: skip
    print(calibration_line(calibration, cpu_calibration_ms()))
    print(
        f"RESULT completed={completed} lost={lost} duplicated={duplicated} cpu_calibration_ms={calibration:.0f}"
    )


if __name__ == "__main__":
    main()
