"""The platform's domain errors; services raise these, one DRF handler maps them to HTTP.

::

    LLMOpsError                      500  internal
    ├── ValidationError              400  invalid        (field errors: {"path.to.field": ["message"]})
    ├── AuthenticationRequired       401  unauthenticated
    ├── PermissionDenied             403  forbidden
    ├── NotFound                     404  not_found
    ├── Conflict                     409  conflict
    ├── PreconditionFailed           412  precondition_failed  (``If-Match`` names an older state)
    ├── PayloadTooLarge              413  too_large
    ├── UnprocessableEntity          422  unprocessable
    ├── RateLimited                  429  rate_limited   (retry_after seconds)
    └── ServiceUnavailable           503  service_unavailable  (retry_after seconds, when known)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class LLMOpsError(Exception):
    """Base of every domain error: a stable ``code``, an HTTP ``status`` and a human message."""

    code = "internal"
    status = 500

    def __init__(
        self,
        message: str,
        *,
        fields: Mapping[str, Sequence[str]] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.fields: dict[str, list[str]] = {key: list(value) for key, value in (fields or {}).items()}
        # More members of the error object (a failed run's ``run_id``), after code, message and fields.
        self.extra: dict[str, Any] = dict(extra or {})


class ValidationError(LLMOpsError):
    """The input is invalid; ``fields`` maps field paths to messages."""

    code = "invalid"
    status = 400


class AuthenticationRequired(LLMOpsError):
    """No valid credentials were presented."""

    code = "unauthenticated"
    status = 401


class PermissionDenied(LLMOpsError):
    """The caller is known but not allowed to do this."""

    code = "forbidden"
    status = 403


class NotFound(LLMOpsError):
    """The object does not exist or is not visible to the caller."""

    code = "not_found"
    status = 404


class Conflict(LLMOpsError):
    """The request conflicts with the current state (duplicate, paused, already finished...)."""

    code = "conflict"
    status = 409


class PreconditionFailed(LLMOpsError):
    """The client's ``If-Match`` names a state the resource is no longer in (someone else saved since)."""

    code = "precondition_failed"
    status = 412


class PayloadTooLarge(LLMOpsError):
    """The request body or upload exceeds a limit."""

    code = "too_large"
    status = 413


class UnprocessableEntity(LLMOpsError):
    """Well-formed but semantically refused (e.g. an idempotency key replayed with another body)."""

    code = "unprocessable"
    status = 422


class RateLimited(LLMOpsError):
    """Too many requests; retry after ``retry_after`` seconds."""

    code = "rate_limited"
    status = 429

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ServiceUnavailable(LLMOpsError):
    """A dependency (database, broker, model provider) is unavailable; retry after ``retry_after`` seconds
    when it is known (answered as ``Retry-After``)."""

    code = "service_unavailable"
    status = 503

    def __init__(
        self,
        message: str,
        *,
        fields: Mapping[str, Sequence[str]] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, fields=fields)
        self.retry_after = retry_after
