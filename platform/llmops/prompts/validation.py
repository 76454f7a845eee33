"""Turning pydantic errors into the platform's field-path errors (``draft.messages.1.role``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import pydantic

from llmops.core.errors import ValidationError

ModelT = TypeVar("ModelT", bound=pydantic.BaseModel)


def error_path(prefix: str, loc: tuple[Any, ...]) -> str:
    """``("messages", 1, "role")`` under ``draft`` -> ``draft.messages.1.role``."""
    parts = [prefix] if prefix else []
    parts.extend(str(part) for part in loc)
    return ".".join(parts) or "non_field_errors"


def pydantic_fields(exc: pydantic.ValidationError, prefix: str) -> dict[str, list[str]]:
    """Every pydantic error of ``exc`` keyed by its dotted path under ``prefix``."""
    fields: dict[str, list[str]] = {}
    for error in exc.errors(include_url=False):
        message = str(error["msg"]).removeprefix("Value error, ")
        fields.setdefault(error_path(prefix, tuple(error["loc"])), []).append(message)
    return fields


def parse_model(model: type[ModelT], data: Any, *, prefix: str, what: str) -> ModelT:
    """Validate ``data`` as ``model`` or raise ``ValidationError`` with field paths under ``prefix``."""
    if not isinstance(data, Mapping):
        raise ValidationError(f"Invalid {what}.", fields={prefix: ["Must be an object."]})
    try:
        return model.model_validate(dict(data))
    except pydantic.ValidationError as exc:
        raise ValidationError(f"Invalid {what}.", fields=pydantic_fields(exc, prefix)) from None
