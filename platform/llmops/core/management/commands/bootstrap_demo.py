"""``manage.py bootstrap_demo``: an admin user and a demo workspace, created once.

The admin password is printed only when the user is created (or taken from ``LLMOPS_ADMIN_PASSWORD``).
"""

from __future__ import annotations

import secrets
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from llmops.accounts.models import Membership, Role, User, Workspace
from llmops.accounts.services import user_create, workspace_create
from llmops.settings.env import env_str


class Command(BaseCommand):
    help = "Create the admin user and the demo workspace if they do not exist."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            admin, password = self._admin()
            self._demo_workspace(admin)
        if password:
            self.stdout.write(self.style.SUCCESS(f"admin user created: username=admin password={password}"))
            self.stdout.write(
                "  (shown once; change it with: .venv/bin/python manage.py changepassword admin)"
            )
        else:
            self.stdout.write("admin user exists (its password was printed when it was created)")

    def _admin(self) -> tuple[User, str | None]:
        existing = User.objects.filter(username="admin").first()
        if existing is not None:
            return existing, None
        password = env_str("LLMOPS_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        return user_create(
            username="admin", password=password, email="admin@example.com", is_staff=True
        ), password

    def _demo_workspace(self, admin: User) -> Workspace:
        workspace = Workspace.objects.filter(slug="demo").first()
        if workspace is None:
            workspace = workspace_create(name="Demo workspace", slug="demo", owner=admin)
            self.stdout.write("demo workspace created: /api/workspaces/demo/")
        Membership.objects.get_or_create(workspace=workspace, user=admin, defaults={"role": Role.OWNER})
        return workspace
