"""``PlatformModelGateway``: the engine's ``ModelGateway`` port on LangChain models, with metering.

For every call it resolves the endpoint reference (``slug``, ``slug@label``, ``slug:3``), refuses a prompt
that cannot fit the context window before sending anything, applies the endpoint's limits (requests/min in
Redis, concurrency per process: see ``llmops.providers.limits``), calls the provider with retries on 429,
5xx, timeouts and broken connections (honouring Retry-After; backoff with jitter otherwise), falls back to
the endpoint's fallbacks in order, and writes one usage row per attempt (failures included) after the call.

Chat, streams and embeddings go through LangChain clients (``llmops.providers.langchain_calls``). Rerank and
moderation, which the platform calls outside the engine's port (knowledge search, moderation stages), go
through plain SSRF-guarded HTTP (``llmops.providers.rest_calls``) with the same limits, retries, fallbacks
and usage rows (operations ``rerank`` and ``moderation``).

A stream cannot be retried once it has delivered text, so errors after the first chunk are raised as is.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from contextlib import aclosing
from functools import partial
from typing import TypeVar

from asgiref.sync import sync_to_async
from django.conf import settings

from llmops.accounts.models import Workspace
from llmops.core.errors import LLMOpsError, NotFound, ValidationError
from llmops.providers import langchain_calls, rest_calls
from llmops.providers.errors import ContextWindowExceeded, ModelCallError, classify, redact
from llmops.providers.kinds import ModelType
from llmops.providers.limits import concurrency_slot, wait_for_rate
from llmops.providers.price_changes import price_book_aget, prices_in_effect
from llmops.providers.rest_calls import ModerationResult, RerankResult
from llmops.providers.selectors import ResolvedEndpoint, endpoint_resolve
from llmops.providers.tokens import prompt_fits
from llmops.usage.budgets import CallScope, budget_acheck, budget_arecord
from llmops.usage.services import MeteredCall, usage_record_acreate
from workflows import (
    CallContext,
    ChatChunk,
    ChatMessage,
    ChatRequest,
    ChatResult,
    EmbeddingResult,
    Usage,
)

logger = logging.getLogger(__name__)
T = TypeVar("T")
_BACKOFF_BASE_SECONDS = 0.5
_BACKOFF_MAX_SECONDS = 8.0
_resolve = sync_to_async(endpoint_resolve)


class EndpointTypeMismatch(ValidationError):
    """The reference names an endpoint of another model type (a chat endpoint where a reranker is needed)."""


class PlatformModelGateway:
    """Chat, streaming, embeddings, rerank and moderation on the workspace's model endpoints, metered into
    the usage ledger.

    One gateway serves one run, request or evaluation; the ids given here (or a request's ``CallContext``)
    are stored on every usage row. A reference is resolved once per gateway and then pinned: every call of a
    run uses the same endpoint version, even if a label moves or a version is published meanwhile.
    """

    def __init__(
        self,
        *,
        workspace: Workspace | int,
        source: str,
        run_id: str | None = None,
        node_id: str | None = None,
        deployment_id: str | None = None,
        api_key_id: str | None = None,
        end_user: str = "",
    ) -> None:
        self.workspace_id = workspace if isinstance(workspace, int) else workspace.pk
        self.source = source
        self.run_id = run_id or ""
        self.node_id = node_id or ""
        self.deployment_id = str(deployment_id or "")
        self.api_key_id = str(api_key_id or "")
        self.end_user = end_user
        self.scope = CallScope(self.workspace_id, self.deployment_id, self.api_key_id, end_user)
        self._pinned: dict[str, ResolvedEndpoint] = {}

    # --- the port --------------------------------------------------------------------------------------
    async def chat(self, request: ChatRequest) -> ChatResult:
        """One completion, on the first endpoint of the fallback chain that answers."""
        await budget_acheck(self.scope)
        errors: list[LLMOpsError] = []
        async for endpoint in self._candidates(request.model, ModelType.CHAT):
            try:
                await self._check_context(endpoint, request)
                return await self._with_retries(
                    endpoint, request.context, "chat", partial(self._chat_metered, endpoint, request)
                )
            except (ModelCallError, ContextWindowExceeded) as exc:
                errors.append(exc)
        raise self._final(errors)

    async def stream(self, request: ChatRequest) -> AsyncIterator[ChatChunk]:
        """A streamed completion; the last chunk carries usage. Retries and fallbacks until text flows."""
        await budget_acheck(self.scope)
        errors: list[LLMOpsError] = []
        async for endpoint in self._candidates(request.model, ModelType.CHAT):
            try:
                await self._check_context(endpoint, request)
            except ContextWindowExceeded as exc:
                errors.append(exc)
                continue
            for attempt in range(1, endpoint.config.max_retries + 2):
                state = langchain_calls.StreamState()
                try:
                    async with aclosing(self._stream_attempt(endpoint, request, attempt, state)) as chunks:
                        async for chunk in chunks:
                            yield chunk
                    return
                except ModelCallError as exc:
                    if state.yielded:
                        raise
                    delay = self._retry_delay(endpoint, exc, attempt)
                    if delay is None:
                        errors.append(exc)
                        break
                    await asyncio.sleep(delay)
        raise self._final(errors)

    async def embed(self, model: str, texts: Sequence[str], context: CallContext) -> EmbeddingResult:
        """Vectors for ``texts`` in batches of the endpoint's ``embedding_batch_size``.

        A fallback re-embeds everything: vectors of two different models must never be mixed in one result.
        """
        await budget_acheck(self.scope)
        errors: list[LLMOpsError] = []
        async for endpoint in self._candidates(model, ModelType.EMBEDDING):
            try:
                return await self._embed_all(endpoint, list(texts), context)
            except ModelCallError as exc:
                errors.append(exc)
        raise self._final(errors)

    # --- outside the port: rerank and moderation ----------------------------------------------------------
    async def rerank(
        self, model: str, query: str, documents: Sequence[str], context: CallContext
    ) -> RerankResult:
        """Relevance scores in [0, 1] of ``documents`` for ``query`` (input order) from a rerank endpoint.

        A fallback reranks every document: scores of two models are never mixed in one result.
        """
        await budget_acheck(self.scope)
        docs = list(documents)
        return await self._first_answer(
            model, ModelType.RERANK, "rerank", context,
            lambda endpoint: partial(self._rerank_metered, endpoint, query, docs),
        )  # fmt: skip

    async def moderate(self, model: str, text: str, context: CallContext) -> ModerationResult:
        """A moderation endpoint's verdict on ``text`` (flagged, and the flagged categories)."""
        await budget_acheck(self.scope)
        return await self._first_answer(
            model, ModelType.MODERATION, "moderation", context,
            lambda endpoint: partial(self._moderate_metered, endpoint, text),
        )  # fmt: skip

    async def test_connection(self, endpoint: ResolvedEndpoint) -> langchain_calls.ConnectionTest:
        """A tiny real call (chat: one token; others: the text "ping"), metered, without retries."""
        context = CallContext(run_id=self.run_id, node_id=self.node_id)
        started = time.perf_counter()
        try:
            operation, probe = self._probe(endpoint, context)
            await self._attempt(endpoint, context, operation, 1, probe)
        except (ModelCallError, ValidationError) as exc:
            error_type = getattr(exc, "error_type", exc.code)
            return langchain_calls.ConnectionTest(
                False, langchain_calls.elapsed_ms(started), endpoint.config.model, error_type, exc.message
            )
        return langchain_calls.ConnectionTest(
            True, langchain_calls.elapsed_ms(started), endpoint.config.model
        )

    def _probe(
        self, endpoint: ResolvedEndpoint, context: CallContext
    ) -> tuple[str, Callable[[int], Awaitable[object]]]:
        """The operation and the smallest real call a connection test makes on ``endpoint``."""
        kind = endpoint.config.model_type
        if kind == ModelType.CHAT:
            request = ChatRequest(
                model=endpoint.slug,
                messages=(ChatMessage(role="user", content="ping"),),
                context=context,
                parameters={"max_tokens": 1},
            )
            return "chat", partial(self._chat_metered, endpoint, request)
        if kind == ModelType.EMBEDDING:
            return "embed", lambda n: self._embed_batch(endpoint, ["ping"], context, n)
        if kind == ModelType.RERANK:
            return "rerank", partial(self._rerank_metered, endpoint, "ping", ["ping"], context)
        if kind == ModelType.MODERATION:
            return "moderation", partial(self._moderate_metered, endpoint, "ping", context)
        raise ValidationError(f"Connection tests do not support {kind} endpoints.")

    # --- resolution and checks ------------------------------------------------------------------------
    async def _candidates(self, ref: str, model_type: str) -> AsyncIterator[ResolvedEndpoint]:
        primary = await self._resolve(ref)
        if primary.config.model_type != model_type:
            kind = primary.config.model_type
            raise EndpointTypeMismatch(
                f"Model endpoint {primary.slug!r} is a {kind} endpoint, not {model_type}."
            )
        yield primary
        for fallback_ref in primary.config.fallbacks:
            try:
                fallback = await self._resolve(fallback_ref)
            except NotFound as exc:
                logger.warning("fallback %s of %s skipped: %s", fallback_ref, primary.slug, exc.message)
                continue
            if fallback.config.model_type == model_type:
                yield fallback

    async def _resolve(self, ref: str) -> ResolvedEndpoint:
        pinned = self._pinned.get(ref)
        if pinned is None:
            pinned = self._pinned[ref] = await _resolve(workspace_id=self.workspace_id, ref=ref)
        return pinned

    async def _check_context(self, endpoint: ResolvedEndpoint, request: ChatRequest) -> None:
        window = endpoint.config.context_window
        if not window:
            return
        reserved = langchain_calls.reserved_output(endpoint, request)
        contents = [m.content for m in request.messages] + [t.description for t in request.tools]
        fits, tokens = prompt_fits(
            contents, model=endpoint.config.model, context_window=window, reserved_output=reserved
        )
        if fits:
            return
        plus = f" plus {reserved} reserved for output" if reserved else ""
        message = (
            f"The prompt (about {tokens} tokens{plus}) does not fit the {window}-token context window of "
            f"model endpoint {endpoint.label!r}; nothing was sent."
        )
        error = ContextWindowExceeded(message, fields={"messages": [message]})
        await self._meter(endpoint, request.context, "chat", 1, error=error)
        raise error

    def _final(self, errors: list[LLMOpsError]) -> LLMOpsError:
        if not errors:
            return NotFound("No model endpoint could serve this call.")
        if len(errors) == 1:
            return errors[0]
        first = errors[0]
        first.message = (
            f"{first.message} (and {len(errors) - 1} fallback(s) failed too: {errors[-1].message})"
        )
        first.args = (first.message,)
        return first

    async def _first_answer(
        self,
        ref: str,
        model_type: str,
        operation: str,
        context: CallContext,
        call_for: Callable[[ResolvedEndpoint], Callable[[CallContext, int], Awaitable[T]]],
    ) -> T:
        """The answer of the first endpoint of the fallback chain that gives one, each with its retries."""
        errors: list[LLMOpsError] = []
        async for endpoint in self._candidates(ref, model_type):
            try:
                return await self._with_retries(
                    endpoint, context, operation, partial(call_for(endpoint), context)
                )
            except ModelCallError as exc:
                errors.append(exc)
        raise self._final(errors)

    # --- attempts, retries, metering ------------------------------------------------------------------
    def _retry_delay(self, endpoint: ResolvedEndpoint, error: ModelCallError, attempt: int) -> float | None:
        """Seconds to wait before the next attempt, or None when the endpoint should be given up."""
        if not error.retryable or attempt > endpoint.config.max_retries:
            return None
        if error.retry_after is not None:
            limit = settings.LLMOPS_MODEL_MAX_RETRY_AFTER_SECONDS
            return None if error.retry_after > limit else error.retry_after
        backoff = min(_BACKOFF_MAX_SECONDS, _BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
        return float(backoff * random.uniform(0.8, 1.2))  # jitter, not cryptography

    async def _with_retries(
        self,
        endpoint: ResolvedEndpoint,
        context: CallContext,
        operation: str,
        call: Callable[[int], Awaitable[T]],
    ) -> T:
        attempt = 1
        while True:
            try:
                return await self._attempt(endpoint, context, operation, attempt, call)
            except ModelCallError as exc:
                delay = self._retry_delay(endpoint, exc, attempt)
                if delay is None:
                    raise
                await asyncio.sleep(delay)
                attempt += 1

    async def _attempt(
        self,
        endpoint: ResolvedEndpoint,
        context: CallContext,
        operation: str,
        attempt: int,
        call: Callable[[int], Awaitable[T]],
    ) -> T:
        """One metered attempt under the endpoint's limits; failures are classified and metered here."""
        config = endpoint.config
        started = time.perf_counter()
        try:
            await wait_for_rate(endpoint.endpoint_id, config.rate_limit.requests_per_minute)
            async with concurrency_slot(endpoint.endpoint_id, config.rate_limit.concurrency):
                started = time.perf_counter()
                return await call(attempt)
        except (ValidationError, asyncio.CancelledError):
            raise
        except Exception as exc:
            error = self._classified(endpoint, exc)
            await self._meter(
                endpoint,
                context,
                operation,
                attempt,
                error=error,
                latency_ms=langchain_calls.elapsed_ms(started),
            )
            raise error from None

    async def _stream_attempt(
        self,
        endpoint: ResolvedEndpoint,
        request: ChatRequest,
        attempt: int,
        state: langchain_calls.StreamState,
    ) -> AsyncGenerator[ChatChunk, None]:
        config = endpoint.config
        try:
            await wait_for_rate(endpoint.endpoint_id, config.rate_limit.requests_per_minute)
            async with concurrency_slot(endpoint.endpoint_id, config.rate_limit.concurrency):
                async for chunk in langchain_calls.stream_once(endpoint, request, state):
                    if chunk.usage is None:
                        yield chunk
                        continue
                    try:
                        yield chunk
                    finally:  # written once the caller has the last chunk (or walks away from it)
                        await self._meter(
                            endpoint, request.context, "stream", attempt, usage=chunk.usage,
                            latency_ms=state.latency_ms, ttft_ms=state.ttft_ms,
                        )  # fmt: skip
        except (ValidationError, GeneratorExit, asyncio.CancelledError):
            raise
        except Exception as exc:
            error = self._classified(endpoint, exc)
            latency = langchain_calls.elapsed_ms(state.started) if state.started else 0
            await self._meter(
                endpoint,
                request.context,
                "stream",
                attempt,
                error=error,
                latency_ms=latency,
                ttft_ms=state.ttft_ms,
            )
            raise error from None

    def _classified(self, endpoint: ResolvedEndpoint, exc: BaseException) -> ModelCallError:
        credentials = endpoint.credentials
        headers = credentials.get("headers")
        secrets = [str(v) for v in credentials.values() if isinstance(v, str)]
        secrets += [str(v) for v in headers.values()] if isinstance(headers, dict) else []
        error = classify(exc, secrets=secrets)
        error.message = redact(f"Model endpoint {endpoint.label!r}: {error.message}", secrets)
        error.args = (error.message,)
        return error

    async def _chat_metered(
        self, endpoint: ResolvedEndpoint, request: ChatRequest, attempt: int
    ) -> ChatResult:
        result, measured = await langchain_calls.chat_once(endpoint, request)
        await self._meter(
            endpoint, request.context, "chat", attempt, usage=result.usage, latency_ms=measured.latency_ms
        )
        return result

    async def _embed_all(
        self, endpoint: ResolvedEndpoint, texts: list[str], context: CallContext
    ) -> EmbeddingResult:
        size = endpoint.config.embedding_batch_size
        vectors: list[list[float]] = []
        usage = Usage()
        for start in range(0, len(texts), size):
            batch = texts[start : start + size]
            batch_vectors, batch_usage = await self._with_retries(
                endpoint,
                context,
                "embed",
                lambda n, b=batch: self._embed_batch(endpoint, b, context, n),  # type: ignore[misc]
            )
            vectors.extend(batch_vectors)
            usage = usage + batch_usage
        return EmbeddingResult(vectors=vectors, usage=usage, model=endpoint.config.model)

    async def _embed_batch(
        self, endpoint: ResolvedEndpoint, batch: list[str], context: CallContext, attempt: int
    ) -> tuple[list[list[float]], Usage]:
        vectors, usage, measured = await langchain_calls.embed_once(endpoint, batch)
        await self._meter(endpoint, context, "embed", attempt, usage=usage, latency_ms=measured.latency_ms)
        return vectors, usage

    async def _rerank_metered(
        self, endpoint: ResolvedEndpoint, query: str, documents: list[str], context: CallContext, attempt: int
    ) -> RerankResult:
        result, measured = await rest_calls.rerank_once(endpoint, query, documents)
        await self._meter(
            endpoint, context, "rerank", attempt, usage=result.usage, requests=result.requests,
            latency_ms=measured.latency_ms,
        )  # fmt: skip
        return result

    async def _moderate_metered(
        self, endpoint: ResolvedEndpoint, text: str, context: CallContext, attempt: int
    ) -> ModerationResult:
        result, measured = await rest_calls.moderate_once(endpoint, text)
        await self._meter(
            endpoint, context, "moderation", attempt, usage=result.usage, requests=result.requests,
            latency_ms=measured.latency_ms,
        )  # fmt: skip
        return result

    async def _meter(
        self,
        endpoint: ResolvedEndpoint,
        context: CallContext,
        operation: str,
        attempt: int,
        *,
        usage: Usage | None = None,
        latency_ms: int = 0,
        ttft_ms: int | None = None,
        error: LLMOpsError | None = None,
        requests: int | None = None,
    ) -> None:
        """Write the usage row of one attempt; a successful call is one billed request unless told more."""
        usage = usage or Usage()
        try:
            book = await price_book_aget()
            prices = prices_in_effect(
                book, endpoint_id=endpoint.endpoint_id, provider_kind=endpoint.config.provider_kind,
                model=endpoint.config.model, version_prices=endpoint.config.prices,
            ).prices  # fmt: skip
        except Exception:  # the price table unreadable: the version's own prices, never a lost usage row
            logger.exception("could not read the price changes; charging the version's prices")
            prices = endpoint.config.prices
        call = MeteredCall(
            workspace_id=self.workspace_id,
            endpoint_id=endpoint.endpoint_id,
            endpoint_slug=endpoint.slug,
            endpoint_version=endpoint.version,
            model_name=endpoint.config.model,
            provider_kind=endpoint.config.provider_kind,
            operation=operation,
            source=self.source,
            prices=prices,
            run_id=context.run_id or self.run_id,
            node_id=context.node_id or self.node_id,
            deployment_id=self.deployment_id,
            api_key_id=self.api_key_id,
            end_user=self.end_user,
            attempt=attempt,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            cached_tokens=usage.cached_tokens,
            requests=(0 if error else 1) if requests is None else requests,
            latency_ms=latency_ms,
            ttft_ms=ttft_ms,
            error_type=getattr(error, "error_type", error.code) if error else "",
            error_message=error.message if error else "",
        )
        try:
            row = await usage_record_acreate(call=call)
            if row.cost or row.prompt_tokens or row.completion_tokens:
                await budget_arecord(
                    self.scope,
                    cost=row.cost,
                    currency=row.currency,
                    tokens=row.prompt_tokens + row.completion_tokens,
                )
        except Exception:  # the answer is already delivered; a ledger outage must not turn it into an error
            logger.exception("could not write the usage row for endpoint %s", endpoint.slug)
