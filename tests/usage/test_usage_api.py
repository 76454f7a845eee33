"""The read-only usage API: tenant isolation, filters, and the summary's totals and breakdowns."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from llmops.accounts.models import Role, User, Workspace
from llmops.usage.models import UsageRecord
from tests.accounts.factories import MembershipFactory, UserFactory
from tests.conftest import client_for
from tests.usage.factories import UsageRecordFactory

pytestmark = pytest.mark.django_db

RECORDS = "/api/workspaces/acme/usage/records/"
SUMMARY = "/api/workspaces/acme/usage/summary/"


def _at(record: UsageRecord, when: str) -> None:
    UsageRecord.objects.filter(pk=record.pk).update(
        created_at=datetime.fromisoformat(when).replace(tzinfo=UTC)
    )


@pytest.fixture
def ledger(workspace: Workspace, outsider: User) -> None:
    """Three rows in acme on two days, and one in the outsider's workspace."""
    _at(
        UsageRecordFactory.create(workspace=workspace, endpoint_slug="gpt", run_id="run-1"),
        "2026-11-01T10:00",
    )
    _at(
        UsageRecordFactory.create(
            workspace=workspace, endpoint_slug="gpt", source="run", cost=Decimal("0.5"), status="error",
            error_type="timeout", prompt_tokens=0, completion_tokens=0,
        ),
        "2026-11-02T09:00",
    )  # fmt: skip
    _at(
        UsageRecordFactory.create(workspace=workspace, endpoint_slug="local", model_name="gemma"),
        "2026-11-02T11:00",
    )
    UsageRecordFactory.create(workspace=Workspace.objects.get(slug="other"), endpoint_slug="secret-endpoint")


@pytest.mark.parametrize(
    ("persona", "expected"), [("owner", 200), ("member", 200), ("viewer", 200), ("outsider", 404)]
)
def test_usage_is_visible_to_members_only(
    ledger: None, workspace: Workspace, owner: User, member: User, outsider: User, persona: str, expected: int
) -> None:
    user = {"owner": owner, "member": member, "outsider": outsider}.get(persona)
    if user is None:
        user = MembershipFactory.create(
            workspace=workspace, user=UserFactory.create(username="vera"), role=Role.VIEWER
        ).user
    client = client_for(user)
    records, summary = client.get(RECORDS), client.get(SUMMARY)
    assert (records.status_code, summary.status_code) == (expected, expected)
    if expected == 200:
        assert {row["endpoint_slug"] for row in records.json()["results"]} == {"gpt", "local"}
        assert "secret-endpoint" not in summary.content.decode()


def test_anonymous_callers_are_unauthenticated(ledger: None) -> None:
    assert APIClient().get(RECORDS).status_code == 401
    assert APIClient().get(SUMMARY).status_code == 401


def test_usage_is_read_only(ledger: None, owner: User) -> None:
    assert client_for(owner).post(RECORDS, {}, format="json").status_code == 405


@pytest.mark.parametrize(
    ("query", "count"),
    [
        ("", 3),
        ("?from=2026-11-02", 2),
        ("?from=2026-11-01&to=2026-11-02", 1),
        ("?to=2026-11-02T10:00:00Z", 2),
        ("?endpoint=local", 1),
        ("?source=run", 1),
        ("?run_id=run-1", 1),
        ("?status=error", 1),
    ],
)
def test_records_can_be_filtered(ledger: None, owner: User, query: str, count: int) -> None:
    response = client_for(owner).get(RECORDS + query)
    assert response.status_code == 200
    assert response.json()["count"] == count


@pytest.mark.parametrize(("query", "field"), [
    ("?from=yesterday", "from"), ("?source=cron", "source"),
    ("?from=0001-01-01T00:00%2B23:59", "from"),  # in UTC: before the calendar begins
    ("?to=9999-12-31T23:59-23:59", "to"),  # in UTC: after the calendar ends
])  # fmt: skip
def test_a_malformed_filter_is_a_400_naming_it(ledger: None, owner: User, query: str, field: str) -> None:
    for url in (RECORDS, SUMMARY):
        response = client_for(owner).get(url + query)
        assert response.status_code == 400 and field in response.json()["error"]["fields"], response.content


def test_dates_at_the_ends_of_the_calendar_with_an_offset_are_accepted(ledger: None, owner: User) -> None:
    client = client_for(owner)
    for query in ("?from=0001-01-01T00:00-23:59", "?to=9999-12-31T23:59%2B23:59"):
        response = client.get(RECORDS + query)
        assert response.status_code == 200 and response.json()["count"] == 3, response.content


def test_summary_totals_and_breaks_down_by_day_endpoint_model_and_source(ledger: None, owner: User) -> None:
    # when
    body: dict[str, Any] = client_for(owner).get(SUMMARY + "?from=2026-11-01&to=2026-11-03").json()
    # then
    (totals,) = body["totals"]
    assert totals["calls"] == 3 and totals["errors"] == 1
    assert totals["prompt_tokens"] == 200 and totals["completion_tokens"] == 40
    assert Decimal(totals["cost"]) == Decimal("0.500054")
    assert [(row["day"], row["calls"]) for row in body["by_day"]] == [("2026-11-01", 1), ("2026-11-02", 2)]
    assert {row["endpoint_slug"]: row["calls"] for row in body["by_endpoint"]} == {"gpt": 2, "local": 1}
    assert {row["model_name"]: row["calls"] for row in body["by_model"]} == {"gpt-4o-mini": 2, "gemma": 1}
    assert {row["source"]: row["calls"] for row in body["by_source"]} == {"playground": 2, "run": 1}
