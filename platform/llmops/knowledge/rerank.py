"""Optional rerank of fused candidates through a ``rerank`` model endpoint (Cohere/Jina ``/rerank`` protocol:
``{model, query, documents, top_n}`` -> ``{results: [{index, relevance_score}]}``), SSRF-guarded.

Not metered into the usage ledger yet: the gateway has no rerank operation (see the issue's follow-ups).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import httpx

from llmops.core.errors import ServiceUnavailable, ValidationError
from llmops.providers.kinds import ModelType
from llmops.providers.selectors import endpoint_resolve
from llmops.providers.ssrf import allowlist
from workflows import BlockedURLError, SSRFGuardSyncTransport


def rerank_scores(*, workspace_id: int, model_ref: str, query: str, texts: Sequence[str]) -> list[float]:
    """A relevance score in [0, 1] per text (in input order) from the rerank endpoint ``model_ref``."""
    endpoint = endpoint_resolve(workspace_id=workspace_id, ref=model_ref)
    if endpoint.config.model_type != ModelType.RERANK:
        raise ValidationError(
            f"{model_ref!r} is not a rerank endpoint.", fields={"rerank_model": ["Not rerank."]}
        )
    api_key = endpoint.credentials.get("api_key") if endpoint.credentials else None
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    body = {"model": endpoint.config.model, "query": query, "documents": list(texts), "top_n": len(texts)}
    url = str(endpoint.config.base_url).rstrip("/") + "/rerank"
    try:
        with httpx.Client(transport=SSRFGuardSyncTransport(allow=allowlist()), timeout=30) as client:
            response = client.post(url, json=body, headers=headers)
        response.raise_for_status()
        results = response.json()["results"]
    except (httpx.HTTPError, BlockedURLError, KeyError, ValueError) as exc:
        raise ServiceUnavailable(f"The rerank endpoint {model_ref!r} failed: {type(exc).__name__}.") from None
    scores = [0.0] * len(texts)
    for row in results:
        score = float(row["relevance_score"])
        # some servers return logits; squash those into (0, 1) so thresholds stay meaningful
        scores[int(row["index"])] = score if 0.0 <= score <= 1.0 else 1 / (1 + math.exp(-score))
    return scores
