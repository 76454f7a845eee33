"""Model fields that keep secrets encrypted at rest (Fernet, keys from ``LLMOPS_ENCRYPTION_KEYS``)."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models

_PREFIX = "fernet:"


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def encrypt_text(plain: str) -> str:
    """Encrypt with the first configured key."""
    token = _fernet(tuple(settings.LLMOPS_ENCRYPTION_KEYS)).encrypt(plain.encode())
    return _PREFIX + token.decode()


def decrypt_text(stored: str) -> str:
    """Decrypt with any configured key; raises ``ValueError`` when no key fits."""
    if not stored.startswith(_PREFIX):
        raise ValueError("value is not encrypted by this platform")
    try:
        return (
            _fernet(tuple(settings.LLMOPS_ENCRYPTION_KEYS)).decrypt(stored[len(_PREFIX) :].encode()).decode()
        )
    except InvalidToken:
        raise ValueError("no configured encryption key can decrypt this value (was a key removed?)") from None


def encrypted_with_first_key(stored: str) -> bool:
    """Whether ``stored`` is already encrypted with the first configured key (nothing to rotate)."""
    if not stored.startswith(_PREFIX):
        return False
    try:
        Fernet(settings.LLMOPS_ENCRYPTION_KEYS[0]).decrypt(stored[len(_PREFIX) :].encode())
    except InvalidToken:
        return False
    return True


class EncryptedTextField(models.TextField[Any, Any]):
    """A text column stored as a Fernet token; Python sees the plain string.

    Not searchable or orderable by content, on purpose. Never render it back to API clients.
    """

    def get_prep_value(self, value: Any) -> Any:
        if value is None or value == "":
            return value
        return encrypt_text(str(value))

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None or value == "":
            return value
        return decrypt_text(value)


class EncryptedJSONField(EncryptedTextField):
    """A JSON value (e.g. a credentials dict) stored encrypted as a whole."""

    def get_prep_value(self, value: Any) -> Any:
        if value is None:
            return None
        return super().get_prep_value(json.dumps(value, sort_keys=True))

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        plain = super().from_db_value(value, expression, connection)
        return json.loads(plain) if plain else None

    def to_python(self, value: Any) -> Any:
        return value
