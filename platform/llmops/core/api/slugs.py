"""Slugs are permanent: they name a resource in URLs, references (``prompt:slug@3``) and deployments."""

from __future__ import annotations

from typing import Any

from llmops.core.errors import ValidationError


def slug_unchanged_check(changes: dict[str, Any], *, current: str) -> dict[str, Any]:
    """``changes`` (validated update data) without ``slug``; a 400 on ``slug`` when it asks for another one.

    Sending the current slug back is allowed (a full PUT repeats every field), so it is only dropped."""
    changes = dict(changes)
    if changes.pop("slug", current) != current:
        raise ValidationError("The slug cannot change.", fields={"slug": ["Slugs are permanent."]})
    return changes
