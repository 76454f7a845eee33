"""The evaluators' shared types: the case under evaluation, the score, and weighted combination."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


@dataclass(frozen=True, slots=True)
class EvalCase:
    """What an evaluator sees of one item: the target's inputs and output, the expected output, and the
    operational figures of the target's run."""

    inputs: dict[str, Any]
    output: Any
    expected: Any = None
    latency_ms: float | None = None
    cost: Decimal | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def output_text(self) -> str:
        """The output as text: a string as is, a one-field object's value, else compact JSON."""
        return as_text(self.output)

    @property
    def expected_text(self) -> str:
        """``expected`` as text (see :attr:`output_text`)."""
        return as_text(self.expected)


def as_text(value: Any) -> str:
    """A value as an evaluator compares it: strings as they are, ``{"answer": x}`` as ``x``, else JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        return as_text(next(iter(value.values())))
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


@dataclass(frozen=True, slots=True)
class Score:
    """One evaluator's verdict on one case: ``score`` in [0, 1], ``passed`` at its threshold, a reason."""

    score: float
    passed: bool
    reason: str = ""
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def failed(cls, error: str) -> Score:
        """An evaluator that could not score the case (it says why; the run goes on)."""
        return cls(score=0.0, passed=False, reason=error, error=error)

    @classmethod
    def of(cls, score: float, threshold: float, reason: str, **details: Any) -> Score:
        """A score clamped to [0, 1], passing at ``threshold``."""
        value = min(1.0, max(0.0, float(score)))
        return cls(score=value, passed=value >= threshold, reason=reason, details=details)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: score, passed, reason, error (and details when any)."""
        data: dict[str, Any] = {"score": round(self.score, 6), "passed": self.passed, "reason": self.reason}
        data["error"] = self.error
        if self.details:
            data["details"] = self.details
        return data


def combine(scores: Sequence[tuple[Score, float]], threshold: float) -> Score:
    """The weighted mean of ``scores`` (weight 0 excluded); it passes when the mean reaches ``threshold``
    and no evaluator with weight failed outright by error."""
    weighted = [(s, w) for s, w in scores if w > 0]
    total = sum(w for _, w in weighted)
    if not weighted or total <= 0:
        return Score.failed("no evaluator with a positive weight")
    mean = sum(s.score * w for s, w in weighted) / total
    errors = [s.error for s, _ in weighted if s.error]
    reason = "; ".join(errors) if errors else f"weighted mean {mean:.3f}"
    return Score(score=mean, passed=mean >= threshold and not errors, reason=reason)
