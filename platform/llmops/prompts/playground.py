"""The playground: render a prompt, call its model through the gateway, stream the answer as SSE.

Input moderation inspects the variables the caller sent; output moderation inspects the answer.

Server-sent events, in order: ``text_chunk`` ``{"text"}`` (many), ``usage`` ``{"prompt_tokens",
"completion_tokens", "total_tokens", "cost"}``, ``done`` ``{}``. Moderation stops a call with a ``blocked``
event (:class:`llmops.prompts.moderation.ModerationVerdict`'s shape) followed by ``done``; a failure sends
``error`` ``{"code", "message"}``. With output moderation configured the answer is checked before it is
sent, so it arrives as one ``text_chunk``.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from llmops.accounts.models import User, Workspace
from llmops.core.errors import LLMOpsError, ValidationError
from llmops.prompts.gateway import endpoint_moderator, gateway_for, recorded_cost
from llmops.prompts.models import Prompt
from llmops.prompts.moderation import ModerationConfig, moderate, moderation_text
from llmops.prompts.selectors import prompt_render, prompt_snapshot
from workflows import CallContext, ChatRequest, ModelGateway, Usage

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PlaygroundCall:
    """A rendered prompt ready to send: the chat request plus what moderation and reporting need."""

    workspace: Workspace
    request: ChatRequest
    version: str
    moderation: ModerationConfig | None
    input_text: str = ""  # what input moderation inspects: the caller's variables, not the template
    source: str = "playground"  # the usage source its calls are metered under (``evaluation`` for a target)

    def gateway(self) -> ModelGateway:
        """The platform gateway, metering this call under its own run id with the call's source."""
        context = self.request.context
        return gateway_for(
            workspace=self.workspace, source=self.source, run_id=context.run_id, node_id=context.node_id
        )

    async def cost(self) -> Decimal | None:
        """What the gateway recorded this call as costing."""
        return await recorded_cost(workspace=self.workspace, run_id=self.request.context.run_id)


def playground_prepare(
    *,
    workspace: Workspace,
    user: User | None,
    prompt: Prompt,
    version: str | int | None,
    variables: Mapping[str, Any],
    model: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    source: str = "playground",
    run_id: str | None = None,
) -> PlaygroundCall:
    """Render ``prompt`` at ``version`` (default: the draft) into a chat request for the playground (or, with
    ``source`` and ``run_id``, for another caller of one prompt: an evaluation's target call)."""
    snapshot = prompt_snapshot(prompt=prompt, version=version)
    rendered = prompt_render(snapshot=snapshot, variables=variables)
    model_ref = model or rendered.model
    if not model_ref:
        raise ValidationError(
            "The prompt names no model endpoint.", fields={"model": ["Give a model endpoint reference."]}
        )
    context = CallContext(
        run_id=run_id or f"playground-{uuid.uuid4().hex}",
        node_id=prompt.slug,
        user_id=str(user.pk) if user is not None else None,
        workspace_id=str(workspace.pk),
    )
    request = ChatRequest(
        model=model_ref,
        messages=rendered.messages,
        context=context,
        parameters={**rendered.parameters, **(parameters or {})},
    )
    moderation = snapshot.compiled.content.moderation
    checked = moderation_text(dict(variables))
    return PlaygroundCall(workspace, request, snapshot.version_label, moderation, checked, source)


def usage_body(usage: Usage | None, cost: Decimal | None) -> dict[str, Any]:
    """Token counts plus the recorded cost (a JSON number; ``None`` when nothing was recorded)."""
    return {**(usage or Usage()).to_dict(), "cost": None if cost is None else float(cost)}


async def playground_complete(call: PlaygroundCall, gateway: ModelGateway | None = None) -> dict[str, Any]:
    """Run the call to completion: the answer, or the moderation verdict that stopped it."""
    gateway = gateway or call.gateway()
    moderator = endpoint_moderator(call.workspace, gateway=gateway, context=call.request.context)
    config = call.moderation or ModerationConfig()
    if verdict := await moderate("input", config.input, call.input_text, moderator):
        return {**verdict.to_dict(), "version": call.version}
    result = await gateway.chat(call.request)
    if verdict := await moderate("output", config.output, result.text, moderator):
        return {**verdict.to_dict(), "version": call.version}
    cost = await call.cost()
    return {
        "blocked": False,
        "text": result.text,
        "model": result.model,
        "usage": usage_body(result.usage, cost),
        "version": call.version,
    }


def sse(event: str, data: Mapping[str, Any]) -> bytes:
    """One server-sent event."""
    return f"event: {event}\ndata: {json.dumps(data, default=str)}\n\n".encode()


async def _answer_events(call: PlaygroundCall, gateway: ModelGateway) -> AsyncIterator[bytes]:
    config = call.moderation or ModerationConfig()
    buffered = config.output is not None
    parts: list[str] = []
    usage: Usage | None = None
    async for chunk in gateway.stream(call.request):
        if chunk.text:
            parts.append(chunk.text)
            if not buffered:
                yield sse("text_chunk", {"text": chunk.text})
        usage = chunk.usage or usage
    text = "".join(parts)
    if buffered:
        moderator = endpoint_moderator(call.workspace, gateway=gateway, context=call.request.context)
        verdict = await moderate("output", config.output, text, moderator)
        if verdict is not None:
            yield sse("blocked", verdict.to_dict())
            return
        yield sse("text_chunk", {"text": text})
    cost = await call.cost()
    yield sse("usage", usage_body(usage, cost))


async def playground_events(
    call: PlaygroundCall, gateway: ModelGateway | None = None
) -> AsyncIterator[bytes]:
    """The SSE stream of one playground call (see the module docstring for the events)."""
    try:
        gateway = gateway or call.gateway()
        config = call.moderation or ModerationConfig()
        moderator = endpoint_moderator(call.workspace, gateway=gateway, context=call.request.context)
        verdict = await moderate("input", config.input, call.input_text, moderator)
        if verdict is not None:
            yield sse("blocked", verdict.to_dict())
        else:
            async for event in _answer_events(call, gateway):
                yield event
    except LLMOpsError as exc:
        yield sse("error", {"code": exc.code, "message": exc.message})
    except Exception as exc:  # a stream has no status line left to fail with: report, then end cleanly
        logger.exception("playground stream failed")
        yield sse("error", {"code": "internal", "message": f"{type(exc).__name__}: {exc}"[:500]})
    yield sse("done", {})
