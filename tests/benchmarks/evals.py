"""Benchmark: evaluation runs on real Celery workers, 1 then 2 worker processes.

Run with ``python -m tests.benchmarks.evals`` (after ``make services``). A dataset of 2,000 items runs through
a fast target (start -> template -> end: executed instantly) and five deterministic evaluators (equals,
contains, regex, Levenshtein, JSON-valid negated), on the ``evals`` queue with one slot per worker process.
It prints items/s, the per-item platform overhead (a slot's wall time per item minus the target's own
execution time: claiming, storing the target run, scoring, writing the result, progress events) and the
scaling from 1 to 2 workers. The last line is ``RESULT items_per_s=<..> overhead_ms=<..> scaling_2w=<..>``.
``--quick``: 40 items (a smoke check for the test suite).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from typing import Any

from tests.benchmarks._calibration import calibration_line, cpu_calibration_ms
from tests.benchmarks._runs_harness import ROOT, make_workspace, published, setup_django, stop, wait_workers

EVALUATORS = [
    {"name": "exact", "kind": "equals", "config": {}},
    {"name": "mentions", "kind": "contains", "config": {"value": "Hello"}},
    {"name": "shape", "kind": "regex", "config": {"pattern": r"^Hello \w+$"}},
    {"name": "close", "kind": "levenshtein", "config": {"threshold": 0.8}},
    {"name": "not_json", "kind": "json_valid", "config": {"negate": True}},
]


def _dsl() -> dict[str, Any]:
    return {
        "inputs": [{"name": "name", "type": "text"}],
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "greet", "type": "template", "config": {"template": "Hello {{ start.name }}"}},
            {"id": "end", "type": "end", "config": {"outputs": {"answer": "{{ greet.output }}"}}},
        ],
        "edges": [{"source": "start", "target": "greet"}, {"source": "greet", "target": "end"}],
    }


def _worker(name: str) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "celery", "-A", "llmops", "worker", "-Q", "evals", "--concurrency", "1",
        "--loglevel", "ERROR", "--hostname", f"{name}@%h", "--without-gossip", "--without-mingle",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "platform")])}
    return subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)


def _pass(workspace: Any, dataset: Any, workflow: Any, items: int, workers: int) -> dict[str, float]:
    from django.db.models import Avg

    from llmops.evaluations.models import EvaluationItem, EvaluationRun, RunStatus
    from llmops.evaluations.services import evaluation_run_create
    from llmops.runs.models import Run

    processes = [_worker(f"bench-evals-{i}") for i in range(workers)]
    try:
        wait_workers(workers)
        started = time.perf_counter()
        run = evaluation_run_create(
            workspace=workspace, user=None, dataset=dataset, workflow=workflow, evaluators=EVALUATORS,
            max_concurrency=workers,
        )  # fmt: skip
        while EvaluationRun.objects.filter(
            pk=run.pk, status__in=[RunStatus.QUEUED, RunStatus.RUNNING]
        ).exists():
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
    finally:
        for process in processes:
            stop(process)
    scored = EvaluationItem.objects.filter(run=run, status="scored").count()
    targets = EvaluationItem.objects.filter(run=run).values("target_run_id")
    target_ms = Run.objects.filter(pk__in=targets).aggregate(mean=Avg("elapsed_ms"))["mean"] or 0.0
    per_item_ms = elapsed * 1000 * workers / items
    return {
        "workers": workers, "items": items, "scored": scored, "seconds": elapsed, "items_per_s": items / elapsed,
        "per_item_ms": per_item_ms, "target_ms": target_ms, "overhead_ms": per_item_ms - target_ms,
    }  # fmt: skip


def main() -> None:
    """Run both passes and print the table and the RESULT line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--quick", action="store_true", help="40 items (a smoke check for the test suite)")
    args = parser.parse_args()
    items = 40 if args.quick else args.items
    setup_django()
    from llmops.core import versioning
    from llmops.evaluations.models import Dataset

    workspace = make_workspace("bench-evals")
    workflow = published(workspace, "greet", _dsl())
    content = {
        "items": [
            {"id": f"i{n}", "inputs": {"name": f"user{n}"}, "expected": f"Hello user{n}"}
            for n in range(items)
        ]
    }
    dataset = Dataset.objects.create(workspace=workspace, name="bench", slug="bench", draft=content)
    versioning.version_publish(resource=dataset, user=None)
    calibration = cpu_calibration_ms()
    try:
        results = [_pass(workspace, dataset, workflow, items, workers) for workers in (1, 2)]
    finally:
        workspace.delete()
    calibration_after = cpu_calibration_ms()
    print(
        f"{'workers':>7} {'items':>6} {'scored':>6} {'seconds':>8} {'items/s':>8} {'ms/item':>8} {'target ms':>9} {'overhead':>8}"
    )
    for r in results:
        print(f"{r['workers']:>7} {r['items']:>6} {r['scored']:>6} {r['seconds']:>8.1f} {r['items_per_s']:>8.1f} "
              f"{r['per_item_ms']:>8.2f} {r['target_ms']:>9.2f} {r['overhead_ms']:>8.2f}")  # fmt: skip
    one, two = results
    print(calibration_line(calibration, calibration_after))
    print(
        f"RESULT items_per_s={two['items_per_s']:.1f} overhead_ms={one['overhead_ms']:.2f} "
        f"scaling_2w={two['items_per_s'] / one['items_per_s']:.2f} cpu_calibration_ms={calibration:.0f}"
    )


if __name__ == "__main__":
    main()
