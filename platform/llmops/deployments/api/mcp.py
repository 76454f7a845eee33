"""``POST /v1/mcp/{slug}``: a workflow deployment as an MCP server (streamable HTTP transport, JSON responses).

Its workflow is one tool, named after the deployment, whose input schema is the workflow's inputs; calling it
runs the workflow like a blocking ``/v1/workflows/{slug}/run`` call (same key scope ``run``, rate limit,
budget, concurrency limit, usage and run history). Authenticated with the deployment's API keys
(``Authorization: Bearer <key>``), so any MCP client with custom headers can use it.

The server is stateless: it issues no session id and offers no server-initiated stream (``GET`` is 405), which
the streamable HTTP transport allows. Each message is one JSON-RPC object; a notification is answered 202.
A run that fails is a tool result with ``isError`` (MCP's convention, so the calling model sees the reason); a
protocol mistake (unknown method or tool, malformed params) is a JSON-RPC error.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from mcp.shared.version import SUPPORTED_PROTOCOL_VERSIONS
from mcp.types import LATEST_PROTOCOL_VERSION
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from llmops.core.errors import LLMOpsError, ValidationError
from llmops.deployments import services
from llmops.deployments.api.public import PublicAPIView, _blocking_result, _idempotency_key
from llmops.deployments.models import Deployment, Scope
from llmops.deployments.payloads import answer_text, public_error
from llmops.runs.models import RunStatus
from workflows import Workflow, inputs_json_schema

PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS = -32700, -32600, -32601, -32602


def tool_name(deployment: Deployment) -> str:
    """The deployment's tool name, within MCP's and OpenAI's name rule (``^[A-Za-z0-9_-]{1,64}$``)."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", deployment.slug)[:64] or "workflow"


def _rpc_error(message_id: Any, code: int, message: str) -> Response:
    return Response({"jsonrpc": "2.0", "id": message_id, "error": {"code": code, "message": message}})


def _rpc_result(message_id: Any, result: dict[str, Any]) -> Response:
    return Response({"jsonrpc": "2.0", "id": message_id, "result": result})


class McpServerView(PublicAPIView):
    """A deployment's MCP endpoint."""

    @extend_schema(
        operation_id="v1_mcp",
        request={"application/json": {"type": "object", "description": "one JSON-RPC 2.0 message"}},
        responses={
            200: OpenApiResponse(description="the JSON-RPC response"),
            202: OpenApiResponse(description="a notification was accepted"),
        },
        description="MCP (streamable HTTP, JSON responses): initialize, ping, tools/list, tools/call. The "
        "deployment's workflow is one tool named after the deployment; the key needs the run scope.",
    )
    def post(self, request: Request, slug: str) -> Response:
        deployment = self.deployment(slug, Scope.RUN)
        if deployment.chain_id:
            raise ValidationError(
                "Only workflow deployments are served over MCP.",
                fields={"slug": ["This deployment runs a chain; call it at /v1/chat/completions."]},
            )
        message = self._message()
        if not isinstance(message, dict) or message.get("jsonrpc") != "2.0" or "method" not in message:
            return _rpc_error(
                message.get("id") if isinstance(message, dict) else None,
                INVALID_REQUEST,
                "Send one JSON-RPC 2.0 message (an object with jsonrpc '2.0' and a method).",
            )
        if "id" not in message:  # a notification (initialized, cancelled...): nothing to answer
            return Response(status=status.HTTP_202_ACCEPTED)
        method, message_id = message["method"], message["id"]
        params = message.get("params") or {}
        if not isinstance(params, dict):
            return _rpc_error(message_id, INVALID_PARAMS, "params must be an object")
        if method == "initialize":
            return _rpc_result(message_id, self._initialize(deployment, params))
        if method == "ping":
            return _rpc_result(message_id, {})
        if method == "tools/list":
            return _rpc_result(message_id, {"tools": [self._tool(deployment)]})
        if method == "tools/call":
            return self._call(deployment, message_id, params)
        return _rpc_error(message_id, METHOD_NOT_FOUND, f"method {str(method)[:100]!r} is not supported")

    def get(self, request: Request, slug: str) -> Response:
        """No server-initiated stream: this server answers every request in its response."""
        self.deployment(slug, Scope.RUN)
        return Response(
            {
                "error": {
                    "code": "method_not_allowed",
                    "message": "This MCP server offers no SSE stream; POST.",
                }
            },
            status=status.HTTP_405_METHOD_NOT_ALLOWED,
            headers={"Allow": "POST"},
        )

    def _message(self) -> Any:
        limit = settings.LLMOPS_API_MAX_BODY_BYTES
        if len(self.request.body) > limit:
            raise ValidationError(f"The body is larger than {limit} bytes.", fields={"body": ["Too large."]})
        return self.request.data

    def _initialize(self, deployment: Deployment, params: dict[str, Any]) -> dict[str, Any]:
        asked = params.get("protocolVersion")
        version = asked if asked in SUPPORTED_PROTOCOL_VERSIONS else LATEST_PROTOCOL_VERSION
        return {
            "protocolVersion": version,
            "capabilities": {"tools": {"listChanged": False}},
            "serverInfo": {"name": f"llmops-{deployment.slug}", "version": "1"},
            "instructions": deployment.description or f"Runs the workflow of deployment {deployment.slug!r}.",
        }

    def _tool(self, deployment: Deployment) -> dict[str, Any]:
        version = services.deployment_version(deployment=deployment)
        definition = Workflow.model_validate(version.content)
        description = deployment.description or definition.description or deployment.name or deployment.slug
        return {
            "name": tool_name(deployment),
            "title": deployment.name or deployment.slug,
            "description": description,
            "inputSchema": inputs_json_schema(definition.inputs),
        }

    def _call(self, deployment: Deployment, message_id: Any, params: dict[str, Any]) -> Response:
        if params.get("name") != tool_name(deployment):
            return _rpc_error(message_id, INVALID_PARAMS, f"unknown tool {str(params.get('name'))[:100]!r}")
        arguments = params.get("arguments") or {}
        if not isinstance(arguments, dict):
            return _rpc_error(message_id, INVALID_PARAMS, "arguments must be an object")
        try:
            admitted = services.deployment_run_admit(
                request=services.RunRequest(
                    deployment=deployment, key=self.key, inputs=arguments, mode="blocking",
                    idempotency_key=_idempotency_key(self.request), body=arguments,
                )
            )  # fmt: skip
        except ValidationError as exc:  # bad arguments: the model sees which and why
            return _rpc_result(message_id, _tool_error(_validation_text(exc)))
        except LLMOpsError as exc:  # refused (budget, limits): a clear result, not a protocol error
            return _rpc_result(message_id, _tool_error(exc.message))
        run = _blocking_result(admitted)
        if not run.is_final:
            return _rpc_result(message_id, _tool_error(f"run {run.id} is still running; it goes on"))
        if run.status not in (RunStatus.SUCCEEDED, RunStatus.PARTIAL):
            reason = (public_error(run.error) or {}).get("message", "")
            return _rpc_result(message_id, _tool_error(f"run {run.id} ended {run.status}: {reason}".strip()))
        outputs = dict(run.outputs or {})
        return _rpc_result(
            message_id,
            {
                "content": [{"type": "text", "text": answer_text(outputs)}],
                "structuredContent": json.loads(json.dumps(outputs, default=str)),
                "isError": False,
            },
        )


def _tool_error(text: str) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": text}], "isError": True}


def _validation_text(exc: ValidationError) -> str:
    fields = "; ".join(
        f"{name}: {' '.join(map(str, problems))}" for name, problems in (exc.fields or {}).items()
    )
    return f"{exc.message} {fields}".strip()
