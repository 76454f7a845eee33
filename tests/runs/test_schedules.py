"""Cron schedules: validated up front, stored as beat entries, firing runs with trigger=schedule."""

from __future__ import annotations

import json

import pytest
from django_celery_beat.models import PeriodicTask

from llmops.accounts.models import User, Workspace
from llmops.core import versioning
from llmops.runs.models import Run, Schedule
from llmops.runs.schedules import schedule_fire
from tests.conftest import client_for
from tests.studio.factories import published_workflow

pytestmark = pytest.mark.django_db


@pytest.fixture
def labelled(workspace: Workspace, owner: User) -> None:
    workflow = published_workflow(workspace=workspace, slug="greeting")
    versioning.label_set(resource=workflow, name="production", number=1, user=owner)


def _create(user: User, **overrides: object) -> object:
    body = {"workflow": "greeting", "name": "nightly", "cron": "0 3 * * *", "timezone": "Europe/Paris",
            "inputs": {"name": "Ada"}, **overrides}  # fmt: skip
    return client_for(user).post("/api/workspaces/acme/schedules/", body, format="json")


def test_schedule_creates_a_beat_entry_with_its_cron(labelled: None, owner: User) -> None:
    response = _create(owner)
    assert response.status_code == 201, response.content  # type: ignore[attr-defined]
    schedule = Schedule.objects.get()
    task = PeriodicTask.objects.get(pk=schedule.periodic_task_id)
    assert task.task == "llmops.runs.scheduled" and json.loads(task.kwargs) == {"schedule_id": schedule.pk}
    assert (task.crontab.minute, task.crontab.hour, str(task.crontab.timezone)) == ("0", "3", "Europe/Paris")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"cron": "every night"}, "cron"),
        ({"cron": "61 3 * * *"}, "cron"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"inputs": {}}, "inputs.name"),
        ({"version": "staging"}, None),
    ],
)
def test_bad_schedules_are_refused_and_nothing_is_stored(
    overrides: dict[str, object], field: str | None, labelled: None, owner: User
) -> None:
    response = _create(owner, **overrides)
    assert response.status_code in (400, 404)  # type: ignore[attr-defined]
    if field:
        assert field in response.json()["error"]["fields"]  # type: ignore[attr-defined]
    assert (
        not Schedule.objects.exists()
        and not PeriodicTask.objects.filter(task="llmops.runs.scheduled").exists()
    )


def test_firing_starts_a_run_of_the_label_with_trigger_schedule(labelled: None, owner: User) -> None:
    _create(owner)
    run = schedule_fire(schedule_id=Schedule.objects.get().pk)
    assert isinstance(run, Run)
    assert run.trigger == "schedule" and run.inputs == {"name": "Ada"} and run.workflow_version.number == 1
    assert Schedule.objects.get().last_run_at is not None


def test_disabling_stops_the_beat_entry_and_deleting_removes_it(labelled: None, owner: User) -> None:
    _create(owner)
    schedule = Schedule.objects.get()
    client = client_for(owner)
    client.patch(f"/api/workspaces/acme/schedules/{schedule.pk}/", {"enabled": False}, format="json")
    assert PeriodicTask.objects.get(pk=schedule.periodic_task_id).enabled is False
    assert schedule_fire(schedule_id=schedule.pk) is None
    assert client.delete(f"/api/workspaces/acme/schedules/{schedule.pk}/").status_code == 204
    assert not PeriodicTask.objects.filter(pk=schedule.periodic_task_id).exists()


def test_a_schedule_whose_label_vanished_records_the_reason(labelled: None, owner: User) -> None:
    _create(owner)
    schedule = Schedule.objects.get()
    versioning.label_delete(resource=schedule.workflow, name="production")
    assert schedule_fire(schedule_id=schedule.pk) is None
    assert "production" in Schedule.objects.get().last_error


@pytest.mark.parametrize(("persona", "expected"), [("member", 201), ("outsider", 404)])
def test_schedules_are_scoped_to_the_workspace(
    persona: str, expected: int, labelled: None, member: User, outsider: User
) -> None:
    response = _create({"member": member, "outsider": outsider}[persona])
    assert response.status_code == expected  # type: ignore[attr-defined]
