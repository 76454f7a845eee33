"""Running a chain: moderate, retrieve, render with memory, call the model, moderate, parse, remember.

:class:`ChainExecutor` does one run (``execute``; or ``prepare`` then ``stream`` for a streamed answer);
:func:`llmops.chains.services.chain_run` drives it for the API and :class:`PlatformChainRunner` is the
engine's ``ChainRunner`` port (the chain node of a workflow).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from asgiref.sync import sync_to_async

from llmops.accounts.models import Workspace
from llmops.chains.content import ChainContent
from llmops.chains.conversation_scope import ConversationScope
from llmops.chains.models import Chain
from llmops.chains.parsers import output_parse
from llmops.chains.selectors import ChainSnapshot, chain_history, chain_snapshot_by_ref
from llmops.core.errors import ValidationError
from llmops.prompts.gateway import endpoint_moderator, gateway_for, recorded_cost
from llmops.prompts.moderation import ModerationConfig, ModerationVerdict, moderate, moderation_text
from llmops.prompts.playground import usage_body
from llmops.prompts.selectors import prompt_render, prompt_snapshot_by_ref
from workflows import (
    CallContext,
    ChainResult,
    ChatMessage,
    ChatRequest,
    ModelGateway,
    RenderedPrompt,
    Retriever,
    Usage,
)

RETRIEVAL_SKIPPED = (
    "Retrieval skipped: no retriever is configured (the knowledge app is not installed yet); "
    "the context variable was left empty."
)


@dataclass(frozen=True, slots=True)
class ChainOutcome:
    """What one chain run produced, or the moderation verdict that stopped it."""

    output: Any
    text: str
    version: str
    usage: Usage = field(default_factory=Usage)
    conversation_id: str | None = None
    verdict: ModerationVerdict | None = None
    cost: Decimal | None = None
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The run endpoint's JSON body (``blocked`` false, or the verdict's fields)."""
        body: dict[str, Any] = {
            "blocked": False,
            "output": self.output,
            "text": self.text,
            "usage": usage_body(self.usage, self.cost),
            "conversation_id": self.conversation_id,
            "version": self.version,
            "notes": list(self.notes),
        }
        if self.verdict is not None:
            body.update(self.verdict.to_dict())
        return body

    def to_chain_result(self) -> ChainResult:
        """The engine's value: a blocked run's output is the verdict, its text the verdict's message."""
        if self.verdict is not None:
            return ChainResult(output=self.verdict.to_dict(), text=self.verdict.message, usage=self.usage)
        return ChainResult(output=self.output, text=self.text, usage=self.usage)


@dataclass(frozen=True, slots=True)
class PreparedChain:
    """A chain run up to its model call: the request to send, and what the rest of the run needs."""

    snapshot: ChainSnapshot
    request: ChatRequest
    user_text: str
    conversation_id: str | None

    @property
    def streams_text(self) -> bool:
        """Whether the answer may be shown while it is produced: plain text, no output moderation."""
        content = self.snapshot.content
        return content.output_parser.type == "text" and not (content.moderation and content.moderation.output)


def _inputs_error(exc: ValidationError) -> ValidationError:
    fields = {key.replace("variables.", "inputs.", 1): value for key, value in exc.fields.items()}
    return ValidationError(exc.message.replace("variables", "inputs"), fields=fields)


def workspace_retriever(workspace: Workspace, gateway: Any = None) -> Retriever:
    """The knowledge retriever of ``workspace`` (its rerank calls metered through ``gateway`` when given)."""
    from llmops.knowledge.engine_retriever import PlatformRetriever  # knowledge builds on chains' neighbours

    return PlatformRetriever(workspace_id=workspace.pk, gateway=gateway)


@dataclass
class ChainExecutor:
    """Runs chain snapshots of one workspace with a gateway, an optional retriever and a call context."""

    workspace: Workspace
    gateway: ModelGateway
    context: CallContext
    retriever: Retriever | None = None
    metered_run_id: str | None = None  # set when this executor alone meters under the run id
    notes: list[str] = field(default_factory=list)

    @classmethod
    def for_api(cls, *, workspace: Workspace, chain: Chain, user_id: str | None) -> ChainExecutor:
        """An executor for one API run: its own run id, usage recorded with source ``run``."""
        run_id = f"chain-{uuid.uuid4().hex}"
        context = CallContext(run_id, chain.slug, user_id=user_id, workspace_id=str(workspace.pk))
        gateway = gateway_for(workspace=workspace, source="run", run_id=run_id, node_id=chain.slug)
        return cls(
            workspace, gateway, context, retriever=workspace_retriever(workspace), metered_run_id=run_id
        )

    async def _variables(self, content: ChainContent, inputs: Mapping[str, Any]) -> dict[str, Any]:
        variables = dict(inputs)
        config = content.retriever
        if config is None:
            return variables
        if self.retriever is None:
            variables.setdefault(config.context_variable, "")
            self.notes.append(RETRIEVAL_SKIPPED)
            return variables
        query = inputs.get(config.query_variable)
        if not isinstance(query, str) or not query.strip():
            name = config.query_variable
            raise ValidationError(f"Missing query input {name!r}.", fields={f"inputs.{name}": ["Required."]})
        chunks = await self.retriever.retrieve(
            config.knowledge_base_ids,
            query,
            top_k=config.top_k,
            score_threshold=config.score_threshold,
            mode=config.mode,
            filters={},
            context=self.context,
        )
        variables[config.context_variable] = "\n\n".join(chunk.text for chunk in chunks)
        return variables

    def _render(
        self, content: ChainContent, variables: dict[str, Any], history: list[dict[str, Any]]
    ) -> tuple[RenderedPrompt, list[ChatMessage], str]:
        snapshot = prompt_snapshot_by_ref(workspace=self.workspace, ref=content.prompt.ref())
        name = content.memory.placeholder if content.memory else ""
        slot = any(m.role == "placeholder" and m.content == name for m in snapshot.compiled.content.messages)
        try:
            plain = prompt_render(
                snapshot=snapshot, variables=variables, placeholders={name: []} if name else None
            )
            rendered = plain
            if slot and history:
                rendered = prompt_render(snapshot=snapshot, variables=variables, placeholders={name: history})
        except ValidationError as exc:
            raise _inputs_error(exc) from None
        user_text = next((m.content for m in reversed(plain.messages) if m.role == "user"), plain.text)
        messages = list(rendered.messages)
        if history and not slot:  # no placeholder: the turns go right before the current message
            turns = [ChatMessage(role=turn["role"], content=turn["content"]) for turn in history]
            messages[-1:-1] = turns
        return rendered, messages, user_text

    async def _moderate(self, stage: Any, config: ModerationConfig, text: str) -> ModerationVerdict | None:
        rules = config.input if stage == "input" else config.output
        moderator = endpoint_moderator(self.workspace, gateway=self.gateway, context=self.context)
        return await moderate(stage, rules, text, moderator)

    async def prepare(
        self, snapshot: ChainSnapshot, inputs: Mapping[str, Any], *, conversation_id: str | None
    ) -> PreparedChain | ChainOutcome:
        """Everything before the model call: moderate the inputs, retrieve, load memory and render. Returns
        the request to send, or the outcome of an input moderation block."""
        content, version = snapshot.content, snapshot.version_label
        moderation = content.moderation or ModerationConfig()
        if content.memory and not conversation_id:
            conversation_id = uuid.uuid4().hex
        if verdict := await self._moderate("input", moderation, moderation_text(dict(inputs))):
            return ChainOutcome(None, "", version, conversation_id=conversation_id, verdict=verdict)
        variables = await self._variables(content, inputs)
        history: list[dict[str, Any]] = []
        if content.memory and conversation_id:
            history = await sync_to_async(chain_history)(
                chain=snapshot.chain, conversation_id=conversation_id, turns=content.memory.k
            )
        rendered, messages, user_text = await sync_to_async(self._render)(content, variables, history)
        request = ChatRequest(
            model=str(content.model or rendered.model),
            messages=tuple(messages),
            context=self.context,
            parameters={**rendered.parameters, **content.parameters},
        )
        return PreparedChain(snapshot, request, user_text, conversation_id)

    async def finish(self, prepared: PreparedChain, text: str, usage: Usage) -> ChainOutcome:
        """Everything after the model call: moderate the answer, parse it, remember the turn, price it."""
        snapshot, conversation_id = prepared.snapshot, prepared.conversation_id
        content, version = snapshot.content, snapshot.version_label
        notes = tuple(self.notes)
        moderation = content.moderation or ModerationConfig()
        if verdict := await self._moderate("output", moderation, text):
            return ChainOutcome(None, "", version, usage, conversation_id, verdict, notes=notes)
        output = output_parse(content.output_parser, text)
        if content.memory and conversation_id:
            await sync_to_async(_remember)(snapshot, conversation_id, prepared.user_text, text)
        cost = None
        if self.metered_run_id:
            cost = await recorded_cost(workspace=self.workspace, run_id=self.metered_run_id)
        return ChainOutcome(output, text, version, usage, conversation_id, None, cost, notes)

    async def execute(
        self, snapshot: ChainSnapshot, inputs: Mapping[str, Any], *, conversation_id: str | None
    ) -> ChainOutcome:
        """Run ``snapshot`` with ``inputs``; memory (if configured) is keyed by ``conversation_id``."""
        prepared = await self.prepare(snapshot, inputs, conversation_id=conversation_id)
        if isinstance(prepared, ChainOutcome):
            return prepared
        result = await self.gateway.chat(prepared.request)
        return await self.finish(prepared, result.text, result.usage)

    async def stream(self, prepared: PreparedChain) -> AsyncIterator[str | ChainOutcome]:
        """The model's answer through the gateway's stream: text deltas as they arrive, then the outcome.

        Only a chain whose answer is plain text and unmoderated streams deltas (``prepared.streams_text``).
        A JSON or list parser, or output moderation, needs the whole answer before any of it may be shown:
        such a chain yields no delta, only the outcome (callers send its final, parsed and checked result).
        """
        parts: list[str] = []
        usage: Usage | None = None
        async for chunk in self.gateway.stream(prepared.request):
            if chunk.text:
                parts.append(chunk.text)
                if prepared.streams_text:
                    yield chunk.text
            usage = chunk.usage or usage
        yield await self.finish(prepared, "".join(parts), usage or Usage())


def _remember(snapshot: ChainSnapshot, conversation_id: str, user_text: str, answer: str) -> None:
    # Imported here: the services module drives this one for API runs.
    from llmops.chains.services import chain_conversation_append

    chain_conversation_append(
        chain=snapshot.chain,
        conversation_id=conversation_id,
        user_text=user_text,
        assistant_text=answer,
        chain_version=snapshot.version,
    )


class PlatformChainRunner:
    """The engine's ``ChainRunner``: runs ``slug`` (latest version), ``slug@label`` or ``slug:3``.

    ``gateway`` defaults to the platform gateway metering under the caller's run and node ids (source
    ``run``); pass the run's own gateway to share it. Without a ``retriever``, retrieval is skipped. A run of
    a published endpoint passes its ``scope``: the client's conversation ids are then scoped to its deployment,
    API key and end user before they key a chain's memory.
    """

    def __init__(
        self,
        workspace: Workspace,
        *,
        gateway: ModelGateway | None = None,
        retriever: Retriever | None = None,
        source: str = "run",
        scope: ConversationScope | None = None,
    ) -> None:
        self.workspace = workspace
        self.gateway = gateway
        self.retriever = retriever
        self.source = source
        self.scope = scope

    async def run(
        self, ref: str, inputs: Mapping[str, Any], *, conversation_id: str | None, context: CallContext
    ) -> ChainResult:
        """Run the chain to completion (moderation blocks come back as a result, not an error)."""
        snapshot = await sync_to_async(chain_snapshot_by_ref)(workspace=self.workspace, ref=ref)
        gateway = self.gateway or gateway_for(
            workspace=self.workspace, source=self.source, run_id=context.run_id, node_id=context.node_id
        )
        executor = ChainExecutor(self.workspace, gateway, context, retriever=self.retriever)
        if self.scope is not None:
            conversation_id = self.scope.key(conversation_id)
        outcome = await executor.execute(snapshot, inputs, conversation_id=conversation_id)
        return outcome.to_chain_result()
