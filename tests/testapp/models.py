"""A concrete versioned resource used to test the base in ``llmops.core.models``."""

from __future__ import annotations

from django.db import models

from llmops.core.fields import EncryptedTextField
from llmops.core.models import ResourceLabel, ResourceVersion, VersionedResource


class Note(VersionedResource):
    secret = EncryptedTextField(blank=True, default="")


class NoteVersion(ResourceVersion):
    resource = models.ForeignKey(Note, on_delete=models.CASCADE, related_name="versions")


class NoteLabel(ResourceLabel):
    resource = models.ForeignKey(Note, on_delete=models.CASCADE, related_name="labels")
    version = models.ForeignKey(NoteVersion, on_delete=models.CASCADE, related_name="labels")
