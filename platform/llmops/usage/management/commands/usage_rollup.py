"""``manage.py usage_rollup [--rebuild] [--workspace SLUG] [--since YYYY-MM-DD]``: count the ledger and the
finished runs into the dashboards' rollups (what the beat task does), or drop them and count again."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from llmops.accounts.models import Workspace
from llmops.usage.rollups import usage_rollup, usage_rollup_rebuild
from llmops.usage.run_rollups import run_rollup, run_rollup_rebuild


class Command(BaseCommand):
    help = "Roll the usage ledger up for the dashboards; --rebuild drops the rollups and counts again."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--rebuild", action="store_true", help="Drop the rollups and count the ledger again."
        )
        parser.add_argument("--workspace", help="Only this workspace (slug; with --rebuild).")
        parser.add_argument("--since", help="Only from this day on (YYYY-MM-DD, UTC; with --rebuild).")

    def handle(self, *args: Any, **options: Any) -> None:
        if (options["workspace"] or options["since"]) and not options["rebuild"]:
            raise CommandError("--workspace and --since narrow a --rebuild.")
        workspace_id = None
        if options["workspace"]:
            workspace = Workspace.objects.filter(slug=options["workspace"]).first()
            if workspace is None:
                raise CommandError(f"No workspace {options['workspace']!r}.")
            workspace_id = workspace.pk
        since = None
        if options["since"]:
            try:
                since = datetime.strptime(options["since"], "%Y-%m-%d").replace(tzinfo=UTC)
            except ValueError:
                raise CommandError(f"--since: {options['since']!r} is not a YYYY-MM-DD day.") from None
        started = time.perf_counter()
        if options["rebuild"]:
            rows = usage_rollup_rebuild(workspace_id=workspace_id, since=since)
            runs = run_rollup_rebuild(workspace_id=workspace_id, since=since)
        else:
            rows, runs = usage_rollup(), run_rollup()
        seconds = time.perf_counter() - started
        self.stdout.write(f"rolled up {rows} ledger row(s) and {runs} run(s) in {seconds:.1f} s")
