"""One exception handler: domain errors and DRF errors become one JSON shape.

``{"error": {"code": "invalid", "message": "...", "fields": {"name": ["This field is required."]}}}``

Redis (broker, channel layer, cache, limits) being unreachable is a 503 ``service_unavailable`` with
``Retry-After`` wherever it surfaces, never a 500: the dependency is down, not the request wrong.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from llmops.core.errors import LLMOpsError, PayloadTooLarge, RateLimited, ServiceUnavailable

logger = logging.getLogger(__name__)
# How long a client is asked to wait when Redis is unreachable (a restart or failover takes seconds).
REDIS_RETRY_AFTER_SECONDS = 5

_DRF_CODES = {
    drf.ValidationError: "invalid",
    drf.ParseError: "invalid",
    drf.NotAuthenticated: "unauthenticated",
    drf.AuthenticationFailed: "unauthenticated",
    drf.PermissionDenied: "forbidden",
    drf.NotFound: "not_found",
    drf.MethodNotAllowed: "method_not_allowed",
    drf.UnsupportedMediaType: "unsupported_media_type",
    drf.Throttled: "rate_limited",
}


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """The platform's one error shape."""
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return {"error": body}


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn DRF's nested error detail into ``{"a.b.0.c": [messages]}``."""
    if isinstance(detail, dict):
        out: dict[str, list[str]] = {}
        for key, value in detail.items():
            out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(detail, list) and detail and all(isinstance(item, str) for item in detail):
        return {prefix or "non_field_errors": [str(item) for item in detail]}
    if isinstance(detail, list):
        out = {}
        for index, value in enumerate(detail):
            if value:
                out.update(_flatten(value, f"{prefix}.{index}" if prefix else str(index)))
        return out
    return {prefix or "non_field_errors": [str(detail)]}


def _domain_response(exc: LLMOpsError) -> Response:
    body = error_body(exc.code, exc.message, exc.fields)
    body["error"].update({k: v for k, v in exc.extra.items() if k not in body["error"]})
    response = Response(body, status=exc.status)
    retry_after = exc.retry_after if isinstance(exc, RateLimited | ServiceUnavailable) else None
    if retry_after is not None:
        response["Retry-After"] = str(max(1, math.ceil(retry_after)))
    return response


def _upload_limit() -> int:
    return int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0)


def redis_unavailable(exc: Exception) -> ServiceUnavailable:
    """The 503 for an unreachable Redis (the cause is logged, not shown: it may name hosts)."""
    logger.warning("Redis is unavailable: %s", exc)
    return ServiceUnavailable(
        "A backing service (Redis) is temporarily unavailable; retry shortly.",
        retry_after=REDIS_RETRY_AFTER_SECONDS,
    )


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Map domain and DRF exceptions to the one error shape; anything else stays a 500."""
    if isinstance(exc, LLMOpsError):
        return _domain_response(exc)
    if isinstance(exc, RedisConnectionError | RedisTimeoutError | BrokerError):
        return _domain_response(redis_unavailable(exc))
    if isinstance(exc, RequestDataTooBig):  # Django's DATA_UPLOAD_MAX_MEMORY_SIZE (a 400 page otherwise)
        return _domain_response(PayloadTooLarge(f"The request body is larger than {_upload_limit()} bytes."))
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, drf.APIException):
        return response
    code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), "error")
    if isinstance(exc, drf.ValidationError):
        fields = _flatten(exc.detail)
        message = "; ".join(f"{k}: {v[0]}" for k, v in list(fields.items())[:3])
        response.data = error_body(code, f"Invalid input ({message})", fields)
    else:
        response.data = error_body(code, str(exc.detail))
    return response
