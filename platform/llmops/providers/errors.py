"""Errors of model calls, and the mapping from provider SDK exceptions to them.

::

    ServiceUnavailable (core, 503)
    └── ModelCallError              error_type names the cause; retryable ones are retried, then fall back
        ├── ProviderRateLimited     rate_limited        HTTP 429 (retry_after from Retry-After)
        ├── ProviderTimeout         timeout             no response (or no next chunk) in time
        ├── ProviderUnavailable     unavailable / connection   HTTP 5xx, 408, 409; connection refused/reset
        ├── ProviderRejected        rejected / auth     other HTTP 4xx (bad request, bad key, unknown model)
        ├── MalformedResponse       malformed_response  not the OpenAI/Anthropic protocol (bad JSON, bad SSE)
        └── OutboundBlocked         blocked_url         the SSRF guard refused the endpoint's address
    ValidationError (core, 400)
    └── ContextWindowExceeded       context_window      refused before calling: the prompt cannot fit

Messages never contain credentials (every provider message goes through :func:`redact` first) nor response
bodies: of an error answer only the provider's JSON error message is kept (at most 300 characters).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from llmops.core.errors import ServiceUnavailable, ValidationError
from llmops.core.outbound import BlockedURL

_MESSAGE_CHARS = 300


class ModelCallError(ServiceUnavailable):
    """A model call failed; ``error_type`` is stored on the usage row."""

    error_type = "error"
    retryable = False

    def __init__(
        self, message: str, *, retry_after: float | None = None, status_code: int | None = None
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.status_code = status_code


class ProviderRateLimited(ModelCallError):
    """The provider answered 429."""

    error_type = "rate_limited"
    retryable = True


class ProviderTimeout(ModelCallError):
    """The provider did not answer (or stopped streaming) within the endpoint's timeout."""

    error_type = "timeout"
    retryable = True


class ProviderUnavailable(ModelCallError):
    """A 5xx answer or a broken connection."""

    error_type = "unavailable"
    retryable = True


class ProviderRejected(ModelCallError):
    """The provider refused the request (4xx other than 408/409/429)."""

    error_type = "rejected"


class MalformedResponse(ModelCallError):
    """The provider's answer does not follow the protocol."""

    error_type = "malformed_response"


class OutboundBlocked(ModelCallError):
    """The endpoint's address is private or reserved and not allow-listed."""

    error_type = "blocked_url"


class ContextWindowExceeded(ValidationError):
    """The prompt (plus the requested output) does not fit the model's context window."""

    error_type = "context_window"


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret (of 4+ characters) replaced by ``***``."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def _retry_after(response: Any) -> float | None:
    headers = getattr(response, "headers", None)
    if not headers:
        return None
    value = headers.get("retry-after-ms")
    if value:
        try:
            return max(0.0, float(value) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _causes(exc: BaseException) -> Iterable[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _status_error(status: int, detail: str, response: Any) -> ModelCallError:
    if status == 429:
        return ProviderRateLimited(
            f"rate limited by the provider (HTTP 429): {detail}",
            retry_after=_retry_after(response),
            status_code=status,
        )
    if status >= 500 or status in (408, 409):
        return ProviderUnavailable(
            f"the provider failed (HTTP {status}): {detail}",
            retry_after=_retry_after(response),
            status_code=status,
        )
    if status in (401, 403):
        error = ProviderRejected(
            f"the provider refused the credentials (HTTP {status}): {detail}", status_code=status
        )
        error.error_type = "auth"
        return error
    return ProviderRejected(
        f"the provider rejected the request (HTTP {status}): {detail}", status_code=status
    )


def classify(exc: BaseException, *, secrets: Iterable[str] = ()) -> ModelCallError:
    """Map any exception raised while calling a provider to a :class:`ModelCallError` (message redacted)."""
    secrets = list(secrets)
    if isinstance(exc, ModelCallError):
        return exc
    for cause in _causes(exc):
        if isinstance(cause, BlockedURL):
            return OutboundBlocked(f"outbound address refused: {cause}")
    detail = redact(_detail(exc), secrets)
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        return _status_error(status, detail, getattr(exc, "response", None))
    name = type(exc).__name__
    if isinstance(exc, asyncio.TimeoutError | TimeoutError | httpx.TimeoutException) or _is(
        exc, "APITimeoutError", "ModelTimeoutError"
    ):
        return ProviderTimeout(f"the provider did not answer in time ({name})")
    if isinstance(exc, httpx.TransportError | ConnectionError) or _is(
        exc, "APIConnectionError", "ModelConnectionError"
    ):
        error = ProviderUnavailable(f"cannot reach the provider: {detail}")
        error.error_type = "connection"
        return error
    malformed = json.JSONDecodeError | KeyError | TypeError | ValueError | AttributeError
    if isinstance(exc, malformed) or name in ("APIResponseValidationError", "APIError"):
        return MalformedResponse(f"the provider sent a malformed response ({name}: {detail})")
    return ModelCallError(f"model call failed ({name}: {detail})")


def _is(exc: BaseException, *names: str) -> bool:
    """Whether ``exc`` is an instance of a class named one of ``names``: the OpenAI, Anthropic and LangChain
    SDKs each define their own ``APITimeoutError``, and matching by name needs none of them imported."""
    return any(cls.__name__ in names for cls in type(exc).__mro__)


def _detail(exc: BaseException) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error", body)
        message = (error.get("message") or error.get("detail")) if isinstance(error, dict) else error
        if isinstance(message, str) and message:
            return message[:_MESSAGE_CHARS]
    if isinstance(getattr(exc, "status_code", None), int):
        # Only a provider's JSON error message is passed on: any other body (an HTML page, a JSON document)
        # may be an internal service's answer, and echoing it would make the endpoint a way to read it.
        return "no error message in the answer"
    text = str(exc) or type(exc).__name__
    if _is(exc, "APIConnectionError") and exc.__cause__ is not None:
        text = f"{text} ({type(exc.__cause__).__name__}: {exc.__cause__})"
    return text[:_MESSAGE_CHARS]
