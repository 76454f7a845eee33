"""Re-encryption of secrets at rest after an encryption-key rotation.

Rotation is two steps: prepend a new key to ``LLMOPS_ENCRYPTION_KEYS`` (new writes use it, old values still
decrypt), then run ``manage.py rotate_secrets``, which rewrites every value of every encrypted field not yet
encrypted with the first key; after that the old keys can be removed. Running it again changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.apps import apps
from django.db import models
from django.db.models.functions import Cast

from llmops.core.fields import EncryptedTextField, encrypted_with_first_key


@dataclass
class FieldRotation:
    """What ``secrets_rotate`` did to one field: values rewritten, already current, and unreadable."""

    label: str
    rotated: int = 0
    current: int = 0
    unreadable: int = 0


def encrypted_fields() -> Iterator[tuple[type[models.Model], EncryptedTextField]]:
    """Every encrypted field of every installed model (concrete, non-proxy)."""
    for model in apps.get_models():
        if model._meta.proxy:
            continue
        for field in model._meta.concrete_fields:
            if isinstance(field, EncryptedTextField):
                yield model, field


def _rotate_field(model: type[models.Model], field: EncryptedTextField, *, dry_run: bool) -> FieldRotation:
    result = FieldRotation(f"{model._meta.label}.{field.name}")
    # Cast to a plain text column: the stored token, not the field's decrypted value.
    rows = (
        model._base_manager.annotate(stored=Cast(field.name, models.TextField()))
        .exclude(stored__isnull=True)
        .exclude(stored="")
        .values_list("pk", "stored")
    )
    for pk, stored in rows.iterator(chunk_size=500):
        if encrypted_with_first_key(stored):
            result.current += 1
            continue
        try:
            plain = field.from_db_value(stored, None, None)
        except ValueError:
            result.unreadable += 1
            continue
        if dry_run:
            result.rotated += 1
            continue
        # Compare-and-set on the stored token: a value written meanwhile (with the first key) is kept, and
        # counted as current, not rotated (a row deleted meanwhile is not counted at all).
        updated = (
            model._base_manager.annotate(stored=Cast(field.name, models.TextField()))
            .filter(pk=pk, stored=stored)
            .update(**{field.name: plain})
        )
        if updated:
            result.rotated += 1
        elif model._base_manager.filter(pk=pk).exists():
            result.current += 1
    return result


def secrets_rotate(*, dry_run: bool = False) -> list[FieldRotation]:
    """Re-encrypt every encrypted value with the first key of ``LLMOPS_ENCRYPTION_KEYS`` (idempotent)."""
    return [_rotate_field(model, field, dry_run=dry_run) for model, field in encrypted_fields()]
