"""Moderation of prompt and chain calls: keyword rules and an OpenAI-protocol moderation endpoint.

A ``moderation`` block in a prompt's or chain's content has an ``input`` and an ``output`` stage::

    {"input": {"keywords": ["password"], "match": "word", "endpoint": "omni-mod"},
     "output": {"keywords": ["secret"], "match": "substring"}}

A blocked call is not an error: runs and the playground answer HTTP 200 with a :class:`ModerationVerdict`
(``{"blocked": true, "stage": "input", "rule": "keyword:password", "message": "..."}``); streams send it as
a ``blocked`` event. Rules are named ``keyword:<word>`` or ``endpoint:<endpoint ref>:<category>``.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Stage = Literal["input", "output"]

# Calls an endpoint reference with a text; returns the flagged category names (empty when clean).
EndpointModerator = Callable[[str, str], Awaitable[list[str]]]


class ModerationStage(BaseModel):
    """Rules applied to one side of a call."""

    model_config = ConfigDict(extra="forbid")

    keywords: list[str] = Field(default_factory=list, max_length=500)
    match: Literal["word", "substring"] = "word"
    endpoint: str | None = Field(default=None, min_length=1, max_length=200)
    message: str = Field(default="", max_length=1000)

    @field_validator("keywords")
    @classmethod
    def _keywords_not_blank(cls, value: list[str]) -> list[str]:
        cleaned = [keyword.strip() for keyword in value]
        if any(not keyword for keyword in cleaned):
            raise ValueError("Keywords cannot be blank.")
        return cleaned


class ModerationConfig(BaseModel):
    """The ``moderation`` block of prompt and chain content."""

    model_config = ConfigDict(extra="forbid")

    input: ModerationStage | None = None
    output: ModerationStage | None = None


@dataclass(frozen=True, slots=True)
class ModerationVerdict:
    """Why a call was blocked."""

    stage: Stage
    rule: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape every API returns for a blocked call."""
        return {"blocked": True, "stage": self.stage, "rule": self.rule, "message": self.message}


def _keyword_hit(text: str, keywords: Iterable[str], match: str) -> str | None:
    lowered = text.casefold()
    for keyword in keywords:
        needle = keyword.casefold()
        if match == "substring" and needle in lowered:
            return keyword
        if match == "word" and re.search(rf"(?<!\w){re.escape(needle)}(?!\w)", lowered):
            return keyword
    return None


def _blocked_message(stage: Stage, config: ModerationStage, rule: str) -> str:
    if config.message:
        return config.message
    side = "The input" if stage == "input" else "The answer"
    return f"{side} was blocked by moderation rule {rule!r}."


def keyword_verdict(stage: Stage, config: ModerationStage | None, text: str) -> ModerationVerdict | None:
    """The keyword rules' verdict on ``text`` (``None`` when nothing matches)."""
    if config is None:
        return None
    keyword = _keyword_hit(text, config.keywords, config.match)
    if keyword is None:
        return None
    rule = f"keyword:{keyword}"
    return ModerationVerdict(stage, rule, _blocked_message(stage, config, rule))


async def moderate(
    stage: Stage, config: ModerationStage | None, text: str, endpoint: EndpointModerator | None
) -> ModerationVerdict | None:
    """Keyword rules first (free), then the moderation endpoint when one is configured."""
    verdict = keyword_verdict(stage, config, text)
    if verdict is not None or config is None or not config.endpoint or endpoint is None:
        return verdict
    categories = await endpoint(config.endpoint, text)
    if not categories:
        return None
    rule = f"endpoint:{config.endpoint}:{categories[0]}"
    return ModerationVerdict(stage, rule, _blocked_message(stage, config, rule))


def moderation_text(values: Any) -> str:
    """The text a stage inspects: every string inside ``values`` (inputs may be nested JSON)."""
    if isinstance(values, str):
        return values
    if isinstance(values, dict):
        return "\n".join(moderation_text(value) for value in values.values())
    if isinstance(values, list | tuple):
        return "\n".join(moderation_text(value) for value in values)
    return "" if values is None else str(values)
