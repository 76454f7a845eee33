"""Debug runs from the canvas: the draft without publishing it, or one node with hand-entered inputs.

A debug run is an ordinary run (queued, executed by a worker, live over the websocket, cancellable) pinned to
a **debug snapshot** of the draft (``WorkflowVersion.debug``, hidden from versions, ``latest`` and labels).
Its model calls are metered with source ``debug``, so usage dashboards keep them out of production totals.

A single-node run executes the smaller workflow of :func:`workflows.node_debug_plan`: the nodes upstream of
the node are written as finished checkpoints holding the entered values, so the worker restores them (as it
would on a resume) and runs only the node.
"""

from __future__ import annotations

import json
import time
from typing import Any

from django.db import transaction

from llmops.accounts.models import User
from llmops.core.enqueue import enqueue_on_commit
from llmops.core.errors import ValidationError
from llmops.core.models import content_hash
from llmops.runs.models import NodeRun, Run, Trigger
from llmops.runs.services import run_inputs_validate
from llmops.studio.models import Workflow, WorkflowVersion
from llmops.studio.services import workflow_draft_validate, workflow_problems_error
from workflows import WorkflowValidationError, node_debug_plan

MAX_VALUES_BYTES = 1024 * 1024  # hand-entered node outputs of one single-node run, as JSON


def debug_snapshot(*, workflow: Workflow, content: dict[str, Any], user: User | None) -> WorkflowVersion:
    """The debug snapshot holding ``content`` (an existing one with the same content is reused)."""
    digest = content_hash(content)
    existing = WorkflowVersion.snapshots.filter(resource=workflow, debug=True, content_hash=digest).first()
    if existing is not None:
        return existing
    return WorkflowVersion.snapshots.create(
        resource=workflow,
        debug=True,
        number=0,
        content=content,
        content_hash=digest,
        message="debug run from the canvas",
        author=user,
    )


@transaction.atomic
def debug_run_start(
    *, workflow: Workflow, draft: dict[str, Any] | None, inputs: Any, user: User | None
) -> Run:
    """Run a draft (the one given, else the stored one) without publishing it; 400 on its problems
    (``draft.<path>``) or bad inputs (``inputs.<name>``)."""
    content = workflow_draft_validate(draft=workflow.draft if draft is None else draft)
    snapshot = debug_snapshot(workflow=workflow, content=content, user=user)
    return _queued(
        Run.objects.create(
            workspace_id=workflow.workspace_id,
            workflow=workflow,
            workflow_version=snapshot,
            inputs=run_inputs_validate(snapshot, inputs),
            created_by=user,
            trigger=Trigger.DEBUG,
        )
    )


@transaction.atomic
def node_debug_run_start(
    *,
    workflow: Workflow,
    draft: dict[str, Any] | None,
    node: str,
    inputs: Any,
    values: Any,
    user: User | None,
) -> Run:
    """Run node ``node`` of a draft alone on the run's ``inputs`` (every input optional) and ``values``, the
    outputs to assume for upstream nodes (``{"retrieve": {"result": [...]}}``; a node not given outputs
    nothing). 400 on the draft's problems, an unknown node or one inside a container (``node``), and values
    for nodes that are not upstream (``values.<id>``)."""
    content = workflow_draft_validate(draft=workflow.draft if draft is None else draft)
    try:
        plan = node_debug_plan(content, node)
    except WorkflowValidationError as exc:
        node_problems = [p for p in exc.problems if p.path == "node"]
        if node_problems:
            raise ValidationError(
                node_problems[0].message, fields={"node": [node_problems[0].message]}
            ) from None
        raise workflow_problems_error(exc.problems) from None
    values = _values_check(values, plan.restore)
    snapshot = debug_snapshot(workflow=workflow, content=plan.workflow.to_dict(), user=user)
    run = Run.objects.create(
        workspace_id=workflow.workspace_id,
        workflow=workflow,
        workflow_version=snapshot,
        inputs=run_inputs_validate(snapshot, inputs),
        created_by=user,
        trigger=Trigger.DEBUG,
        debug_node=node,
    )
    _checkpoints_write(
        run, [(node_id, _type_of(plan.workflow, node_id), values.get(node_id, {}), branch)
              for node_id, branch in plan.restore.items()],
    )  # fmt: skip
    return _queued(run)


def _values_check(values: Any, restore: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Entered values: an object of objects keyed by upstream node ids, at most ``MAX_VALUES_BYTES``."""
    if values is None:
        return {}
    if not isinstance(values, dict) or not all(isinstance(v, dict) for v in values.values()):
        raise ValidationError(
            "Give each upstream node's outputs as an object.",
            fields={"values": ["Expected {node id: {output: value}}."]},
        )
    if len(json.dumps(values, default=str)) > MAX_VALUES_BYTES:
        message = f"At most {MAX_VALUES_BYTES // 1024} KiB of entered values."
        raise ValidationError(message, fields={"values": [message]})
    unknown = [k for k in values if k not in restore]
    if unknown:
        raise ValidationError(
            f"Not upstream of the node: {', '.join(sorted(unknown))}.",
            fields={
                f"values.{k}": [
                    "Not a node upstream of the node being run (the start node's are the inputs)."
                ]
                for k in unknown
            },
        )
    return values


def _checkpoints_write(run: Run, nodes: list[tuple[str, str, dict[str, Any], str]]) -> None:
    """Finished checkpoints ``(node id, type, outputs, branch)`` the worker restores instead of running."""
    now = time.time_ns() // 1000
    NodeRun.objects.bulk_create(
        NodeRun(
            run=run,
            node_id=node_id,
            node_type=node_type,
            status="succeeded",
            outputs=outputs,
            branch=branch,
            sequence=now + i,
        )
        for i, (node_id, node_type, outputs, branch) in enumerate(nodes)
    )


def _type_of(workflow: Any, node_id: str) -> str:
    return next((n.type for n in workflow.nodes if n.id == node_id), "")


def _queued(run: Run) -> Run:
    from llmops.runs.tasks import run_execute

    enqueue_on_commit(run_execute, str(run.id), robust=True)
    return run


@transaction.atomic
def debug_rerun(*, run: Run, user: User | None) -> Run:
    """Run a debug run again: the same snapshot and inputs and, for a single node, the same entered values."""
    rerun = Run.objects.create(
        workspace_id=run.workspace_id,
        workflow_id=run.workflow_id,
        workflow_version_id=run.workflow_version_id,
        inputs=run.inputs,
        created_by=user,
        trigger=Trigger.DEBUG,
        debug_node=run.debug_node,
        rerun_of=run,
    )
    if run.debug_node:
        restore = node_debug_plan(run.workflow_version.content, run.debug_node).restore
        rows = run.node_runs.filter(node_id__in=restore).order_by("sequence")
        _checkpoints_write(rerun, [(r.node_id, r.node_type, r.outputs, restore[r.node_id]) for r in rows])
    return _queued(rerun)
