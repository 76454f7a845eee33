"""API key tokens: ``llm-<prefix>-<secret>``; stored as the prefix plus an HMAC-SHA256 digest.

The digest is keyed with a pepper derived from ``LLMOPS_API_KEY_PEPPER`` (``SECRET_KEY`` when that is unset),
so a leaked table alone cannot be brute-forced offline; the prefix (8 random characters, unique) finds the
row and the digest is compared in constant time. A digest made with the ``SECRET_KEY`` pepper before a
dedicated one was configured still verifies (:func:`token_verify` says so, and the caller re-digests it).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from enum import Enum
from functools import cache

from django.conf import settings

TOKEN_PATTERN = re.compile(r"^llm-([A-Za-z0-9]{8})-([A-Za-z0-9_-]{20,100})$")
_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


@cache
def _pepper(secret_key: str) -> bytes:
    return hashlib.sha256(b"llmops.deployments.api-key:" + secret_key.encode()).digest()


def _digest(token: str, secret: str) -> str:
    return hmac.new(_pepper(secret), token.encode(), hashlib.sha256).hexdigest()


def token_digest(token: str) -> str:
    """The stored form of a token."""
    return _digest(token, settings.LLMOPS_API_KEY_PEPPER or settings.SECRET_KEY)


class Verified(Enum):
    """How a presented token matched a stored digest."""

    NO = "no"
    CURRENT = "current"
    LEGACY = "legacy"  # made with the SECRET_KEY pepper; store ``token_digest(token)`` instead


def token_new() -> tuple[str, str]:
    """A fresh ``(token, prefix)``."""
    prefix = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return f"llm-{prefix}-{secrets.token_urlsafe(30)}", prefix


def token_prefix(token: str) -> str | None:
    """The prefix of a well-formed token, else None."""
    match = TOKEN_PATTERN.match(token)
    return match.group(1) if match else None


def token_verify(token: str, digest: str) -> Verified:
    """Constant-time comparison of a presented token with a stored digest, under the current pepper and, when
    a dedicated pepper is configured, under the ``SECRET_KEY`` pepper that preceded it."""
    if hmac.compare_digest(token_digest(token), digest):
        return Verified.CURRENT
    pepper = settings.LLMOPS_API_KEY_PEPPER
    if (
        pepper
        and pepper != settings.SECRET_KEY
        and hmac.compare_digest(_digest(token, settings.SECRET_KEY), digest)
    ):
        return Verified.LEGACY
    return Verified.NO


def token_matches(token: str, digest: str) -> bool:
    """Whether a presented token matches a stored digest (under either pepper, see :func:`token_verify`)."""
    return token_verify(token, digest) is not Verified.NO
