"""``manage.py sandbox_packages``: build (or check) the package environment of code nodes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from llmops.runs.sandbox_packages import PackageEnvironmentError, environment_install, environment_problems


class Command(BaseCommand):
    help = (
        "Install LLMOPS_SANDBOX_PACKAGES into LLMOPS_SANDBOX_PACKAGES_DIR (from the package index; a no-op when "
        "the directory was built for the same list). --check only verifies it."
    )
    requires_system_checks: list[str] = []  # the check this command exists to satisfy must not stop it

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--check", action="store_true", help="verify the environment; install nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        packages, target = settings.LLMOPS_SANDBOX_PACKAGES, Path(settings.LLMOPS_SANDBOX_PACKAGES_DIR)
        if not options["check"]:
            try:
                if environment_install(packages=packages, target=target):
                    self.stdout.write(f"code node packages installed in {target}: {', '.join(packages)}")
            except PackageEnvironmentError as exc:
                raise CommandError(str(exc)) from None
        problems = environment_problems(packages=packages, target=target)
        if problems:
            raise CommandError("; ".join(problems))
