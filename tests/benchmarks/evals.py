"""Benchmark: evaluation runs on real Celery workers, 1 then 2 worker processes.

Run with ``python -m tests.benchmarks.evals`` (after ``make services``). A dataset of 2,000 items runs through
a fast target (start -> template -> end: executed instantly) and five deterministic evaluators (equals,
contains, regex, Levenshtein, JSON-valid negated), on the ``evals`` queue with one slot per worker process.
It prints items/s, the per-item platform overhead (a slot's wall time per item minus the target's own
execution time: claiming, storing the target run, scoring, writing the result, progress events) and the
scaling from 1 to 2 workers. The last line is ``RESULT items_per_s=<..> overhead_ms=<..> scaling_2w=<..>``.
``--quick``: 40 items (a smoke check for the test suite).

Then a second measurement, the LLM judge: ``--judge-items`` (default 200; 0 skips it, ``--quick`` runs 1) items
through a fast target that answers a canned answer (right for half the items, wrong for the other half, in
Chinese and English), graded by an ``llm_judge`` evaluator on the bundled local chat model (Qwen2.5-Coder-1.5B
-Instruct on llama-server, started here), one worker. It prints items/s, seconds per item and how often the
judge's pass/fail matches the known answer; the RESULT line gains ``judge_items_per_s`` and ``judge_accuracy``.
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


# (question, right answer, wrong answer): the judge sees the question, the reference and one of the two.
JUDGE_FACTS = [
    ("What is the capital of France?", "Paris", "Berlin"),
    ("How many legs does a spider have?", "Eight", "Six"),
    ("Which planet is closest to the Sun?", "Mercury", "Mars"),
    ("What gas do plants take in for photosynthesis?", "Carbon dioxide", "Helium"),
    ("Who wrote Romeo and Juliet?", "William Shakespeare", "Charles Dickens"),
    ("中国的首都是哪座城市？", "北京", "上海"),
    ("一年有多少个月？", "十二个月", "十个月"),
    ("水在标准大气压下的沸点是多少摄氏度？", "100 摄氏度", "50 摄氏度"),
    ("《红楼梦》的作者是谁？", "曹雪芹", "鲁迅"),
    ("太阳从哪个方向升起？", "东方", "西方"),
]
JUDGE_PROMPT = (
    "You grade answers.\nQuestion: {{ inputs.question }}\nReference answer: {{ expected }}\n"
    "Candidate answer: {{ output }}\nRubric: {{ rubric }}\n"
    "Score the candidate from 1 (wrong) to 5 (fully correct, same meaning as the reference; wording and"
    " language do not matter), and give a short reason."
)


def _judge_dsl() -> dict[str, Any]:
    return {
        "inputs": [{"name": "question", "type": "text"}, {"name": "answer", "type": "text"}],
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "say", "type": "template", "config": {"template": "{{ start.answer }}"}},
            {"id": "end", "type": "end", "config": {"outputs": {"answer": "{{ say.output }}"}}},
        ],
        "edges": [{"source": "start", "target": "say"}, {"source": "say", "target": "end"}],
    }


def _judge_pass(workspace: Any, items: int) -> dict[str, float]:
    """``items`` canned answers graded by the local model as judge, on one worker."""
    from devservices.localmodels import INSTRUCT_MODEL, running_chat_server
    from llmops.core import versioning
    from llmops.evaluations.models import Dataset, EvaluationItem
    from llmops.evaluations.services import evaluation_run_create
    from llmops.providers.services import model_endpoint_create

    rows, truth = [], {}
    for n in range(items):
        question, right, wrong = JUDGE_FACTS[n % len(JUDGE_FACTS)]
        is_right = (n // len(JUDGE_FACTS)) % 2 == 0
        rows.append({"id": f"j{n}", "inputs": {"question": question, "answer": right if is_right else wrong},
                     "expected": right})  # fmt: skip
        truth[f"j{n}"] = is_right
    dataset = Dataset.objects.create(workspace=workspace, name="judge", slug="judge", draft={"items": rows})
    versioning.version_publish(resource=dataset, user=None)
    workflow = published(workspace, "canned", _judge_dsl())
    with running_chat_server(name=INSTRUCT_MODEL) as url:
        endpoint = model_endpoint_create(
            workspace=workspace, user=None, name="judge", slug="bench-judge",
            draft={"provider_kind": "llamacpp", "model": INSTRUCT_MODEL, "model_type": "chat", "base_url": url,
                   "context_window": 4096, "timeout_seconds": 300},
        )  # fmt: skip
        versioning.version_publish(resource=endpoint, user=None)
        judge = {
            "name": "judge", "kind": "llm_judge",
            "config": {"model": "bench-judge", "rubric": "The answer states the same fact as the reference.",
                       "prompt": JUDGE_PROMPT},
        }  # fmt: skip
        process = _worker("bench-judge")
        try:
            wait_workers(1)
            started = time.perf_counter()
            run = evaluation_run_create(
                workspace=workspace, user=None, dataset=dataset, workflow=workflow, evaluators=[judge],
                max_concurrency=1,
            )  # fmt: skip
            _wait_finished(run.pk, poll=0.5)
            elapsed = time.perf_counter() - started
        finally:
            stop(process)
    graded = list(EvaluationItem.objects.filter(run=run).values("item_id", "passed", "scores"))
    errors = sum(1 for row in graded if any(score.get("error") for score in row["scores"]))
    agree = sum(1 for row in graded if row["passed"] is not None and row["passed"] == truth[row["item_id"]])
    return {
        "items": items, "seconds": elapsed, "items_per_s": items / elapsed, "s_per_item": elapsed / items,
        "accuracy": agree / items, "errors": errors,
    }  # fmt: skip


def _wait_finished(run_id: int, poll: float) -> None:
    from llmops.evaluations.models import EvaluationRun, RunStatus

    while EvaluationRun.objects.filter(pk=run_id, status__in=[RunStatus.QUEUED, RunStatus.RUNNING]).exists():
        time.sleep(poll)


def _worker(name: str) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "celery", "-A", "llmops", "worker", "-Q", "evals", "--concurrency", "1",
        "--loglevel", "ERROR", "--hostname", f"{name}@%h", "--without-gossip", "--without-mingle",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "platform")])}
    return subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)


def _pass(workspace: Any, dataset: Any, workflow: Any, items: int, workers: int) -> dict[str, float]:
    from django.db.models import Avg

    from llmops.evaluations.models import EvaluationItem
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
        _wait_finished(run.pk, poll=0.05)
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
    parser.add_argument("--judge-items", type=int, default=200, help="items graded by the local LLM judge")
    args = parser.parse_args()
    items = 40 if args.quick else args.items
    judge_items = 1 if args.quick else args.judge_items
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
        judged = _judge_pass(workspace, judge_items) if judge_items > 0 else None
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
    judge_figures = ""
    if judged is not None:
        print(f"\nLLM judge (local {judged['items']} items, 1 worker): {judged['seconds']:.1f} s, "
              f"{judged['items_per_s']:.3f} items/s, {judged['s_per_item']:.2f} s/item, judge agrees with the "
              f"known answer on {judged['accuracy']:.1%}, {judged['errors']} judge errors")  # fmt: skip
        judge_figures = (
            f" judge_items_per_s={judged['items_per_s']:.3f} judge_accuracy={judged['accuracy']:.3f}"
        )
    print(calibration_line(calibration, calibration_after))
    print(
        f"RESULT items_per_s={two['items_per_s']:.1f} overhead_ms={one['overhead_ms']:.2f} "
        f"scaling_2w={two['items_per_s'] / one['items_per_s']:.2f}{judge_figures} cpu_calibration_ms={calibration:.0f}"
    )


if __name__ == "__main__":
    main()
