"""Evaluators: each turns one case (inputs, expected, output, latency, cost, tokens) into a :class:`Score`.

Kinds, each configured by a small dict (checked by :func:`validate_config`, which names the bad field):

- deterministic: equals, contains, contains_any, contains_all, regex, starts_with, json_valid, json_schema,
  levenshtein (normalised similarity with a threshold), numeric (absolute or relative tolerance); each
  takes ``negate`` for its ``not`` form and compares with ``value`` or, when that is left out, ``expected``;
- operational: latency_ms_max, cost_max, tokens_max (ceilings on the target's figures);
- ``embedding_similarity``: cosine of output and expected through a workspace embedding endpoint;
- ``llm_judge``: a rubric prompt through the gateway, answering a score and a reason as structured output;
- ``code``: a Python ``evaluate(inputs, output, expected)`` in the code sandbox;
- ``retrieval``: where a knowledge base ranks the expected passage for the item's question (reciprocal
  rank; a run's mean score is then its MRR and its pass rate its hit@k: the retrieval-quality harness of
  ``llmops.knowledge.retrieval_quality`` as an evaluation).

``REGISTRY`` maps each kind to its check, category and (for pure kinds) synchronous scorer; :func:`evaluate`
scores any kind. An evaluator that fails (a judge that answers no score, a sandbox error) returns a Score
with ``error`` set and ``passed`` False: it never fails the whole evaluation run. :func:`combine` weighs an
item's scores into one.
"""

from __future__ import annotations

from llmops.evaluations.evaluators.base import EvalCase, Score, combine
from llmops.evaluations.evaluators.registry import (
    KINDS,
    REGISTRY,
    EvaluatorKind,
    evaluate,
    metered_gateway,
    validate_config,
)

__all__ = [
    "KINDS",
    "REGISTRY",
    "EvalCase",
    "EvaluatorKind",
    "Score",
    "combine",
    "evaluate",
    "metered_gateway",
    "validate_config",
]
