"""Deployments under concurrency and over time: racing slugs, forgotten idempotency keys."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from llmops.accounts.models import Workspace
from llmops.core.errors import Conflict
from llmops.deployments import services
from llmops.deployments.models import ApiKey, Deployment, IdempotencyRecord
from llmops.deployments.tasks import idempotency_records_purge_task
from tests.deployments.factories import DeploymentFactory
from tests.studio.factories import published_workflow


@pytest.mark.django_db(transaction=True)
def test_two_creates_racing_for_one_slug_give_one_deployment_and_a_409(workspace: Workspace) -> None:
    workflow = published_workflow(workspace=workspace)
    first_inserted = threading.Event()
    outcome: dict[str, object] = {}

    def second() -> None:
        first_inserted.wait(5)
        try:  # the existence check sees nothing yet; the insert waits on the unique index, then loses
            services.deployment_create(
                workspace=workspace, user=None, slug="race", name="B", workflow=workflow
            )
            outcome["second"] = "created"
        except Conflict as exc:
            outcome["second"] = exc.status
        finally:
            connection.close()

    racer = threading.Thread(target=second)
    racer.start()
    with transaction.atomic():
        services.deployment_create(workspace=workspace, user=None, slug="race", name="A", workflow=workflow)
        first_inserted.set()
        racer.join(0.5)  # give the second create time to block on the uncommitted row
    racer.join(5)
    assert outcome == {"second": 409}
    assert list(Deployment.objects.filter(slug="race").values_list("name", flat=True)) == ["A"]


@pytest.mark.django_db
def test_renaming_onto_a_taken_slug_is_a_conflict(workspace: Workspace) -> None:
    DeploymentFactory.create(workspace=workspace, slug="taken")
    other = DeploymentFactory.create(workspace=workspace, slug="other")
    with pytest.raises(Conflict):
        services.deployment_update(deployment=other, slug="taken")
    assert Deployment.objects.get(pk=other.pk).slug == "other"


@pytest.mark.django_db
def test_idempotency_keys_past_their_window_are_purged_and_recent_ones_kept(workspace: Workspace) -> None:
    key = services.api_key_create(workspace=workspace, user=None, name="k").key
    IdempotencyRecord.objects.create(api_key=key, key="old", body_hash="x")
    IdempotencyRecord.objects.create(api_key=key, key="new", body_hash="y")
    IdempotencyRecord.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=25))
    assert idempotency_records_purge_task() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]
    assert ApiKey.objects.filter(pk=key.pk).exists()
