"""Chain deployments: a chain call attributed to the deployment, key and end user.

A chain call has no ``Run`` row: it runs inside the request, like the chains app's run API. What a workflow
call gets from its run row, a chain call gets here:

- ``Idempotency-Key``: the same ``IdempotencyRecord`` and ``idempotency.idempotency_claim`` as workflow calls.
  The call that records the key runs the chain and stores its response body in the record's ``result``; the
  same key and body later get that body back without a model call (a stream replays it as one delta, with
  the same ids), another body gets 422, and a duplicate sent while the first still runs gets 409. A call
  that fails (bad inputs, a model error, an answer its parser refuses) forgets the key: it produced nothing
  to replay, and a retry with that key should run. A record whose caller died mid-call (no live lease, see
  below, and older than one lease) is taken over, compare-and-set, by the next duplicate: a crash never pins
  a key at 409 for the whole replay window.
- ``max_concurrent_runs``: each call holds a leased slot in the deployment's in-flight set, renewed while it
  runs and released when it ends, however it ends (``llmops.deployments.limits`` says why a lease).

The chain itself runs in ``llmops.runs.execution.chain`` (in the request, renewing the call's lease); this
module admits the call, attributes it, stores or replays its result and shapes its replies.
- Streaming: ``ChainExecutor.stream`` hands over the gateway's deltas as the model produces them, sent as
  ``text_chunk`` events (``/v1/workflows/{slug}/run``, the workflow runs' SSE vocabulary and framing) or
  ``chat.completion.chunk`` deltas (``/v1/chat/completions``). A chain with a JSON or list parser, or with
  output moderation, streams only its final result, in one delta, after it was parsed and checked.

Usage rows are written by the gateway as before, with the deployment, key and end user; their run id is
the call's id (``chain-<hex>``).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from functools import cached_property
from typing import Any, Protocol

from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.utils import timezone

from llmops.chains.runner import ChainExecutor, ChainOutcome, PreparedChain, workspace_retriever
from llmops.chains.selectors import ChainSnapshot, chain_snapshot
from llmops.core.errors import Conflict, LLMOpsError
from llmops.deployments import idempotency
from llmops.deployments.limits import chain_slot_held, chain_slot_release, chain_slot_renew, chain_slot_take
from llmops.deployments.models import ApiKey, Deployment, IdempotencyRecord
from llmops.deployments.payloads import completion_body, completion_chunk, openai_usage
from llmops.providers.gateway import PlatformModelGateway
from llmops.runs.execution.chain import chain_execute, chain_items, chain_prepare
from llmops.runs.streaming import from_list, sse_frame
from llmops.usage.budgets import CallScope, budget_check
from workflows import CallContext, ErrorEvent, RunFinished, TextChunk, Usage

logger = logging.getLogger(__name__)


@dataclass
class ChainCall:
    """One call of a chain deployment: admitted (holding ``slot``), or answered by an earlier one (``replay``)."""

    deployment: Deployment
    key: ApiKey
    end_user: str
    snapshot: ChainSnapshot
    id: str = field(default_factory=lambda: f"chain-{uuid.uuid4().hex}")  # also its usage rows' run id
    slot: str = ""  # its member of the deployment's in-flight set
    record_id: int | None = None  # the IdempotencyRecord it answers for
    replay: dict[str, Any] | None = None  # the stored body of the earlier call with the same key and body
    stored: bool = False
    settled: bool = False
    started: float = field(default_factory=time.perf_counter)

    @cached_property
    def executor(self) -> ChainExecutor:
        """The chain executor metering under this call's id, with the deployment, key and end user."""
        workspace, slug = self.key.workspace, self.snapshot.chain.slug
        gateway = PlatformModelGateway(
            workspace=workspace, source="api", run_id=self.id, node_id=slug, deployment_id=str(self.deployment.pk),
            api_key_id=str(self.key.pk), end_user=self.end_user,
        )  # fmt: skip
        context = CallContext(self.id, slug, user_id=self.end_user or None, workspace_id=str(workspace.pk))
        retriever = workspace_retriever(workspace, gateway)
        return ChainExecutor(workspace, gateway, context, retriever=retriever, metered_run_id=self.id)

    @property
    def elapsed_ms(self) -> float:
        """Milliseconds since the call was admitted."""
        return (time.perf_counter() - self.started) * 1000

    @property
    def interval(self) -> float:
        """The call is the lease on its slot (``runs.execution.chain.Lease``), renewed this often."""
        return settings.LLMOPS_API_CHAIN_LEASE_SECONDS / 3

    def renew(self) -> None:
        """Extend the lease on the call's slot."""
        chain_slot_renew(deployment=self.deployment, member=self.slot)


# --- admission ---------------------------------------------------------------------------------------------
def chain_call_admit(
    *, deployment: Deployment, key: ApiKey, end_user: str, idempotency_key: str, body: Any
) -> ChainCall:
    """Resolve the chain version, replay or record the ``Idempotency-Key``, then take a concurrency slot
    (``RateLimited`` when the deployment's ``max_concurrent_runs`` calls are in flight)."""
    assert deployment.chain is not None
    budget_check(CallScope(deployment.workspace_id, str(deployment.pk), str(key.pk), end_user))
    snapshot = chain_snapshot(chain=deployment.chain, version=deployment.version)
    call = ChainCall(deployment, key, end_user, snapshot)
    if idempotency_key:
        record = _idempotency_record(call, idempotency_key, body)
        if record.result is not None:
            call.replay = record.result
            return call
        call.record_id = record.pk
    call.slot = _record_slot(call.record_id) if call.record_id else call.id
    try:
        chain_slot_take(deployment=deployment, member=call.slot)
    except BaseException:
        call.slot = ""
        _settle(call)
        raise
    return call


def _record_slot(record_id: int) -> str:
    # The slot of a call with a key is named by its record, so a duplicate can tell whether it still runs.
    return f"idempotency-{record_id}"


def _idempotency_record(call: ChainCall, idempotency_key: str, body: Any) -> IdempotencyRecord:
    record, created = idempotency.idempotency_claim(
        key=call.key, idempotency_key=idempotency_key, deployment=call.deployment, body=body
    )
    if created or record.result is not None:
        return record
    lease = timedelta(seconds=settings.LLMOPS_API_CHAIN_LEASE_SECONDS)
    abandoned = record.created_at < timezone.now() - lease and not chain_slot_held(
        deployment=call.deployment, member=_record_slot(record.pk)
    )
    # Its caller died mid-call: take the key over (compare-and-set, so only one duplicate does).
    if not abandoned or not IdempotencyRecord.objects.filter(
        pk=record.pk, result__isnull=True, created_at=record.created_at
    ).update(created_at=timezone.now()):
        raise Conflict(idempotency.IDEMPOTENCY_IN_FLIGHT)
    return record


def _store(call: ChainCall, body: dict[str, Any]) -> None:
    if call.record_id is not None:
        IdempotencyRecord.objects.filter(pk=call.record_id).update(result=body)
    call.stored = True


def _settle(call: ChainCall) -> None:
    """The call ended: free its slot, and forget its key unless a result was stored (once; idempotent)."""
    if call.settled:
        return
    call.settled = True
    if call.slot:
        chain_slot_release(deployment=call.deployment, member=call.slot)
        call.slot = ""
    if call.record_id is not None and not call.stored:
        IdempotencyRecord.objects.filter(pk=call.record_id, result__isnull=True).delete()


# --- replies -------------------------------------------------------------------------------------------------
class ChainReply(Protocol):
    """How one endpoint shows a chain call: its response body, and that body as SSE frames."""

    def body(self, outcome: ChainOutcome) -> dict[str, Any]:
        """The blocking response body (stored for replays, streamed or not)."""

    def opening(self) -> list[str]:
        """Frames sent before the answer."""

    def delta(self, text: str) -> str:
        """A frame of answer text."""

    def closing(self, body: dict[str, Any], *, streamed: bool) -> list[str]:
        """The frames that end a stream that produced ``body`` (its text too, when not ``streamed``)."""

    def failure(self, code: str, message: str) -> list[str]:
        """The frames that end a stream that failed."""

    def ping(self) -> str:
        """A keep-alive frame."""


class RunReply:
    """``/v1/workflows/{slug}/run``: a ``chain_result`` body; SSE events numbered like a workflow run's
    (``run_started``, ``text_chunk``, ``run_finished`` with the body as ``outputs``, ``error``)."""

    def __init__(self, call: ChainCall, inputs: dict[str, Any]) -> None:
        self.call = call
        self.inputs = inputs
        self.id = str(call.replay["id"]) if call.replay else call.id
        self.node_id = call.snapshot.chain.slug
        self.seq = 0

    def _frame(self, event: dict[str, Any]) -> str:
        self.seq += 1
        return sse_frame({"seq": self.seq, **event})

    def body(self, outcome: ChainOutcome) -> dict[str, Any]:
        return {"object": "chain_result", "id": self.id, "deployment_id": self.call.deployment.pk,
                **outcome.to_dict()}  # fmt: skip

    def opening(self) -> list[str]:
        return [self._frame({"type": "run_started", "run_id": self.id, "at": time.time(),
                             "chain": self.node_id, "inputs": self.inputs, "resumed": False})]  # fmt: skip

    def delta(self, text: str) -> str:
        return self._frame(TextChunk(run_id=self.id, node_id=self.node_id, text=text).to_dict())

    def closing(self, body: dict[str, Any], *, streamed: bool) -> list[str]:
        frames = [] if streamed or not body.get("text") else [self.delta(str(body["text"]))]
        finished = RunFinished(run_id=self.id, status="succeeded", outputs=body, elapsed_ms=self.call.elapsed_ms,
                               usage=Usage.from_dict(body.get("usage")), steps=1)  # fmt: skip
        return [*frames, self._frame(finished.to_dict())]

    def failure(self, code: str, message: str) -> list[str]:
        error = ErrorEvent(run_id=self.id, error_type=code, message=message, node_id=self.node_id)
        finished = RunFinished(run_id=self.id, status="failed", outputs={}, elapsed_ms=self.call.elapsed_ms,
                               error={"type": code, "message": message})  # fmt: skip
        return [self._frame(error.to_dict()), self._frame(finished.to_dict())]

    def ping(self) -> str:
        return sse_frame(None)


class ChatReply:
    """``/v1/chat/completions``: a ``chat.completion`` body; ``chat.completion.chunk`` frames, the finish
    chunk, the usage chunk (``stream_options.include_usage``) and ``data: [DONE]``."""

    def __init__(self, call: ChainCall, *, model: str, include_usage: bool) -> None:
        self.id = str(call.replay["id"]) if call.replay else "chatcmpl-" + call.id.removeprefix("chain-")
        self.model = model
        self.include_usage = include_usage

    def _chunk(self, delta: dict[str, Any] | None, **extra: Any) -> str:
        return completion_chunk(completion_id=self.id, model=self.model, delta=delta, **extra)

    def body(self, outcome: ChainOutcome) -> dict[str, Any]:
        text = outcome.text if outcome.verdict is None else outcome.verdict.message
        usage = openai_usage(outcome.usage.prompt_tokens, outcome.usage.completion_tokens,
                             outcome.cost or Decimal(0))  # fmt: skip
        return completion_body(completion_id=self.id, model=self.model, text=text, finish="stop", usage=usage)

    def opening(self) -> list[str]:
        return [self._chunk({"role": "assistant", "content": ""})]

    def delta(self, text: str) -> str:
        return self._chunk({"content": text})

    def closing(self, body: dict[str, Any], *, streamed: bool) -> list[str]:
        frames = [] if streamed else [self.delta(str(body["choices"][0]["message"]["content"]))]
        frames.append(self._chunk({}, finish="stop"))
        if self.include_usage:
            frames.append(self._chunk(None, usage=body["usage"]))
        return [*frames, "data: [DONE]\n\n"]

    def failure(self, code: str, message: str) -> list[str]:
        # The error object OpenAI sends mid-stream (the SDKs raise it), in our code/message shape.
        error = json.dumps({"error": {"code": code, "message": message}})
        return [f"data: {error}\n\n", "data: [DONE]\n\n"]

    def ping(self) -> str:
        return ": ping\n\n"


# --- running -------------------------------------------------------------------------------------------------
def chain_call_blocking(
    call: ChainCall, inputs: dict[str, Any], *, conversation_id: str | None, reply: ChainReply
) -> dict[str, Any]:
    """Run the chain and return the response body (stored for the key, if any); or the replayed body."""
    if call.replay is not None:
        return call.replay
    try:
        outcome = async_to_sync(chain_execute)(
            call.executor, call.snapshot, inputs, conversation_id=conversation_id, lease=call
        )
        body = reply.body(outcome)
        _store(call, body)
        return body
    finally:
        _settle(call)


def chain_call_stream(
    call: ChainCall, inputs: dict[str, Any], *, conversation_id: str | None, reply: ChainReply
) -> AsyncIterator[str]:
    """The SSE frames of a streamed call (or of the replayed body). The chain is prepared here, before the
    response starts, so bad inputs are a 400 like in blocking mode, not an event."""
    if call.replay is not None:
        return from_list([*reply.opening(), *reply.closing(call.replay, streamed=False)])
    try:
        prepared = async_to_sync(chain_prepare)(
            call.executor, call.snapshot, inputs, conversation_id=conversation_id, lease=call
        )
    except BaseException:
        _settle(call)
        raise
    return _stream(call, prepared, reply)


async def _stream(
    call: ChainCall, prepared: PreparedChain | ChainOutcome, reply: ChainReply
) -> AsyncIterator[str]:
    try:
        for frame in reply.opening():
            yield frame
        streamed, closing = False, []
        try:
            keepalive = settings.LLMOPS_API_KEEPALIVE_SECONDS
            async for item in chain_items(call.executor, prepared, lease=call, keepalive=keepalive):
                if item is None:
                    yield reply.ping()
                elif isinstance(item, str):
                    streamed = True
                    yield reply.delta(item)
                else:
                    body = reply.body(item)
                    await sync_to_async(_store)(call, body)
                    closing = reply.closing(body, streamed=streamed)
        except LLMOpsError as exc:
            closing = reply.failure(exc.code, exc.message)
        except Exception as exc:  # a stream has no status line left to fail with: report, then end cleanly
            logger.exception("chain deployment stream failed")
            closing = reply.failure("internal", f"{type(exc).__name__}: {exc}"[:500])
        # Settled before the last frames: a client that reads the end and calls again finds the slot free
        # and the result stored.
        await sync_to_async(_settle)(call)
        for frame in closing:
            yield frame
    finally:
        await sync_to_async(_settle)(call)
