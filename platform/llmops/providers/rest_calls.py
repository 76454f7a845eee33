"""Single rerank and moderation calls on one resolved endpoint (no retries, no fallback), over plain HTTP.

LangChain has no client for these protocols, so they are posted with the SSRF-guarded httpx client
(:func:`llmops.core.outbound.guarded_async_client`: every request, redirects included, is checked, and the
checked address is the one connected to). The gateway (``llmops.providers.gateway``) wraps them in the
endpoint's limits, retries, fallbacks and usage rows, as it does chat and embeddings.

- **rerank** (the Cohere/Jina protocol): ``POST {base_url}/rerank`` with ``{"model", "query",
  "documents", "top_n"}`` answers ``{"results": [{"index", "relevance_score"}]}``, optionally with
  ``"usage": {"total_tokens"}`` (Jina, TEI, vLLM) or ``"meta": {"billed_units": {"search_units",
  "input_tokens"}}`` (Cohere).
- **moderation** (the OpenAI protocol): ``POST {base_url}/moderations`` with ``{"model", "input"}`` answers
  ``{"results": [{"flagged", "categories": {name: bool}}]}``.

A non-2xx answer raises :class:`ProviderStatusError`, which :func:`llmops.providers.errors.classify` maps
like an SDK's error (429 with Retry-After, 5xx, refused credentials, other 4xx); an answer that breaks the
protocol raises ``MalformedResponse``. A server that reports no tokens gets an offline estimate.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from llmops.core.outbound import guarded_async_client
from llmops.providers.errors import MalformedResponse
from llmops.providers.langchain_calls import Measured, elapsed_ms
from llmops.providers.selectors import ResolvedEndpoint
from llmops.providers.tokens import count_text
from workflows import Usage


@dataclass(frozen=True, slots=True)
class RerankResult:
    """Relevance scores in [0, 1], one per document in input order (0 for a document the provider left out).

    ``requests`` is what the provider bills: Cohere's search units (one per query of up to 100 documents),
    otherwise 1.
    """

    scores: list[float]
    usage: Usage
    model: str
    requests: int = 1


@dataclass(frozen=True, slots=True)
class ModerationResult:
    """Whether the text was flagged, and the flagged category names (``["flagged"]`` when none is named)."""

    flagged: bool
    categories: list[str]
    usage: Usage
    model: str
    requests: int = 1


class ProviderStatusError(Exception):
    """A non-2xx answer, shaped like the SDKs' errors (``status_code``, ``response``, ``body``) so that
    :func:`llmops.providers.errors.classify` reads its status, Retry-After and message the same way."""

    def __init__(self, response: httpx.Response) -> None:
        self.status_code = response.status_code
        self.response = response
        try:
            self.body: Any = response.json()
        except ValueError:
            self.body = None
        super().__init__(f"HTTP {response.status_code} {response.reason_phrase}")


def _headers(endpoint: ResolvedEndpoint) -> dict[str, str]:
    credentials = endpoint.credentials
    headers = {str(name): str(value) for name, value in (credentials.get("headers") or {}).items()}
    if credentials.get("api_key"):
        headers["Authorization"] = f"Bearer {credentials['api_key']}"
    if credentials.get("organization"):
        headers["OpenAI-Organization"] = str(credentials["organization"])
    return headers


async def _post(endpoint: ResolvedEndpoint, path: str, body: dict[str, Any]) -> tuple[Any, Measured]:
    config = endpoint.config
    url = config.effective_base_url.rstrip("/") + path
    started = time.perf_counter()
    # A client per call, closed with it: these calls are rare next to chat, and a pooled client would
    # outlive the short event loops that sync callers (knowledge search) run it in.
    async with guarded_async_client(timeout=config.timeout_seconds) as client:
        response = await client.post(url, json=body, headers=_headers(endpoint))
    measured = Measured(latency_ms=elapsed_ms(started))
    if not response.is_success:
        raise ProviderStatusError(response)
    try:
        return response.json(), measured
    except ValueError:
        raise MalformedResponse(f"the provider's {path} answer is not JSON") from None


def _unit(score: float) -> float:
    """A relevance score in [0, 1]: some servers return logits, squashed here (a stable sigmoid) so that
    score thresholds stay meaningful."""
    if not math.isfinite(score):
        raise ValueError(f"relevance score {score}")
    if 0.0 <= score <= 1.0:
        return score
    if score >= 0:
        return 1 / (1 + math.exp(-score))
    return math.exp(score) / (1 + math.exp(score))


def _rerank_scores(answer: Any, count: int) -> list[float]:
    scores = [0.0] * count
    try:
        for row in answer["results"]:
            index = int(row["index"])
            if not 0 <= index < count:
                raise ValueError(f"index {index} for {count} documents")
            scores[index] = _unit(float(row["relevance_score"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedResponse(
            f"the provider's rerank response is malformed ({type(exc).__name__}: {exc})"
        ) from None
    return scores


def _positive(value: Any) -> int:
    return value if isinstance(value, int) and value > 0 else 0


def _reported_tokens(answer: dict[str, Any]) -> int:
    usage = answer.get("usage")
    if isinstance(usage, dict):
        for key in ("prompt_tokens", "total_tokens", "input_tokens"):
            if tokens := _positive(usage.get(key)):
                return tokens
    return _positive(_billed_units(answer).get("input_tokens"))


def _billed_units(answer: dict[str, Any]) -> dict[str, Any]:
    meta = answer.get("meta")
    billed = meta.get("billed_units") if isinstance(meta, dict) else None
    return billed if isinstance(billed, dict) else {}


async def rerank_once(
    endpoint: ResolvedEndpoint, query: str, documents: Sequence[str]
) -> tuple[RerankResult, Measured]:
    """Rerank ``documents`` for ``query`` in one request."""
    model = endpoint.config.model
    body = {"model": model, "query": query, "documents": list(documents), "top_n": len(documents)}
    answer, measured = await _post(endpoint, "/rerank", body)
    scores = _rerank_scores(answer, len(documents))
    tokens = _reported_tokens(answer) or count_text(query, model=model) * len(documents) + sum(
        count_text(document, model=model) for document in documents
    )
    requests = _positive(_billed_units(answer).get("search_units")) or 1
    return RerankResult(scores, Usage(prompt_tokens=tokens), model, requests), measured


def _flagged_categories(answer: Any) -> tuple[bool, list[str]]:
    results = answer.get("results") if isinstance(answer, dict) else None
    if not isinstance(results, list) or not all(isinstance(result, dict) for result in results):
        raise MalformedResponse("the provider's moderation response has no list of results")
    flagged = False
    categories: list[str] = []
    for result in results:
        if not result.get("flagged"):
            continue
        flagged = True
        named = result.get("categories")
        hits = [str(name) for name, hit in named.items() if hit] if isinstance(named, dict) else []
        categories += hits or ["flagged"]
    return flagged, categories


async def moderate_once(endpoint: ResolvedEndpoint, text: str) -> tuple[ModerationResult, Measured]:
    """Ask the moderation endpoint about ``text`` in one request."""
    model = endpoint.config.model
    answer, measured = await _post(endpoint, "/moderations", {"model": model, "input": text})
    flagged, categories = _flagged_categories(answer)
    tokens = _reported_tokens(answer) or count_text(text, model=model)
    return ModerationResult(flagged, categories, Usage(prompt_tokens=tokens), model), measured
