"""A versioned-resource API over the test model, exactly as a real resource app would declare it."""

from __future__ import annotations

from typing import Any

from llmops.core.api.versioning import VersionedResourceSerializer, VersionedResourceViewSet
from llmops.core.errors import ValidationError
from tests.testapp.models import Note


class NoteSerializer(VersionedResourceSerializer):
    class Meta(VersionedResourceSerializer.Meta):
        model = Note


class NoteViewSet(VersionedResourceViewSet[Note]):
    queryset = Note.objects.all()
    serializer_class = NoteSerializer

    def validate_draft(self, draft: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(draft.get("text", ""), str):
            raise ValidationError("Invalid draft.", fields={"draft.text": ["Must be a string."]})
        return draft
