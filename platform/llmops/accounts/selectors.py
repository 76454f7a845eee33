"""Permission-scoped reads: a user sees only the workspaces they belong to."""

from __future__ import annotations

from uuid import UUID

from django.db.models import Q, QuerySet
from django.utils import timezone

from llmops.accounts.models import Invitation, InvitationStatus, Membership, User, Workspace
from llmops.core.errors import NotFound


def workspaces_for_user(*, user: User) -> QuerySet[Workspace]:
    """Workspaces ``user`` is a member of."""
    return Workspace.objects.filter(memberships__user=user).distinct()


def membership_for_user(*, user: User, workspace_slug: str) -> Membership:
    """The caller's membership in a workspace; ``NotFound`` for outsiders (existence is not leaked)."""
    membership = (
        Membership.objects.select_related("workspace")
        .filter(user=user, workspace__slug=workspace_slug)
        .first()
    )
    if membership is None or not user.is_active:
        raise NotFound(f"Workspace {workspace_slug!r} not found.")
    return membership


def memberships_of_workspace(*, workspace: Workspace) -> QuerySet[Membership]:
    """Members of a workspace with their users."""
    return Membership.objects.filter(workspace=workspace).select_related("user").order_by("created_at")


def membership_in_workspace(*, workspace: Workspace, membership_id: int) -> Membership:
    """A membership of ``workspace`` by id, or ``NotFound``."""
    membership = (
        Membership.objects.select_related("user", "workspace")
        .filter(workspace=workspace, pk=membership_id)
        .first()
    )
    if membership is None:
        raise NotFound("Member not found.")
    return membership


def invitations_of_workspace(*, workspace: Workspace) -> QuerySet[Invitation]:
    """Open (pending) invitations of a workspace, newest first, expired ones included."""
    return (
        Invitation.objects.filter(workspace=workspace, status=InvitationStatus.PENDING)
        .select_related("invited_by")
        .order_by("-created_at")
    )


def invitation_in_workspace(*, workspace: Workspace, invitation_id: UUID) -> Invitation:
    """A pending invitation of ``workspace`` by id, or ``NotFound``."""
    invitation = invitations_of_workspace(workspace=workspace).filter(pk=invitation_id).first()
    if invitation is None:
        raise NotFound("Invitation not found.")
    return invitation


def _addressed_to(user: User) -> Q:
    addressed = Q(username=user.username)
    if user.email:
        addressed |= Q(email=user.email.lower())
    return addressed


def invitations_for_user(*, user: User) -> QuerySet[Invitation]:
    """Pending, unexpired invitations addressed to ``user`` (by username or email), newest first."""
    return (
        Invitation.objects.filter(_addressed_to(user), status=InvitationStatus.PENDING)
        .filter(expires_at__gt=timezone.now())
        .select_related("workspace", "invited_by")
        .order_by("-created_at")
    )


def invitation_for_invitee(*, user: User, invitation_id: UUID) -> Invitation:
    """A pending invitation addressed to ``user`` (expired or not), locked for the answer; ``NotFound``
    for anyone else's (an invitation's existence is not leaked to other users)."""
    invitation = (
        Invitation.objects.select_for_update(of=("self",))
        .select_related("workspace")
        .filter(_addressed_to(user), status=InvitationStatus.PENDING, pk=invitation_id)
        .first()
    )
    if invitation is None or not user.is_active:
        raise NotFound("Invitation not found.")
    return invitation
