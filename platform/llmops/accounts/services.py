"""Writes on users, workspaces, memberships and invitations.

Nobody becomes a member without consent: admins invite (by username or email, with a role), the invitee
accepts. Taking a membership away also closes that user's open websockets on the workspace.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from uuid import UUID

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from llmops.accounts.events import AccessRevoked, user_group
from llmops.accounts.models import (
    Invitation,
    InvitationStatus,
    Membership,
    Role,
    User,
    Workspace,
    role_at_least,
)
from llmops.accounts.selectors import invitation_for_invitee
from llmops.core.errors import Conflict, PermissionDenied, ValidationError

logger = logging.getLogger(__name__)


def user_create(*, username: str, password: str, email: str | None = None, is_staff: bool = False) -> User:
    """Create a user with a hashed password."""
    if User.objects.filter(username=username).exists():
        raise Conflict(f"User {username!r} already exists.")
    return User.objects.create_user(
        username=username, password=password, email=email or None, is_staff=is_staff, is_superuser=is_staff
    )


@transaction.atomic
def workspace_create(*, name: str, owner: User, slug: str | None = None) -> Workspace:
    """Create a workspace; its creator becomes its owner."""
    slug = slug or slugify(name)[:64]
    if not slug:
        raise ValidationError("Invalid workspace.", fields={"slug": ["A slug needs letters or digits."]})
    try:
        with transaction.atomic():
            workspace = Workspace.objects.create(name=name, slug=slug)
    except IntegrityError:
        raise Conflict(f"Workspace slug {slug!r} is taken.", fields={"slug": ["Already taken."]}) from None
    Membership.objects.create(workspace=workspace, user=owner, role=Role.OWNER)
    return workspace


def workspace_update(*, workspace: Workspace, name: str) -> Workspace:
    """Rename a workspace (its slug stays: URLs and keys refer to it)."""
    workspace.name = name
    workspace.save(update_fields=["name"])
    return workspace


@transaction.atomic
def workspace_delete(*, workspace: Workspace) -> None:
    """Delete a workspace and everything in it; its members' open sockets on it are closed."""
    member_ids = list(workspace.memberships.values_list("user_id", flat=True))
    workspace_id = workspace.pk
    workspace.delete()
    for user_id in member_ids:
        websocket_access_revoke(user_id=user_id, workspace_id=workspace_id)


def _guard_role_change(*, actor: Membership, current: str | None, new: str | None) -> None:
    """Only owners grant or take away ownership; admins manage everyone else."""
    touches_owner = Role.OWNER in (current, new)
    if touches_owner and actor.role != Role.OWNER:
        raise PermissionDenied("Only an owner can grant or remove the owner role.")
    if not role_at_least(actor.role, Role.ADMIN):
        raise PermissionDenied("Managing members needs the admin role.")


def _guard_last_owner(*, membership: Membership) -> None:
    if membership.role == Role.OWNER:
        owners = Membership.objects.select_for_update().filter(
            workspace=membership.workspace, role=Role.OWNER
        )
        # Evaluate the rows (COUNT(*) locks nothing): two owners demoting each other serialize here.
        if len(owners.values_list("pk", flat=True)) <= 1:
            raise Conflict("A workspace keeps at least one owner.")


@transaction.atomic
def membership_change_role(*, actor: Membership, membership: Membership, role: str) -> Membership:
    """Change a member's role; the last owner cannot be demoted."""
    _guard_role_change(actor=actor, current=membership.role, new=role)
    if role != Role.OWNER:
        _guard_last_owner(membership=membership)
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def membership_remove(*, actor: Membership, membership: Membership) -> None:
    """Remove a member (members may also leave); the last owner cannot be removed."""
    if membership.pk != actor.pk:
        _guard_role_change(actor=actor, current=membership.role, new=None)
    _guard_last_owner(membership=membership)
    membership.delete()
    websocket_access_revoke(user_id=membership.user_id, workspace_id=membership.workspace_id)


def websocket_access_revoke(
    *, user_id: int, workspace_id: int | None = None, credential: str | None = None
) -> None:
    """After commit, close the user's open websockets on ``workspace_id`` (all when None) that were opened
    with ``credential`` (any when None).

    Best effort: a message the channel layer drops is caught by each socket's periodic access check.
    """
    message: AccessRevoked = {
        "type": "access.revoked",
        "workspace_id": workspace_id,
        "credential": credential,
    }

    def send() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        try:
            async_to_sync(layer.group_send)(user_group(user_id), message)
        except Exception:  # the periodic re-check closes the sockets instead
            logger.warning("websocket revocation for user %s not delivered", user_id, exc_info=True)

    transaction.on_commit(send)


def _invitation_address(*, username: str, email: str) -> dict[str, str]:
    username, email = username.strip(), email.strip().lower()
    if bool(username) == bool(email):
        message = "Give either a username or an email, not both."
        raise ValidationError("Invalid invitation.", fields={"username": [message], "email": [message]})
    return {"username": username, "email": email}


@transaction.atomic
def invitation_create(*, actor: Membership, role: str, username: str = "", email: str = "") -> Invitation:
    """Invite a username or an email address to the actor's workspace with ``role``.

    The answer does not depend on whether such an account exists (no enumeration); inviting the same address
    again refreshes its pending invitation (role, inviter, expiry). Only a username that is already a member
    is refused: the actor sees the member list anyway.
    """
    _guard_role_change(actor=actor, current=None, new=role)
    address = _invitation_address(username=username, email=email)
    if (
        address["username"]
        and actor.workspace.memberships.filter(user__username=address["username"]).exists()
    ):
        raise Conflict("Already a member.", fields={"username": ["Already a member of this workspace."]})
    expires_at = timezone.now() + timedelta(days=settings.INVITATION_TTL_DAYS)
    invitation, _ = Invitation.objects.update_or_create(
        workspace=actor.workspace,
        status=InvitationStatus.PENDING,
        username=address["username"],
        email=address["email"],
        defaults={"role": role, "invited_by": actor.user, "expires_at": expires_at},
    )
    return invitation


@transaction.atomic
def invitation_revoke(*, actor: Membership, invitation: Invitation) -> None:
    """Withdraw a pending invitation (an invitation to the owner role only by an owner)."""
    _guard_role_change(actor=actor, current=None, new=invitation.role)
    Invitation.objects.filter(pk=invitation.pk, status=InvitationStatus.PENDING).update(
        status=InvitationStatus.REVOKED, responded_at=timezone.now()
    )


def _guard_inviter_still_entitled(invitation: Invitation) -> None:
    # An invitation is only as good as its inviter's standing: one sent by an admin who was since removed
    # or demoted (or by an owner who lost ownership) no longer grants anything.
    inviter = None
    if invitation.invited_by_id is not None:
        inviter = Membership.objects.filter(
            workspace_id=invitation.workspace_id, user_id=invitation.invited_by_id, user__is_active=True
        ).first()
    try:
        if inviter is None:
            raise PermissionDenied("The inviter is no longer a member.")
        _guard_role_change(actor=inviter, current=None, new=invitation.role)
    except PermissionDenied:
        raise Conflict("This invitation is no longer valid; ask for a new one.") from None


@transaction.atomic
def invitation_accept(*, user: User, invitation_id: UUID) -> Membership:
    """Accept a pending invitation addressed to ``user``: only now does the membership exist."""
    invitation = invitation_for_invitee(user=user, invitation_id=invitation_id)
    if invitation.is_expired:
        raise Conflict("This invitation has expired; ask for a new one.")
    _guard_inviter_still_entitled(invitation)
    membership, created = Membership.objects.get_or_create(
        workspace=invitation.workspace, user=user, defaults={"role": invitation.role}
    )
    if not created:
        raise Conflict("You are already a member of this workspace; decline the invitation instead.")
    invitation.status = InvitationStatus.ACCEPTED
    invitation.responded_at = timezone.now()
    invitation.save(update_fields=["status", "responded_at"])
    return membership


@transaction.atomic
def invitation_decline(*, user: User, invitation_id: UUID) -> None:
    """Decline a pending invitation addressed to ``user``."""
    invitation = invitation_for_invitee(user=user, invitation_id=invitation_id)
    invitation.status = InvitationStatus.DECLINED
    invitation.responded_at = timezone.now()
    invitation.save(update_fields=["status", "responded_at"])
