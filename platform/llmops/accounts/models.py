"""Users, workspaces (the tenants), memberships with a role, and invitations to a workspace."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone


class User(AbstractUser):
    """A person who signs in to the console or scripts the API with a token."""

    email = models.EmailField(unique=True, blank=True, null=True)  # type: ignore[assignment]


class Role(models.TextChoices):
    """Workspace roles, weakest first."""

    VIEWER = "viewer", "Viewer"
    EDITOR = "editor", "Editor"
    ADMIN = "admin", "Admin"
    OWNER = "owner", "Owner"


ROLE_RANK = {Role.VIEWER: 0, Role.EDITOR: 1, Role.ADMIN: 2, Role.OWNER: 3}


def role_at_least(role: str, required: str) -> bool:
    """Whether ``role`` grants everything ``required`` grants."""
    return ROLE_RANK[Role(role)] >= ROLE_RANK[Role(required)]


class Workspace(models.Model):
    """A tenant: every resource, run and usage row belongs to exactly one workspace."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="workspaces"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user's role in a workspace."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    can_review = models.BooleanField(
        default=False, help_text="May review evaluation runs (admins and owners always may)."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["workspace", "user"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="accounts_membership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} ({self.role})"

    @property
    def reviews(self) -> bool:
        """Whether the member may review evaluation runs: admins and owners always, others when granted."""
        return role_at_least(self.role, Role.ADMIN) or self.can_review


class InvitationStatus(models.TextChoices):
    """Where an invitation stands; only a pending, unexpired one can be accepted."""

    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    REVOKED = "revoked", "Revoked"


class Invitation(models.Model):
    """An offer of a role in a workspace to a username or an email address.

    A membership exists only once the invitee accepts: nobody is added to a workspace without consent, and
    inviting answers the same whether the account exists or not (usernames and emails are not enumerable).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="invitations")
    # Exactly one of the two addresses the invitee; the email is stored lower-cased.
    username = models.CharField(max_length=150, blank=True, default="")
    email = models.EmailField(blank=True, default="")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    status = models.CharField(
        max_length=16, choices=InvitationStatus.choices, default=InvitationStatus.PENDING
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    responded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(username="") & ~models.Q(email=""))
                | (~models.Q(username="") & models.Q(email="")),
                name="accounts_invitation_one_address",
            ),
            # One open invitation per address and workspace: inviting again refreshes it.
            models.UniqueConstraint(
                fields=["workspace", "username", "email"],
                condition=models.Q(status="pending"),
                name="accounts_invitation_one_pending",
            ),
        ]
        indexes = [
            models.Index(
                fields=["username"], condition=models.Q(status="pending"), name="accounts_inv_username"
            ),
            models.Index(fields=["email"], condition=models.Q(status="pending"), name="accounts_inv_email"),
        ]

    def __str__(self) -> str:
        return f"{self.username or self.email} to {self.workspace_id} ({self.role}, {self.status})"

    @property
    def is_expired(self) -> bool:
        """Whether the invitation can no longer be accepted because its time ran out."""
        return self.expires_at <= timezone.now()
