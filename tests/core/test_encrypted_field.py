"""Secrets are encrypted at rest and readable only through the model."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.db import connection
from django.test import override_settings

from llmops.accounts.models import Workspace
from llmops.core.fields import decrypt_text, encrypt_text
from tests.testapp.models import Note


def test_secret_is_stored_encrypted_and_read_back_plain(workspace: Workspace) -> None:
    note = Note.objects.create(workspace=workspace, name="n", slug="n", secret="sk-live-1234")
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM testapp_note WHERE id = %s", [note.pk])
        (raw,) = cursor.fetchone()
    assert "sk-live-1234" not in raw
    assert raw.startswith("fernet:")
    assert Note.objects.get(pk=note.pk).secret == "sk-live-1234"


def test_rotated_keys_still_decrypt_old_values(settings: object) -> None:
    old = Fernet.generate_key().decode()
    with override_settings(LLMOPS_ENCRYPTION_KEYS=[old]):
        stored = encrypt_text("token")
    with override_settings(LLMOPS_ENCRYPTION_KEYS=[Fernet.generate_key().decode(), old]):
        assert decrypt_text(stored) == "token"


def test_a_value_no_key_can_decrypt_gives_a_clear_error() -> None:
    with override_settings(LLMOPS_ENCRYPTION_KEYS=[Fernet.generate_key().decode()]):
        stored = encrypt_text("token")
    with pytest.raises(ValueError, match="no configured encryption key"):
        decrypt_text(stored)
