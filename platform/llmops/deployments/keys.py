"""API key tokens: ``llm-<prefix>-<secret>``; stored as the prefix plus an HMAC-SHA256 digest.

The digest is keyed with a pepper derived from ``SECRET_KEY``, so a leaked table alone cannot be brute-forced
offline; the prefix (8 random characters, unique) finds the row and the digest is compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from functools import cache

from django.conf import settings

TOKEN_PATTERN = re.compile(r"^llm-([A-Za-z0-9]{8})-([A-Za-z0-9_-]{20,100})$")
_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


@cache
def _pepper(secret_key: str) -> bytes:
    return hashlib.sha256(b"llmops.deployments.api-key:" + secret_key.encode()).digest()


def token_digest(token: str) -> str:
    """The stored form of a token."""
    return hmac.new(_pepper(settings.SECRET_KEY), token.encode(), hashlib.sha256).hexdigest()


def token_new() -> tuple[str, str]:
    """A fresh ``(token, prefix)``."""
    prefix = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return f"llm-{prefix}-{secrets.token_urlsafe(30)}", prefix


def token_prefix(token: str) -> str | None:
    """The prefix of a well-formed token, else None."""
    match = TOKEN_PATTERN.match(token)
    return match.group(1) if match else None


def token_matches(token: str, digest: str) -> bool:
    """Constant-time comparison of a presented token with a stored digest."""
    return hmac.compare_digest(token_digest(token), digest)
