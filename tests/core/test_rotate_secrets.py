"""``manage.py rotate_secrets``: after a new key is prepended, every secret is re-encrypted with it."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection

from llmops.accounts.models import Workspace
from llmops.providers.models import ModelEndpoint
from tests.providers.factories import ModelEndpointFactory
from tests.testapp.models import Note

pytestmark = pytest.mark.django_db


def _stored(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])
        return str(cursor.fetchone()[0])


def _rotate(*args: str) -> str:
    out = StringIO()
    call_command("rotate_secrets", *args, stdout=out)
    return out.getvalue()


def test_rotation_re_encrypts_every_secret_with_the_new_key_and_the_old_key_can_then_go(
    workspace: Workspace, settings: Any
) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.LLMOPS_ENCRYPTION_KEYS = [old]
    note = Note.objects.create(workspace=workspace, name="n", slug="n", secret="sk-live-1234")
    endpoint = ModelEndpointFactory.create(workspace=workspace, credentials={"api_key": "k1"})
    # given a new key prepended
    settings.LLMOPS_ENCRYPTION_KEYS = [new, old]
    # when the command runs
    output = _rotate()
    # then every value is readable with the new key alone
    assert "testapp.Note.secret: 1 re-encrypted, 0 already current" in output
    assert "providers.ModelEndpoint.credentials: 1 re-encrypted" in output
    settings.LLMOPS_ENCRYPTION_KEYS = [new]
    assert Note.objects.get(pk=note.pk).secret == "sk-live-1234"
    assert ModelEndpoint.objects.get(pk=endpoint.pk).credentials == {"api_key": "k1"}
    # and a second run changes nothing
    before = _stored("testapp_note", "secret", note.pk)
    assert "testapp.Note.secret: 0 re-encrypted, 1 already current" in _rotate()
    assert _stored("testapp_note", "secret", note.pk) == before


def test_a_dry_run_writes_nothing(workspace: Workspace, settings: Any) -> None:
    old = Fernet.generate_key().decode()
    settings.LLMOPS_ENCRYPTION_KEYS = [old]
    note = Note.objects.create(workspace=workspace, name="n", slug="n", secret="s")
    before = _stored("testapp_note", "secret", note.pk)
    settings.LLMOPS_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), old]
    assert "testapp.Note.secret: 1 to re-encrypt" in _rotate("--dry-run")
    assert _stored("testapp_note", "secret", note.pk) == before


def test_a_value_no_key_can_decrypt_is_reported_and_left_alone(workspace: Workspace, settings: Any) -> None:
    settings.LLMOPS_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    note = Note.objects.create(workspace=workspace, name="n", slug="n", secret="s")
    before = _stored("testapp_note", "secret", note.pk)
    settings.LLMOPS_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(CommandError, match="1 value"):
        _rotate()
    assert _stored("testapp_note", "secret", note.pk) == before


def test_a_value_written_while_the_rotation_runs_is_kept_and_not_counted_as_rotated(
    workspace: Workspace, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.LLMOPS_ENCRYPTION_KEYS = [old]
    note = Note.objects.create(workspace=workspace, name="n", slug="n", secret="sk-old")
    settings.LLMOPS_ENCRYPTION_KEYS = [new, old]
    field = Note._meta.get_field("secret")
    read = field.from_db_value

    def read_then_someone_writes(*args: Any) -> Any:
        # the console saves a new secret (with the first key) between the rotation's read and its write
        Note.objects.filter(pk=note.pk).update(secret="sk-new")
        return read(*args)

    monkeypatch.setattr(field, "from_db_value", read_then_someone_writes)
    output = _rotate()
    monkeypatch.undo()
    assert "testapp.Note.secret: 0 re-encrypted, 1 already current" in output
    settings.LLMOPS_ENCRYPTION_KEYS = [new]
    assert Note.objects.get(pk=note.pk).secret == "sk-new"
