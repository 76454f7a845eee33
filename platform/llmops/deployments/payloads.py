"""JSON bodies of the public API: a run, SSE frames, and the OpenAI chat-completion shapes."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

from django.db.models import Sum

from llmops.runs.models import Run
from llmops.usage.models import UsageRecord


def run_cost(run: Run) -> Decimal:
    """What the run's model calls cost (the usage ledger's sum; zero without model calls)."""
    if not (run.prompt_tokens or run.completion_tokens):
        return Decimal(0)
    total = UsageRecord.objects.filter(workspace_id=run.workspace_id, run_id=str(run.id)).aggregate(
        c=Sum("cost")
    )
    return total["c"] or Decimal(0)


def run_payload(run: Run, *, cost: Decimal | None = None) -> dict[str, Any]:
    """A run as the public API shows it (``GET /v1/runs/{id}``, blocking answers, webhooks)."""
    cost = run_cost(run) if cost is None else cost
    return {
        "id": str(run.id),
        "object": "run",
        "deployment_id": run.deployment_id,
        "version": run.workflow_version.number,
        "status": run.status,
        "inputs": run.inputs,
        "outputs": run.outputs,
        "error": run.error,
        "usage": {
            "prompt_tokens": run.prompt_tokens,
            "completion_tokens": run.completion_tokens,
            "total_tokens": run.prompt_tokens + run.completion_tokens,
        },
        "cost": str(cost),
        "end_user": run.end_user,
        "elapsed_ms": run.elapsed_ms,
        "created_at": run.created_at.isoformat() if run.created_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }


# --- OpenAI chat completions ---------------------------------------------------------------------------------
def answer_text(outputs: dict[str, Any]) -> str:
    """The reply of a run: ``answer`` (chat workflows), else its only output, else the outputs as JSON."""
    if isinstance(outputs.get("answer"), str):
        return str(outputs["answer"])
    if len(outputs) == 1:
        (value,) = outputs.values()
        return value if isinstance(value, str) else json.dumps(value, default=str)
    return json.dumps(outputs, default=str)


def openai_usage(prompt: int, completion: int, cost: Decimal) -> dict[str, Any]:
    """OpenAI's usage object plus our ``cost`` (an extra field clients ignore)."""
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
            "cost": str(cost)}  # fmt: skip


def completion_body(
    *, completion_id: str, model: str, text: str, finish: str, usage: dict[str, Any]
) -> dict[str, Any]:
    """A non-streaming ``chat.completion``."""
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": finish,
                "logprobs": None,
            }
        ],
        "usage": usage,
    }


def completion_chunk(
    *, completion_id: str, model: str, delta: dict[str, Any] | None, finish: str | None = None,
    usage: dict[str, Any] | None = None,
) -> str:  # fmt: skip
    """One ``chat.completion.chunk`` SSE line (``delta`` None: the usage-only chunk with no choices)."""
    body: dict[str, Any] = {"id": completion_id, "object": "chat.completion.chunk", "created": int(time.time()),
                            "model": model, "choices": []}  # fmt: skip
    if delta is not None:
        body["choices"] = [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]
    if usage is not None:
        body["usage"] = usage
    return f"data: {json.dumps(body)}\n\n"
