"""Workspace scoping and role checks shared by every workspace-owned API.

A view mixes in :class:`WorkspaceScopedMixin`; its URL carries ``<workspace>`` (the slug). Outsiders get
404 (a workspace's existence is not leaked), members below the required role get 403.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, cast

from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.views import APIView

from llmops.accounts.models import Membership, Role, User, Workspace, role_at_least
from llmops.accounts.selectors import membership_for_user
from llmops.core.errors import PermissionDenied


def signed_in_user(request: Request) -> User:
    """The request's user, for views whose permission classes already required authentication."""
    return cast(User, request.user)


class WorkspaceScopedMixin(APIView):
    """Resolves the caller's membership from the URL and declares the roles each action needs."""

    workspace_url_kwarg = "workspace"
    read_role: str = Role.VIEWER
    write_role: str = Role.EDITOR
    # Per-action overrides, e.g. {"destroy": Role.OWNER}.
    action_roles: dict[str, str] = {}

    @cached_property
    def membership(self) -> Membership:
        """The caller's membership (NotFound for outsiders)."""
        user = signed_in_user(self.request)
        return membership_for_user(user=user, workspace_slug=self.kwargs[self.workspace_url_kwarg])

    @property
    def workspace(self) -> Workspace:
        """The workspace named in the URL."""
        return self.membership.workspace

    def required_role(self) -> str:
        """The role this request needs."""
        action = getattr(self, "action", None)
        if action in self.action_roles:
            return self.action_roles[action]
        return self.read_role if self.request.method in SAFE_METHODS else self.write_role


def require_role(membership: Membership, required: str) -> None:
    """Raise ``PermissionDenied`` unless ``membership`` has at least the ``required`` role."""
    if not role_at_least(membership.role, required):
        raise PermissionDenied(f"This needs the {required} role in workspace {membership.workspace.slug!r}.")


class HasWorkspaceRole(BasePermission):
    """Grants access when the caller's workspace role meets the view's ``required_role()``."""

    def has_permission(self, request: Request, view: Any) -> bool:
        require_role(view.membership, view.required_role())
        return True


WORKSPACE_PERMISSIONS = [IsAuthenticated, HasWorkspaceRole]
