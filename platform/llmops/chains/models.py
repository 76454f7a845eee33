"""Chains (prompt + model + output parser [+ retriever, memory]) and their server-side conversation memory.

These models moved here from the ``studio`` app without touching the database: each keeps its ``studio_*``
table (``db_table``) and constraint names, so the move was a state-only migration and no data was copied.
"""

from __future__ import annotations

from django.db import models

from llmops.core.models import ResourceLabel, ResourceVersion, VersionedResource


class Chain(VersionedResource):
    """A chain's editable head; ``draft`` holds a :class:`llmops.chains.content.ChainContent`."""

    class Meta(VersionedResource.Meta):
        verbose_name = "chain"
        db_table = "studio_chain"
        constraints = [models.UniqueConstraint(fields=["workspace", "slug"], name="studio_chain_unique_slug")]


class ChainVersion(ResourceVersion):
    """An immutable, runnable snapshot of a chain."""

    resource = models.ForeignKey(Chain, on_delete=models.CASCADE, related_name="versions")

    class Meta(ResourceVersion.Meta):
        verbose_name = "chain version"
        db_table = "studio_chainversion"
        constraints = [
            models.UniqueConstraint(fields=["resource", "number"], name="studio_chainversion_unique_number")
        ]


class ChainLabel(ResourceLabel):
    """``production``, ``staging``... pointing at a chain version."""

    resource = models.ForeignKey(Chain, on_delete=models.CASCADE, related_name="labels")
    version = models.ForeignKey(ChainVersion, on_delete=models.CASCADE, related_name="labels")

    class Meta(ResourceLabel.Meta):
        verbose_name = "chain label"
        db_table = "studio_chainlabel"
        constraints = [
            models.UniqueConstraint(fields=["resource", "name"], name="studio_chainlabel_unique_name")
        ]


class ChainConversation(models.Model):
    """A conversation with a chain's window memory, identified by a caller-chosen or generated id."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    chain = models.ForeignKey(Chain, on_delete=models.CASCADE, related_name="conversations")
    external_id = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "studio_chainconversation"
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["chain", "external_id"], name="studio_chainconversation_unique_id"
            )
        ]

    def __str__(self) -> str:
        return self.external_id


class ChainMessage(models.Model):
    """One turn's side in a conversation: what the user sent or what the model answered."""

    class Role(models.TextChoices):
        USER = "user", "User"
        ASSISTANT = "assistant", "Assistant"

    conversation = models.ForeignKey(ChainConversation, on_delete=models.CASCADE, related_name="messages")
    role = models.CharField(max_length=16, choices=Role.choices)
    content = models.TextField()
    chain_version = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: the draft.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "studio_chainmessage"
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["conversation", "-id"], name="studio_chainmsg_conv_id")]

    def __str__(self) -> str:
        return f"{self.role}: {self.content[:40]}"
