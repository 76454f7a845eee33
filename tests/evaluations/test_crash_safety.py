"""A worker killed mid-evaluation: the item's target run resumes from its checkpoints, the item is scored
by another slot from that same run (the target is not run again), and nothing is lost or scored twice."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from llmops.accounts.models import Workspace
from llmops.evaluations.execution import items_sweep
from llmops.evaluations.models import EvaluationItem, ItemStatus, RunStatus
from llmops.evaluations.services import evaluation_run_create
from llmops.runs.models import NodeRun, Run, Trigger
from llmops.runs.services import runs_sweep
from tests.benchmarks._runs_harness import chain_dsl
from tests.evaluations.factories import published_dataset
from tests.evaluations.test_evaluation_runs import wait_run
from tests.studio.factories import published_workflow
from tests.support.processes import wait_until_dead

NODES = 300


def _running_target(timeout: float = 30.0) -> tuple[EvaluationItem, Run]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        item = EvaluationItem.objects.filter(status=ItemStatus.RUNNING, target_run__isnull=False).first()
        if item is not None and NodeRun.objects.filter(run_id=str(item.target_run_id)).count() >= 20:
            return item, Run.objects.get(pk=str(item.target_run_id))
        time.sleep(0.02)
    states = list(EvaluationItem.objects.values_list("status", "target_run_id", "error"))
    runs = list(Run.objects.values_list("status", "steps", "error"))
    raise AssertionError(f"no item got under way: {states} {runs}")


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_item_loses_nothing_and_scores_nothing_twice(
    celery_worker_process: subprocess.Popen[bytes], workspace: Workspace
) -> None:
    # given: three items whose target (a 300-node chain) runs inline in the evaluation slot
    workflow = published_workflow(workspace=workspace, slug="long", draft=chain_dsl(NODES))
    content = {"items": [{"id": f"c{i}", "inputs": {"text": f"x{i}"}, "expected": f"x{i}"} for i in range(3)]}
    dataset = published_dataset(workspace=workspace, slug="texts", draft=content)
    run = evaluation_run_create(
        workspace=workspace, user=None, dataset=dataset, workflow=workflow, max_concurrency=1,
        evaluators=[{"name": "echo", "kind": "starts_with", "config": {}}],
    )  # fmt: skip
    item, target = _running_target()
    pid = int(target.worker.rsplit(":", 1)[1])
    # when: the process executing it is killed without warning, and its claims go stale (backdated)
    os.kill(pid, signal.SIGKILL)
    wait_until_dead(pid)
    long_ago = timezone.now() - timedelta(minutes=10)
    Run.objects.filter(pk=target.pk).update(heartbeat_at=long_ago, enqueued_at=long_ago)
    EvaluationItem.objects.filter(pk=item.pk).update(claimed_at=long_ago)
    with override_settings(LLMOPS_RUN_STALE_SECONDS=3, LLMOPS_EVAL_ITEM_STALE_SECONDS=5):
        runs_sweep()
        assert items_sweep() == 1
    # then: the run completes with every item scored once, the killed item from its first target run
    finished = wait_run(run.pk, timeout=120)
    assert finished.status == RunStatus.COMPLETED
    items = {i.item_id: i for i in EvaluationItem.objects.filter(run=run)}
    assert {i.status for i in items.values()} == {ItemStatus.SCORED}
    assert all(i.passed for i in items.values())
    assert items[item.item_id].target_run_id == target.pk and items[item.item_id].attempts == 2
    assert Run.objects.filter(trigger=Trigger.EVALUATION).count() == 3  # no target ran twice
    resumed = Run.objects.get(pk=target.pk)
    assert resumed.attempts >= 2 and NodeRun.objects.filter(run=resumed).count() == NODES
