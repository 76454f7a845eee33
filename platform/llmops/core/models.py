"""The versioned-resource base every resource reuses (prompts, chains, workflows, datasets...).

A resource has an editable head (``draft``), immutable numbered versions with a content hash, an author
and a message, and labels (``production``, ``staging``, custom) that point at versions. Anything that runs
pins a version. Concrete models subclass the three abstract classes below and wire them together:

    class Prompt(VersionedResource): ...
    class PromptVersion(ResourceVersion):
        resource = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="versions")
    class PromptLabel(ResourceLabel):
        resource = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="labels")
        version = models.ForeignKey(PromptVersion, on_delete=models.CASCADE, related_name="labels")

The services in ``llmops.core.versioning`` publish, label, resolve and restore any such trio.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import RegexValidator
from django.db import models

from llmops.core.refs import LABEL_NAME, LABEL_RULE, label_name_reserved

if TYPE_CHECKING:
    # Only a type: Django builds each reverse manager class at run time.
    from django.db.models.fields.related_descriptors import RelatedManager

# The field's validator (its regex and message are frozen in migrations); ``label_set`` applies the full rule
# of ``llmops.core.refs``, and ``ResourceLabel.clean`` adds the reserved names for forms (the admin).
LABEL_NAME_VALIDATOR = RegexValidator(rf"^{LABEL_NAME}$", LABEL_RULE)


def content_hash(content: Any) -> str:
    """SHA-256 of the canonical JSON form of ``content`` (key order and whitespace do not matter)."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class VersionedResource(models.Model):
    """A workspace-owned resource with an editable draft."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100)
    description = models.TextField(blank=True)
    draft = models.JSONField(default=dict, blank=True)
    latest_version_number = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Reverse relations every concrete subclass wires up (see the module docstring).
    versions: RelatedManager[ResourceVersion]
    labels: RelatedManager[ResourceLabel]

    class Meta:
        abstract = True
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "slug"], name="%(app_label)s_%(class)s_unique_slug")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def draft_hash(self) -> str:
        """Hash of the current draft, comparable with a version's ``content_hash``."""
        return content_hash(self.draft)


class ResourceVersion(models.Model):
    """An immutable snapshot of a resource's draft. Subclasses add ``resource`` (related_name='versions')."""

    number = models.PositiveIntegerField()
    content = models.JSONField()
    content_hash = models.CharField(max_length=64, db_index=True)
    message = models.CharField(max_length=500, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    # Relations every concrete subclass wires up (see the module docstring).
    resource: VersionedResource
    labels: RelatedManager[ResourceLabel]

    class Meta:
        abstract = True
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["resource", "number"], name="%(app_label)s_%(class)s_unique_number"
            )
        ]

    def __str__(self) -> str:
        return f"v{self.number}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Versions are immutable: a run that pinned v3 must always see the same v3.
        if not self._state.adding:
            raise ValueError(f"{type(self).__name__} v{self.number} is immutable")
        super().save(*args, **kwargs)


class ResourceLabel(models.Model):
    """A named pointer (``production``, ``staging``...) at one version.

    Subclasses add the ``resource`` (related_name='labels') and ``version`` foreign keys.
    """

    name = models.CharField(max_length=63, validators=[LABEL_NAME_VALIDATOR])
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    # Foreign keys every concrete subclass wires up (see the module docstring).
    resource: VersionedResource
    version: ResourceVersion

    class Meta:
        abstract = True
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["resource", "name"], name="%(app_label)s_%(class)s_unique_name")
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """Refuse the names a reference would read as a version (``latest``, ``draft``, ``3``, ``v3``)."""
        if label_name_reserved(self.name):
            raise DjangoValidationError({"name": f"{self.name!r} is reserved."})
