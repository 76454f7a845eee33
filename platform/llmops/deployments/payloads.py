"""JSON bodies of the public API: a run, SSE frames, and the OpenAI chat-completion shapes.

A run's error reaches API callers as a stable public reason, ``{"code", "message"}`` (``public_error``):
the stored error (exception type and text, which may name hosts, SQL or a provider's answer) stays for the
console and the admin.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

from django.db.models import Sum

from llmops.runs.models import Run
from llmops.runs.streaming import run_events, sse_frame
from llmops.usage.models import UsageRecord


def run_cost(run: Run) -> Decimal:
    """What the run's model calls cost (the usage ledger's sum; zero without model calls)."""
    if not (run.prompt_tokens or run.completion_tokens):
        return Decimal(0)
    total = UsageRecord.objects.filter(workspace_id=run.workspace_id, run_id=str(run.id)).aggregate(
        c=Sum("cost")
    )
    return total["c"] or Decimal(0)


# Stored error types (engine and platform exception names) -> public code. Anything else is "run_failed".
_PUBLIC_CODES = {
    "Cancelled": "cancelled",
    "RunTimeout": "timeout",
    "NodeTimeoutError": "node_timeout",
    "ProviderRateLimited": "model_rate_limited",
    "ProviderTimeout": "model_unavailable",
    "ProviderUnavailable": "model_unavailable",
    "ProviderRejected": "model_rejected",
    "MalformedResponse": "model_unavailable",
    "ContextWindowExceeded": "model_rejected",
    "WorkflowValidationError": "workflow_invalid",
    "TemplateError": "workflow_failed",
    # The platform's own faults: the run could not be executed (its worker died on every attempt, the engine
    # stopped without an outcome). Only these answer 5xx to a chat completion.
    "RunAttemptsExhausted": "platform_error",
    "EngineError": "platform_error",
}
# Codes whose stored message is the engine's own words about the workflow (a template that does not render,
# an invalid graph), safe and useful to show; every other message is replaced by the fixed one.
_MESSAGE_SHOWN = frozenset({"workflow_invalid", "workflow_failed"})
PUBLIC_MESSAGES = {
    "cancelled": "The run was cancelled.",
    "timeout": "The run exceeded its time limit.",
    "node_timeout": "A step of the workflow exceeded its time limit.",
    "model_rate_limited": "A model provider refused the call for its rate limit.",
    "model_unavailable": "A model provider did not answer in time or was unavailable.",
    "model_rejected": "A model provider rejected the request.",
    "workflow_invalid": "The deployed workflow version is invalid.",
    "workflow_failed": "A step of the workflow failed.",
    "run_failed": "The run failed.",
    "platform_error": "The platform could not execute the run.",
}


def public_error(error: dict[str, Any] | None, *, node_id: str | None = None) -> dict[str, Any] | None:
    """A stored run or node error as API callers see it: a stable ``code`` and a fixed ``message``."""
    if not error:
        return None
    code = _PUBLIC_CODES.get(str(error.get("type") or error.get("error_type") or ""), "run_failed")
    message = str(error.get("message") or "") if code in _MESSAGE_SHOWN else ""
    body: dict[str, Any] = {"code": code, "message": message[:500] or PUBLIC_MESSAGES[code]}
    if node_id or error.get("node_id"):
        body["node_id"] = node_id or error.get("node_id")
    return body


def public_event(event: dict[str, Any] | None) -> dict[str, Any] | None:
    """A run event for API callers (SSE): errors in their public shape, nothing else changed."""
    if event is None:
        return None
    if event.get("type") == "error":
        public = public_error(event, node_id=event.get("node_id")) or {}
        return {k: v for k, v in event.items() if k not in ("error_type", "message")} | {
            "error_type": public["code"], "message": public["message"],
        }  # fmt: skip
    if isinstance(event.get("error"), dict):
        return {**event, "error": public_error(event["error"])}
    return event


async def public_sse_lines(run_id: str, after: int) -> AsyncIterator[str]:
    """The run's events after ``after`` as server-sent events for API callers (``public_event``)."""
    async for event in run_events(run_id, after):
        yield sse_frame(public_event(event))


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
        "error": public_error(run.error),
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
