"""Permission-scoped reads: a user sees only the workspaces they belong to."""

from __future__ import annotations

from django.db.models import QuerySet

from llmops.accounts.models import Membership, User, Workspace
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
