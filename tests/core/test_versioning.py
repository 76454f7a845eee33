"""The versioned-resource base: drafts, immutable numbered versions, labels, resolve, restore."""

from __future__ import annotations

from typing import Any

import pytest

from llmops.accounts.models import User, Workspace
from llmops.core import versioning
from llmops.core.errors import Conflict, NotFound, ValidationError
from llmops.core.models import content_hash
from tests.testapp.models import Note, NoteVersion


@pytest.fixture
def note(workspace: Workspace, owner: User) -> Note:
    return Note.objects.create(
        workspace=workspace, name="Greeting", slug="greeting", draft={"text": "hi"}, created_by=owner
    )


def test_publish_freezes_the_draft_as_numbered_versions(note: Note, owner: User) -> None:
    first = versioning.version_publish(resource=note, user=owner, message="first")
    note.draft = {"text": "hello"}
    note.save()
    second = versioning.version_publish(resource=note, user=owner, message="second")
    assert (first.number, second.number) == (1, 2)
    assert first.content == {"text": "hi"} and second.content == {"text": "hello"}
    assert second.author == owner and second.message == "second"
    assert second.content_hash == content_hash({"text": "hello"})
    note.refresh_from_db()
    assert note.latest_version_number == 2


def test_publishing_an_unchanged_draft_is_refused(note: Note, owner: User) -> None:
    versioning.version_publish(resource=note, user=owner)
    with pytest.raises(Conflict, match="identical to v1"):
        versioning.version_publish(resource=note, user=owner)
    assert note.versions.count() == 1


def test_content_hash_ignores_key_order() -> None:
    assert content_hash({"a": 1, "b": [1, 2]}) == content_hash({"b": [1, 2], "a": 1})
    assert content_hash({"a": 1}) != content_hash({"a": 2})


def test_a_version_cannot_be_modified(note: Note, owner: User) -> None:
    version = versioning.version_publish(resource=note, user=owner)
    version.content = {"text": "tampered"}
    with pytest.raises(ValueError, match="immutable"):
        version.save()
    assert NoteVersion.objects.get(pk=version.pk).content == {"text": "hi"}


def test_editing_the_draft_leaves_published_versions_unchanged(note: Note, owner: User) -> None:
    version = versioning.version_publish(resource=note, user=owner)
    note.draft = {"text": "changed"}
    note.save()
    version.refresh_from_db()
    assert version.content == {"text": "hi"}


@pytest.mark.parametrize("ref", [1, "1", "v1", "production"])
def test_references_resolve_to_the_version(ref: Any, note: Note, owner: User) -> None:
    versioning.version_publish(resource=note, user=owner)
    versioning.label_set(resource=note, name="production", number=1, user=owner)
    assert versioning.version_resolve(resource=note, ref=ref).number == 1


def test_latest_resolves_to_the_newest_version(note: Note, owner: User) -> None:
    versioning.version_publish(resource=note, user=owner)
    note.draft = {"text": "v2"}
    note.save()
    versioning.version_publish(resource=note, user=owner)
    assert versioning.version_resolve(resource=note, ref="latest").number == 2


def test_moving_a_label_repoints_it(note: Note, owner: User) -> None:
    versioning.version_publish(resource=note, user=owner)
    note.draft = {"text": "v2"}
    note.save()
    versioning.version_publish(resource=note, user=owner)
    versioning.label_set(resource=note, name="production", number=1, user=owner)
    versioning.label_set(resource=note, name="production", number=2, user=owner)
    assert note.labels.count() == 1
    assert versioning.version_resolve(resource=note, ref="production").number == 2


@pytest.mark.parametrize("name", ["Production", "has space", "latest", "v2", "", "-dash"])
def test_invalid_label_names_are_refused_with_a_field_error(name: str, note: Note, owner: User) -> None:
    versioning.version_publish(resource=note, user=owner)
    with pytest.raises(ValidationError) as error:
        versioning.label_set(resource=note, name=name, number=1, user=owner)
    assert "name" in error.value.fields


def test_label_pointing_at_a_missing_version_is_refused(note: Note, owner: User) -> None:
    with pytest.raises(NotFound, match="no version 7"):
        versioning.label_set(resource=note, name="staging", number=7, user=owner)


def test_unknown_reference_is_not_found(note: Note) -> None:
    with pytest.raises(NotFound):
        versioning.version_resolve(resource=note, ref="staging")


def test_deleting_a_label_keeps_its_version(note: Note, owner: User) -> None:
    versioning.version_publish(resource=note, user=owner)
    versioning.label_set(resource=note, name="staging", number=1, user=owner)
    versioning.label_delete(resource=note, name="staging")
    assert note.versions.count() == 1
    with pytest.raises(NotFound):
        versioning.label_delete(resource=note, name="staging")


def test_restore_copies_a_version_into_the_draft(note: Note, owner: User) -> None:
    versioning.version_publish(resource=note, user=owner)
    note.draft = {"text": "work in progress"}
    note.save()
    versioning.version_restore(resource=note, number=1, user=owner)
    note.refresh_from_db()
    assert note.draft == {"text": "hi"}
    assert note.versions.count() == 1
