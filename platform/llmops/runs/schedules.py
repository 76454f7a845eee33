"""Cron schedules of workflows: create, update, delete, and the beat task that starts their runs."""

from __future__ import annotations

import json
import logging
import zoneinfo
from typing import Any

from celery.schedules import crontab
from django.db import transaction
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from llmops.accounts.models import User
from llmops.core import versioning
from llmops.core.errors import ValidationError
from llmops.runs.models import Run, Schedule, Trigger
from llmops.runs.services import run_inputs_validate, run_start
from llmops.studio.models import Workflow

logger = logging.getLogger(__name__)
CRON_FIELDS = ("minute", "hour", "day_of_month", "month_of_year", "day_of_week")


def _parse_cron(cron: str, tz: str) -> dict[str, str]:
    parts = cron.split()
    if len(parts) != 5:
        raise ValidationError(
            "Invalid schedule.", fields={"cron": ["Five fields: minute hour day month weekday."]}
        )
    fields = dict(zip(CRON_FIELDS, parts, strict=True))
    try:
        crontab(**fields)
    except (ValueError, TypeError) as exc:
        raise ValidationError(
            "Invalid schedule.", fields={"cron": [f"Not a cron expression: {exc}"]}
        ) from None
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            "Invalid schedule.", fields={"timezone": [f"Unknown time zone {tz!r}."]}
        ) from None
    return fields


def _sync_beat_entry(schedule: Schedule) -> None:
    """Create or update the django-celery-beat task this schedule owns."""
    fields = _parse_cron(schedule.cron, schedule.timezone)
    crontab_row, _ = CrontabSchedule.objects.get_or_create(**fields, timezone=schedule.timezone)
    values = {
        "task": "llmops.runs.scheduled",
        "crontab": crontab_row,
        "kwargs": json.dumps({"schedule_id": schedule.pk}),
        "enabled": schedule.enabled,
        "queue": "runs",
    }
    if schedule.periodic_task is None:
        schedule.periodic_task = PeriodicTask.objects.create(name=f"llmops-schedule-{schedule.pk}", **values)
        schedule.save(update_fields=["periodic_task"])
    else:
        PeriodicTask.objects.filter(pk=schedule.periodic_task.pk).update(**values)


@transaction.atomic
def schedule_create(*, workflow: Workflow, user: User | None, **data: Any) -> Schedule:
    """Schedule runs of ``workflow``: the version reference and inputs are checked now, not at 3 a.m."""
    _parse_cron(data["cron"], data.get("timezone", "UTC"))
    version = versioning.version_resolve(resource=workflow, ref=data.get("version", "production"))
    run_inputs_validate(version, data.get("inputs", {}))
    schedule = Schedule.objects.create(
        workspace_id=workflow.workspace_id, workflow=workflow, created_by=user, **data
    )
    _sync_beat_entry(schedule)
    return schedule


@transaction.atomic
def schedule_update(*, schedule: Schedule, **changes: Any) -> Schedule:
    """Change the cron, time zone, version, inputs or enabled flag."""
    for field, value in changes.items():
        setattr(schedule, field, value)
    version = versioning.version_resolve(resource=schedule.workflow, ref=schedule.version)
    run_inputs_validate(version, schedule.inputs)
    schedule.save()
    _sync_beat_entry(schedule)
    return schedule


@transaction.atomic
def schedule_delete(*, schedule: Schedule) -> None:
    """Delete the schedule and its beat entry."""
    if schedule.periodic_task is not None:
        schedule.periodic_task.delete()
    schedule.delete()


def schedule_fire(*, schedule_id: int) -> Run | None:
    """Start the scheduled run (called by beat); a failure is recorded on the schedule, not raised."""
    schedule = Schedule.objects.select_related("workflow").filter(pk=schedule_id, enabled=True).first()
    if schedule is None:
        return None
    try:
        run = run_start(
            workflow=schedule.workflow, ref=schedule.version, inputs=schedule.inputs, user=None,
            trigger=Trigger.SCHEDULE,
        )  # fmt: skip
    except Exception as exc:  # e.g. the label was removed: keep the reason where the console shows it
        logger.warning("schedule %s could not start a run: %s", schedule_id, exc)
        Schedule.objects.filter(pk=schedule_id).update(last_error=str(exc)[:2000])
        return None
    Schedule.objects.filter(pk=schedule_id).update(last_run_at=timezone.now(), last_error="")
    return run
