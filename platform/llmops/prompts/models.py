"""Prompts: a versioned resource whose content is a chat or text template (see ``llmops.prompts.content``)."""

from __future__ import annotations

from django.db import models

from llmops.core.models import ResourceLabel, ResourceVersion, VersionedResource


class Prompt(VersionedResource):
    """A prompt's editable head; ``draft`` holds a :class:`llmops.prompts.content.PromptContent`."""

    class Meta(VersionedResource.Meta):
        verbose_name = "prompt"


class PromptVersion(ResourceVersion):
    """An immutable, numbered snapshot of a prompt."""

    resource = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="versions")

    class Meta(ResourceVersion.Meta):
        verbose_name = "prompt version"


class PromptLabel(ResourceLabel):
    """A named pointer (``production``, ``staging``...) at one prompt version."""

    resource = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="labels")
    version = models.ForeignKey(PromptVersion, on_delete=models.CASCADE, related_name="labels")

    class Meta(ResourceLabel.Meta):
        verbose_name = "prompt label"
