"""The public API (``/v1``, Bearer API keys): run a deployment, read and cancel runs, OpenAI chat completions.

Views are thin: authenticate (``ApiKeyAuthentication``), take a token from the key's bucket, validate the
body, call one service, and answer in the mode asked for. Every error has the platform's one JSON shape.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any, cast

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from llmops.core.api.parsers import DepthSafeJSONParser
from llmops.core.errors import LLMOpsError, PayloadTooLarge, ValidationError
from llmops.deployments import selectors, services
from llmops.deployments.api.authentication import ApiKeyAuthentication, HasApiKey
from llmops.deployments.api.serializers import (
    ChatCompletionSerializer,
    PublicRunSerializer,
    RunCallSerializer,
)
from llmops.deployments.chains import (
    ChatReply,
    RunReply,
    chain_call_admit,
    chain_call_blocking,
    chain_call_stream,
)
from llmops.deployments.chat import chat_inputs_for_chain, chat_turn_for_workflow
from llmops.deployments.conversations import conversation_scoped
from llmops.deployments.limits import rate_take
from llmops.deployments.models import ApiKey, Deployment, Scope
from llmops.deployments.payloads import (
    PUBLIC_MESSAGES,
    answer_text,
    completion_body,
    completion_chunk,
    openai_usage,
    public_error,
    public_event,
    public_sse_lines,
    run_cost,
    run_payload,
)
from llmops.deployments.webhooks import webhook_url_check
from llmops.runs.execution import WorkerExecution, execution_events, execution_finish
from llmops.runs.graphs import compiled_graph
from llmops.runs.models import Run, RunStatus
from llmops.runs.services import run_cancel
from llmops.runs.streaming import event_cursor, sse_frame, sse_response
from workflows import BlockedURLError, WorkflowValidationError

RUN_EXAMPLE = {
    "id": "0b6f4b5e-8a43-4a36-9a59-2f1f4a3c9d11", "object": "run", "deployment_id": 3, "version": 2,
    "status": "succeeded", "inputs": {"name": "Ada"}, "outputs": {"answer": "Hello Ada"},
    "error": None, "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}, "cost": "0",
    "end_user": "user-42", "elapsed_ms": 3.1, "created_at": "2026-11-02T10:00:00+00:00",
    "finished_at": "2026-11-02T10:00:00.004000+00:00",
}  # fmt: skip
ERROR_EXAMPLE = {"error": {"code": "invalid", "message": "Invalid inputs: inputs.name: is required",
                           "fields": {"inputs.name": ["is required"]}}}  # fmt: skip


class RunFailed(LLMOpsError):
    """A chat completion whose run failed for reasons of the workflow (a node's error, a blocked URL, a budget,
    a model provider's refusal): 422, which clients (the ``openai`` SDK among them) do not retry, so a failure
    never starts the run again. The error names the ``run_id`` and the failure's ``type`` (its public code)."""

    code = "run_failed"
    status = 422


class RunPlatformFailed(RunFailed):
    """A chat completion whose run the platform could not execute (its own fault): a 5xx."""

    status = 500


class RunStillRunning(LLMOpsError):
    """A blocking call outlived its wait; the run goes on and its id is in the message (poll it). Clients that
    retry should send an ``Idempotency-Key`` so a retry returns this run instead of starting another."""

    code = "timeout"
    status = 504


def _idempotency_key(request: Request) -> str:
    return request.headers.get("Idempotency-Key", "")[:255]


def _fresh_run(run_id: Any) -> Run:
    return Run.objects.select_related("workflow_version").defer("workflow_version__content").get(id=run_id)


class PublicAPIView(APIView):
    """Bearer-key authentication, the key's request bucket, and a size-checked strict JSON body."""

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasApiKey]
    parser_classes = [DepthSafeJSONParser]

    @property
    def key(self) -> ApiKey:
        return cast(ApiKey, self.request.auth)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        rate_take(
            key_prefix=self.key.prefix,
            per_minute=self.key.requests_per_minute or settings.LLMOPS_API_DEFAULT_RPM,
        )

    def validated(self, serializer_class: type[serializers.Serializer[Any]]) -> dict[str, Any]:
        limit = settings.LLMOPS_API_MAX_BODY_BYTES
        length = self.request.META.get("CONTENT_LENGTH") or "0"
        if length.isascii() and length.isdigit() and int(length) > limit:  # "²".isdigit() is true
            raise PayloadTooLarge(f"The body is larger than {limit} bytes.")
        try:
            if len(self.request.body) > limit:
                raise PayloadTooLarge(f"The body is larger than {limit} bytes.")
        except RequestDataTooBig:
            raise PayloadTooLarge(f"The body is larger than {limit} bytes.") from None
        data = self.request.data
        if not isinstance(data, dict):
            raise ValidationError(
                "The body must be a JSON object.", fields={"non_field_errors": ["Expected an object."]}
            )
        serializer = serializer_class(data=data)
        serializer.is_valid(raise_exception=True)
        return cast(dict[str, Any], serializer.validated_data)

    def deployment(self, slug: str, scope: str) -> Deployment:
        services.api_key_require_scope(key=self.key, scope=scope)
        deployment = selectors.deployment_for_key(key=self.key, slug=slug)
        services.deployment_paused_check(deployment=deployment)
        return deployment


def _blocking_result(admitted: services.Admitted) -> Run:
    return execution_finish(admitted, timeout=settings.LLMOPS_API_BLOCKING_TIMEOUT_SECONDS)


async def _run_sse(admitted: services.Admitted) -> AsyncIterator[str]:
    async for event in execution_events(admitted):
        yield sse_frame(public_event(event))


class WorkflowRunView(PublicAPIView):
    """``POST /v1/workflows/{slug}/run``."""

    @extend_schema(
        operation_id="v1_workflow_run",
        request=RunCallSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                required=False,
                description="Same key, deployment and body within 24 h: the same run (a chain deployment: "
                "the same result); another body: 422; while the first call runs: 409. Keys are scoped per "
                "deployment: the same key sent to another deployment starts another call.",
            )
        ],
        responses={
            200: OpenApiResponse(PublicRunSerializer, description="blocking: the finished run"),
            202: OpenApiResponse(PublicRunSerializer, description="async: the queued run"),
            (200, "text/event-stream"): OpenApiResponse(
                str,
                description="streaming: run_started, node_started, node_finished, text_chunk, "
                "run_finished, error; `event: ping` keep-alives",
            ),
            400: OpenApiResponse(description="invalid body or inputs (field paths)"),
            401: OpenApiResponse(description="missing, invalid, revoked or expired key"),
            403: OpenApiResponse(description="scope or deployment not allowed"),
            404: OpenApiResponse(description="unknown deployment"),
            409: OpenApiResponse(description="deployment paused"),
            413: OpenApiResponse(description="body too large"),
            422: OpenApiResponse(description="Idempotency-Key reused with another body"),
            429: OpenApiResponse(description="rate or concurrency limit (Retry-After)"),
        },
        examples=[
            OpenApiExample(
                "blocking call",
                request_only=True,
                value={"inputs": {"name": "Ada"}, "response_mode": "blocking", "user": "user-42"},
            ),
            OpenApiExample(
                "async call with webhook",
                request_only=True,
                value={
                    "inputs": {"name": "Ada"},
                    "response_mode": "async",
                    "webhook_url": "https://example.com/hooks/llmops",
                },
            ),
            OpenApiExample("finished run", response_only=True, status_codes=["200"], value=RUN_EXAMPLE),
            OpenApiExample("bad input", response_only=True, status_codes=["400"], value=ERROR_EXAMPLE),
        ],
    )
    def post(self, request: Request, slug: str) -> Response | StreamingHttpResponse:
        deployment = self.deployment(slug, Scope.RUN)
        data = self.validated(RunCallSerializer)
        mode = data["response_mode"]
        webhook_url = self._webhook_url(data, mode)
        if deployment.chain_id:
            return self._chain(deployment, data)
        admitted = services.deployment_run_admit(
            request=services.RunRequest(
                deployment=deployment, key=self.key, inputs=data["inputs"], mode=mode, end_user=data["user"],
                webhook_url=webhook_url, idempotency_key=_idempotency_key(request), body=data,
            )
        )  # fmt: skip
        if mode == "streaming":
            return sse_response(_run_sse(admitted))
        if mode == "async":
            replayed = isinstance(admitted, WorkerExecution) and admitted.replayed
            run = _fresh_run(admitted.run.id) if replayed else admitted.run
            return Response(run_payload(run), status=status.HTTP_202_ACCEPTED)
        run = _blocking_result(admitted)
        return Response(
            run_payload(run), status=status.HTTP_200_OK if run.is_final else status.HTTP_202_ACCEPTED
        )

    def _webhook_url(self, data: dict[str, Any], mode: str) -> str:
        url = str(data.get("webhook_url") or "")
        if not url:
            return ""
        if mode != "async":
            raise ValidationError(
                "Webhooks are for async runs.", fields={"webhook_url": ["Only with response_mode=async."]}
            )
        try:
            webhook_url_check(url)
        except BlockedURLError as exc:
            raise ValidationError(
                "The webhook URL is not allowed.", fields={"webhook_url": [str(exc)]}
            ) from None
        return url

    def _chain(self, deployment: Deployment, data: dict[str, Any]) -> Response | StreamingHttpResponse:
        if data["response_mode"] == "async":
            raise ValidationError(
                "Chain deployments answer in blocking or streaming mode.",
                fields={"response_mode": ["Use blocking or streaming."]},
            )
        call = chain_call_admit(deployment=deployment, key=self.key, end_user=data["user"],
                                idempotency_key=_idempotency_key(self.request), body=data)  # fmt: skip
        reply = RunReply(call, data["inputs"])
        if data["response_mode"] == "streaming":
            return sse_response(chain_call_stream(call, data["inputs"], conversation_id=None, reply=reply))
        return Response(chain_call_blocking(call, data["inputs"], conversation_id=None, reply=reply))


class RunDetailView(PublicAPIView):
    """``GET /v1/runs/{id}``."""

    @extend_schema(operation_id="v1_run_get", responses={200: PublicRunSerializer},
                   examples=[OpenApiExample("a run", value=RUN_EXAMPLE)])  # fmt: skip
    def get(self, request: Request, run_id: uuid.UUID) -> Response:
        services.api_key_require_scope(key=self.key, scope=Scope.READ)
        return Response(run_payload(selectors.run_for_key(key=self.key, run_id=str(run_id))))


class RunCancelView(PublicAPIView):
    """``POST /v1/runs/{id}/cancel``."""

    @extend_schema(operation_id="v1_run_cancel", request=None, responses={200: PublicRunSerializer})
    def post(self, request: Request, run_id: uuid.UUID) -> Response:
        services.api_key_require_scope(key=self.key, scope=Scope.RUN)
        run = run_cancel(run=selectors.run_for_key(key=self.key, run_id=str(run_id)))
        return Response(run_payload(_fresh_run(run.id)))


class RunEventsView(PublicAPIView):
    """``GET /v1/runs/{id}/events``: the run's events as SSE, resuming after ``Last-Event-ID``."""

    @extend_schema(operation_id="v1_run_events", responses={(200, "text/event-stream"): str},
                   parameters=[OpenApiParameter("Last-Event-ID", int, OpenApiParameter.HEADER, required=False)])  # fmt: skip
    def get(self, request: Request, run_id: uuid.UUID) -> StreamingHttpResponse:
        services.api_key_require_scope(key=self.key, scope=Scope.READ)
        run = selectors.run_for_key(key=self.key, run_id=str(run_id))
        return sse_response(public_sse_lines(str(run.id), event_cursor(request.headers.get("Last-Event-ID"))))


class ModelsView(PublicAPIView):
    """``GET /v1/models``: the deployments this key may call, in the OpenAI list shape."""

    @extend_schema(operation_id="v1_models", responses={200: OpenApiResponse(description="OpenAI model list")},
                   examples=[OpenApiExample("models", value={"object": "list", "data": [
                       {"id": "greeter", "object": "model", "created": 1793613600, "owned_by": "acme"}]})])  # fmt: skip
    def get(self, request: Request) -> Response:
        data = [
            {
                "id": d.slug,
                "object": "model",
                "created": int(d.created_at.timestamp()),
                "owned_by": self.key.workspace.slug,
            }
            for d in selectors.deployments_for_key(key=self.key)
        ]
        return Response({"object": "list", "data": data})


class ChatCompletionsView(PublicAPIView):
    """``POST /v1/chat/completions``: the OpenAI protocol; ``model`` is a deployment slug."""

    @extend_schema(
        operation_id="v1_chat_completions",
        request=ChatCompletionSerializer,
        responses={200: OpenApiResponse(description="chat.completion, or chat.completion.chunk SSE ending "
                                        "with `data: [DONE]`; usage carries our `cost` too")},
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False,
                                     description="Same key, deployment and body within 24 h: the same run (a chain "
                                     "deployment: the same completion); another body: 422; while the first "
                                     "call runs: 409.")],
        examples=[OpenApiExample("chat", request_only=True, value={
            "model": "support-bot", "messages": [{"role": "user", "content": "Hi!"}], "stream": True,
            "stream_options": {"include_usage": True}})],
    )  # fmt: skip
    def post(self, request: Request) -> Response | StreamingHttpResponse:
        data = self.validated(ChatCompletionSerializer)
        deployment = self.deployment(data["model"], Scope.CHAT)
        if deployment.chain_id:
            return self._chain(deployment, data)
        completion_id = f"chatcmpl-{uuid.uuid4().hex}"
        version = services.deployment_version(deployment=deployment)
        turn = chat_turn_for_workflow(version.content, data["messages"], data["inputs"])
        mode = "streaming" if data["stream"] else "blocking"
        admitted = services.deployment_run_admit(
            request=services.RunRequest(
                deployment=deployment, key=self.key, inputs=turn.inputs, mode=mode, end_user=data["user"],
                query=turn.query, history=turn.history, conversation_id=data["conversation_id"], version=version,
                idempotency_key=_idempotency_key(request), body=data,
            )
        )  # fmt: skip
        if data["stream"]:
            include_usage = bool((data.get("stream_options") or {}).get("include_usage"))
            replies = _reply_sources(version)
            return sse_response(_chat_stream(admitted, data["model"], completion_id, include_usage, replies))
        run = _blocking_result(admitted)
        if not run.is_final:
            raise RunStillRunning(
                f"The run {run.id} is still running; poll GET /v1/runs/{run.id} for its result.",
                extra={"run_id": str(run.id)},
            )
        if run.status not in (RunStatus.SUCCEEDED, RunStatus.PARTIAL):
            raise _run_failed(run)
        usage = openai_usage(run.prompt_tokens, run.completion_tokens, run_cost(run))
        return Response(completion_body(completion_id=completion_id, model=data["model"],
                                        text=answer_text(run.outputs), finish="stop", usage=usage))  # fmt: skip

    def _chain(self, deployment: Deployment, data: dict[str, Any]) -> Response | StreamingHttpResponse:
        call = chain_call_admit(deployment=deployment, key=self.key, end_user=data["user"],
                                idempotency_key=_idempotency_key(self.request), body=data)  # fmt: skip
        include_usage = bool((data.get("stream_options") or {}).get("include_usage"))
        reply = ChatReply(call, model=data["model"], include_usage=include_usage)
        inputs = chat_inputs_for_chain(data["messages"], data["inputs"])
        conversation_id = conversation_scoped(deployment=deployment, key=self.key, end_user=data["user"],
                                              conversation_id=data["conversation_id"])  # fmt: skip
        if data["stream"]:
            return sse_response(chain_call_stream(call, inputs, conversation_id=conversation_id, reply=reply))
        return Response(chain_call_blocking(call, inputs, conversation_id=conversation_id, reply=reply))


def _run_failed(run: Run) -> RunFailed:
    """The error of a chat completion whose run ended without an answer (see ``RunFailed``)."""
    error = public_error(run.error) or {"code": "run_failed", "message": PUBLIC_MESSAGES["run_failed"]}
    extra = {"type": error["code"], "run_id": str(run.id)} | (
        {"node_id": error["node_id"]} if "node_id" in error else {}
    )
    message = f"The run {run.id} ended {run.status}: {error['message']}"
    if error["code"] == "platform_error":
        return RunPlatformFailed(message, extra=extra)
    return RunFailed(message, extra=extra)


def _reply_sources(version: Any) -> frozenset[str]:
    """The nodes whose streamed text is the reply of a workflow without answer nodes (see
    ``CompiledGraph.reply_sources``); none when the version does not compile (its run fails with the reason)."""
    try:
        return compiled_graph(version).reply_sources
    except WorkflowValidationError:
        return frozenset()


async def _chat_stream(
    admitted: services.Admitted,
    model: str,
    completion_id: str,
    include_usage: bool,
    replies: frozenset[str] = frozenset(),
) -> AsyncIterator[str]:
    """OpenAI chunks from run events: answer text as it streams (an answer node's, or the tokens of the node
    whose text a workflow's end node answers with), then the finish and usage chunks."""
    yield completion_chunk(
        completion_id=completion_id, model=model, delta={"role": "assistant", "content": ""}
    )
    streamed, finished = False, None
    async for event in execution_events(admitted):
        if event is None:
            yield ": ping\n\n"
        elif event["type"] == "text_chunk" and (
            event.get("channel", "answer") == "answer" or event.get("node_id") in replies
        ):
            streamed = True
            yield completion_chunk(completion_id=completion_id, model=model, delta={"content": event["text"]})
        elif event["type"] == "run_finished":
            finished = event
    if finished is None or finished.get("status") not in ("succeeded", "partial_succeeded"):
        error = public_error((finished or {}).get("error")) or {
            "code": "run_failed",
            "message": "the run did not finish",
        }
        body = {
            "code": "run_failed",
            "message": error["message"],
            "type": error["code"],
            "run_id": str(admitted.run.id),
        }
        yield f"data: {json.dumps({'error': body})}\n\n"
        yield "data: [DONE]\n\n"
        return
    if not streamed:
        text = answer_text(finished.get("outputs") or {})
        yield completion_chunk(completion_id=completion_id, model=model, delta={"content": text})
    yield completion_chunk(completion_id=completion_id, model=model, delta={}, finish="stop")
    if include_usage:
        usage = finished.get("usage") or {}
        run = await sync_to_async(_fresh_run)(admitted.run.id)
        cost = await sync_to_async(run_cost)(run)
        yield completion_chunk(completion_id=completion_id, model=model, delta=None, usage=openai_usage(
            usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0), cost))  # fmt: skip
    yield "data: [DONE]\n\n"
