"""Writes on users, workspaces and memberships."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.text import slugify

from llmops.accounts.models import Membership, Role, User, Workspace, role_at_least
from llmops.core.errors import Conflict, PermissionDenied, ValidationError


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


def workspace_delete(*, workspace: Workspace) -> None:
    """Delete a workspace and everything in it."""
    workspace.delete()


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
def membership_add(*, actor: Membership, username: str, role: str) -> Membership:
    """Add an existing user to the actor's workspace with ``role``."""
    _guard_role_change(actor=actor, current=None, new=role)
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise ValidationError("Unknown user.", fields={"username": [f"No active user {username!r}."]})
    membership, created = Membership.objects.get_or_create(
        workspace=actor.workspace, user=user, defaults={"role": role}
    )
    if not created:
        raise Conflict(f"{username!r} is already a member.", fields={"username": ["Already a member."]})
    return membership


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
