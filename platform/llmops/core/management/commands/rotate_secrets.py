"""``manage.py rotate_secrets``: re-encrypt secrets at rest with the first ``LLMOPS_ENCRYPTION_KEYS`` key."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from llmops.core.rotation import secrets_rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted field with the first key of LLMOPS_ENCRYPTION_KEYS (after prepending a new "
        "key). Idempotent; values that no configured key can decrypt are counted and make the command fail."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="count what would change; write nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        results = secrets_rotate(dry_run=options["dry_run"])
        verb = "to re-encrypt" if options["dry_run"] else "re-encrypted"
        for result in results:
            self.stdout.write(
                f"{result.label}: {result.rotated} {verb}, {result.current} already current, "
                f"{result.unreadable} unreadable"
            )
        unreadable = sum(result.unreadable for result in results)
        if unreadable:
            raise CommandError(
                f"{unreadable} value(s) could not be decrypted with any configured key; they were left as they are."
            )
