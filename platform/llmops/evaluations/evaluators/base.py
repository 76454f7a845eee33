"""The evaluators' shared types: the case under evaluation, the score, a config problem, and weighted
combination."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


class ConfigProblem(Exception):
    """A config field is wrong: ``field`` (relative to the config) and a message; ``validate_config`` turns
    it into a ``ValidationError`` naming ``config.<field>``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def endpoint_of(config: dict[str, Any]) -> str:
    """The config's ``model``: the slug of a model endpoint of the workspace."""
    model = config.get("model")
    if not isinstance(model, str) or not model.strip():
        raise ConfigProblem("model", "A model endpoint of the workspace is required (its slug).")
    return model.strip()


def threshold_of(config: dict[str, Any], default: float) -> float:
    """The config's ``threshold`` in [0, 1] (``default`` when left out)."""
    value = config.get("threshold", default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ConfigProblem("threshold", "A number between 0 and 1.")
    return float(value)


@dataclass(frozen=True, slots=True)
class EvalCase:
    """What an evaluator sees of one item: the target's inputs and output, the expected output, and the
    operational figures of the target's run (``None`` where the target reported none)."""

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

    @property
    def total_tokens(self) -> int:
        """Prompt and completion tokens together."""
        return self.prompt_tokens + self.completion_tokens


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
    """One evaluator's verdict on one case: ``score`` in [0, 1], ``passed`` at its threshold, a reason; an
    evaluator that could not score the case sets ``error`` (and never passes)."""

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


def combine(scores: Sequence[tuple[Score, float]], threshold: float | None = None) -> Score:
    """The weighted mean of ``scores`` (weight 0 leaves a score out).

    With a ``threshold`` the result passes when the mean reaches it; without one, when every weighted
    evaluator passed (promptfoo's rule). An evaluator that errored always fails the result: an item that
    could not be judged is not a pass.
    """
    weighted = [(s, w) for s, w in scores if w > 0 and math.isfinite(w)]
    total = sum(w for _, w in weighted)
    if not weighted or total <= 0:
        return Score.failed("no evaluator with a positive weight")
    mean = sum(s.score * w for s, w in weighted) / total
    errors = [s.error for s, _ in weighted if s.error]
    reached = all(s.passed for s, _ in weighted) if threshold is None else mean >= threshold
    reason = "; ".join(errors) if errors else f"weighted mean {mean:.3f}"
    return Score(score=mean, passed=reached and not errors, reason=reason)
