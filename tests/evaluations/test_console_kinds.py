"""The console's evaluator forms (frontend/src/datasets/evaluatorKinds.ts) offer every kind the platform
scores with, and no other."""

from __future__ import annotations

import re
from pathlib import Path

from llmops.evaluations.evaluators import KINDS

FORMS = Path(__file__).resolve().parents[2] / "frontend" / "src" / "datasets" / "evaluatorKinds.ts"


def test_the_console_offers_a_form_for_every_evaluator_kind() -> None:
    offered = re.findall(r'\{ kind: "(\w+)", category: "(\w+)"', FORMS.read_text(encoding="utf-8"))
    assert sorted(kind for kind, _ in offered) == sorted(KINDS)
