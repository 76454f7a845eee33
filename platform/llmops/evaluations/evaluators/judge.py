"""The LLM judge: a rubric prompt, rendered with the item's input, expected and actual output, sent through
the metered gateway (usage source ``evaluation``), answering a score and a reason as structured output.

Config: ``model`` (a chat endpoint of the workspace), ``rubric`` (what makes an answer right), ``scale``
(``1-5``, the default, a grade scaled to [0, 1] as ``(grade - 1) / 4``; or ``0-1``, a score as is),
``threshold`` (default 0.6: grade 4 of 5 passes), and an optional ``prompt``: a Jinja template of the whole
judge prompt over ``input``, ``inputs``, ``expected``, ``output``, ``rubric`` and ``scale`` (the default below is
the wording the bundled 1.5B model grades reliably with).

The answer is read leniently (JSON, JSON in a code fence or in prose, a truncated JSON object, ``Score: 4``,
``4/5``), but never guessed: a judge that answers no score on its scale gives a failed Score saying what it
answered, and the run goes on.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from jinja2.environment import Template

from llmops.evaluations.evaluators.base import (
    ConfigProblem,
    EvalCase,
    Score,
    as_text,
    endpoint_of,
    threshold_of,
)
from llmops.prompts.templating import (
    TemplateRenderError,
    compile_template,
    render_template,
    template_check,
)
from workflows import CallContext, ChatMessage, ChatRequest, ModelGateway

MAX_RUBRIC_CHARS = 8_000
MAX_PROMPT_CHARS = 16_000
MAX_FIELD_CHARS = 12_000  # of each of input, reference and answer shown to the judge
MAX_REASON_CHARS = 200
JUDGE_MAX_TOKENS = 256  # a reason of 200 characters is up to 200 tokens in Chinese; JSON around it
SCALES = ("1-5", "0-1")
PROMPT_VARIABLES = frozenset({"input", "inputs", "expected", "output", "rubric", "scale"})
DEFAULT_PROMPT = (
    "You grade answers.\nQuestion: {{ input }}\nReference answer: {{ expected }}\n"
    "Candidate answer: {{ output }}\nRubric: {{ rubric }}\n"
    "{% if scale == '0-1' %}Score the candidate from 0 (wrong) to 1 (fully correct"
    "{% else %}Score the candidate from 1 (wrong) to 5 (fully correct{% endif %}"
    ", same meaning as the reference; wording and language do not matter), and give a short reason."
)
_SCORE_TYPES = {
    "1-5": {"type": "integer", "minimum": 1, "maximum": 5},
    "0-1": {"type": "number", "minimum": 0, "maximum": 1},
}


def response_format(scale: str) -> dict[str, Any]:
    """The structured output asked of the judge: ``{"score": <on the scale>, "reason": "..."}``."""
    schema = {
        "type": "object",
        "properties": {
            "score": _SCORE_TYPES[scale],
            "reason": {"type": "string", "maxLength": MAX_REASON_CHARS},
        },
        "required": ["score", "reason"],
    }
    return {"type": "json_schema", "json_schema": {"name": "grade", "schema": schema}}


# --- config -----------------------------------------------------------------------------------------------


def _text(config: dict[str, Any], name: str, limit: int, missing: str | None) -> str | None:
    value = config.get(name)
    if value is None and missing is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigProblem(name, missing or "Must be a non-empty string.")
    if len(value) > limit:
        raise ConfigProblem(name, f"At most {limit} characters.")
    return value


def _prompt(config: dict[str, Any]) -> str | None:
    prompt = _text(config, "prompt", MAX_PROMPT_CHARS, None)
    if prompt is None:
        return None
    check = template_check(prompt)
    if check.problems:
        raise ConfigProblem("prompt", check.problems[0])
    unknown = sorted(check.variables - PROMPT_VARIABLES)
    if unknown:
        raise ConfigProblem(
            "prompt", f"Unknown variable {unknown[0]!r}: use {', '.join(sorted(PROMPT_VARIABLES))}."
        )
    if "output" not in check.variables:
        raise ConfigProblem("prompt", "The prompt must show the judge the answer: {{ output }}.")
    return prompt


def check_llm_judge(config: dict[str, Any]) -> dict[str, Any]:
    """A judge config, normalised (see the module's docstring)."""
    rubric = _text(config, "rubric", MAX_RUBRIC_CHARS, "A rubric is required: what makes an answer right.")
    scale = config.get("scale", "1-5")
    if scale not in SCALES:
        raise ConfigProblem("scale", f"One of {', '.join(SCALES)}.")
    return {
        "model": endpoint_of(config),
        "rubric": rubric,
        "scale": scale,
        "threshold": threshold_of(config, 0.6),
        "prompt": _prompt(config),
    }


# --- the answer -------------------------------------------------------------------------------------------

_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL | re.IGNORECASE)
_OBJECT = re.compile(r"\{.*\}", re.DOTALL)
_NUMBER = r"(-?\d+(?:\.\d+)?)"
# A score named as such (also inside a JSON object cut short by max_tokens), a grade "4/5" or "4 out of 5",
# or an answer that is only a number.
_NAMED = re.compile(rf"\b(?:score|grade|rating)\b[\"']?\s*[:=]?\s*[\"']?{_NUMBER}", re.IGNORECASE)
_OUT_OF = re.compile(rf"{_NUMBER}\s*(?:/|out of)\s*5\b", re.IGNORECASE)
_ALONE = re.compile(rf"^\W*{_NUMBER}\W*$")


def _json_object(text: str) -> dict[str, Any] | None:
    candidates = [text, *(m.group(1) for m in _FENCE.finditer(text))]
    candidates += [m.group(0) for m in _OBJECT.finditer(text)]
    for candidate in candidates:
        try:
            data = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(data, dict):
            return data
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        match = re.fullmatch(rf"\s*{_NUMBER}\s*(?:/\s*5\s*)?", value)
        return float(match.group(1)) if match else None
    return None


def parse_judgement(text: str, scale: str) -> tuple[float, str] | None:
    """(the judge's score on its ``scale``, its reason) from its answer, or None when it gave no score."""
    data = _json_object(text)
    if data is not None:  # an object without a usable score is no score, whatever digits its reason holds
        raw = _number(next((data[k] for k in ("score", "grade", "rating") if k in data), None))
        reason = str(data.get("reason") or data.get("explanation") or "")
    else:
        match = _NAMED.search(text) or (_OUT_OF.search(text) if scale == "1-5" else None)
        match = match or _ALONE.match(text)
        raw = float(match.group(1)) if match else None
        reason = text.strip()
    low, high = (1.0, 5.0) if scale == "1-5" else (0.0, 1.0)
    if raw is None or not low <= raw <= high:
        return None
    return raw, reason[:400]


# --- scoring ----------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=128)
def _template(source: str) -> Template:
    return compile_template(source)


def judge_prompt(config: dict[str, Any], case: EvalCase) -> str:
    """The judge prompt for ``case`` (the configured template, or the default one)."""
    variables = {
        "input": as_text(case.inputs)[:MAX_FIELD_CHARS],
        "inputs": case.inputs,
        "expected": (case.expected_text or "(none)")[:MAX_FIELD_CHARS],
        "output": case.output_text[:MAX_FIELD_CHARS],
        "rubric": config["rubric"],
        "scale": config.get("scale", "1-5"),
    }
    return render_template(_template(config.get("prompt") or DEFAULT_PROMPT), variables)


async def score_llm_judge(
    config: dict[str, Any], case: EvalCase, gateway: ModelGateway, context: CallContext
) -> Score:
    """Ask the judge; its score on the configured scale becomes a score in [0, 1]."""
    scale = config.get("scale", "1-5")
    try:
        prompt = judge_prompt(config, case)
    except TemplateRenderError as exc:
        return Score.failed(f"the judge prompt did not render: {exc}"[:400])
    request = ChatRequest(
        model=config["model"],
        messages=(ChatMessage(role="user", content=prompt),),
        context=context,
        parameters={"temperature": 0, "max_tokens": JUDGE_MAX_TOKENS},
        response_format=response_format(scale),
    )
    result = await gateway.chat(request)
    judged = parse_judgement(result.text, scale)
    if judged is None:
        return Score.failed(f"judge returned no parsable score: {result.text.strip()[:200]!r}")
    raw, reason = judged
    value = (raw - 1) / 4 if scale == "1-5" else raw
    shown = f"{raw:g}/5" if scale == "1-5" else f"{raw:g}"
    grade: float | int = int(raw) if raw.is_integer() else raw
    return Score.of(value, config["threshold"], reason or f"judged {shown}", grade=grade, scale=scale)
