"""Body records: one checkpoint per finished run of a container's body (an iteration item, a loop round).

Top-level nodes are checkpointed one by one; nodes inside a body are not. Instead a container calling
``NodeContext.run_body_checkpointed`` gets one body record per finished body run, named after the scope's path
(``each#3``, ``outer#2/inner#5``; see ``NodeRecord``), holding what the container keeps of that run (its
*summary*), the run's usage and handled failures, and a digest of the body's input (the container's overlay:
item, index, loop variables). A resumed run restores a body run whose input digest is unchanged instead of
running it; one whose input changed (say a non-deterministic node before a nested container ran again) runs
again. Bodies made only of pure nodes (``NodeKind.pure``, see ``CompiledGraph.replayable_bodies``) are not
recorded at all: running them again is free and gives the same result.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from workflows._ports import BODY_RECORD_ID_MAX, BODY_RECORD_MARK, NodeRecord, NodeStatus, Usage

# Keys a body record adds to its container's summary (stripped again on restore).
INPUT_DIGEST = "input_digest"
HANDLED_FAILURES = "handled_failures"
_RECORD_KEYS = frozenset({INPUT_DIGEST, HANDLED_FAILURES})


def digest(value: Any) -> str:
    """A short fingerprint of a JSON-like value, the same in every process (non-JSON parts go by ``repr``:
    at worst a body input is taken as changed, and its body runs again)."""
    try:
        text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=repr)
    except (TypeError, ValueError):  # mixed key types cannot be sorted; a cycle cannot be encoded
        text = repr(value)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def body_record_id(path: str, container_id: str, index: int) -> str:
    """The record id of body run ``index`` of ``container_id``, in the body run at ``path`` ("" at the top)."""
    own = f"{container_id}{BODY_RECORD_MARK}{index}"
    if not path:
        return own
    full = f"{path}/{own}"
    # Deep nesting of long ids: keep the id within what stores accept, still unique per path.
    return full if len(full) <= BODY_RECORD_ID_MAX else f"{own}@{digest(path)}"


def body_record(
    record_id: str,
    record_type: str,
    summary: dict[str, Any],
    input_digest: str,
    *,
    usage: Usage,
    handled: int,
    started_at: datetime,
    finished_at: datetime,
    error: dict[str, str] | None = None,
    failure_kept: bool = False,
) -> NodeRecord:
    """The record of a finished body run; ``error`` makes it a failure, restored only when ``failure_kept``
    (the container carried on past it; any other failed body run runs again, as a failed node does)."""
    outputs = {**summary, INPUT_DIGEST: input_digest}
    if handled:
        outputs[HANDLED_FAILURES] = handled
    status: NodeStatus = "succeeded" if error is None else "failed"
    branch = "source" if error is None or failure_kept else None
    return NodeRecord(
        record_id, status, outputs, error, 1, started_at, finished_at, usage, branch, record_type
    )


def restorable(restored: Mapping[str, NodeRecord], record_id: str, input_digest: str) -> NodeRecord | None:
    """The record to restore body run ``record_id`` from, if there is one for the same input."""
    record = restored.get(record_id)
    if record is None or record.outputs.get(INPUT_DIGEST) != input_digest:
        return None
    if record.status == "succeeded" or (record.status == "failed" and record.branch is not None):
        return record
    return None


def summary_of(record: NodeRecord) -> dict[str, Any]:
    """What the container kept of the body run."""
    return {k: v for k, v in record.outputs.items() if k not in _RECORD_KEYS}


def handled_failures(record: NodeRecord) -> int:
    """How many node failures inside the body run took an error strategy (they make a run partial)."""
    return int(record.outputs.get(HANDLED_FAILURES, 0))


def restored_totals(restored: Mapping[str, NodeRecord], container_id: str) -> tuple[Usage, int]:
    """Usage and handled failures of a container's body runs, from their records (for a container restored as
    a whole: its own record does not include them)."""
    prefix = f"{container_id}{BODY_RECORD_MARK}"
    usage, handled = Usage(), 0
    for record_id, record in restored.items():
        if record_id.startswith(prefix) and "/" not in record_id:  # nested runs are included in these
            usage += record.usage
            handled += handled_failures(record)
    return usage, handled
