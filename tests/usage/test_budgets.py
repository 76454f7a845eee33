"""Budgets: every scope blocked at its cap before the call, each key counted apart, soft thresholds once per
period, the period resets, Redis losing its counters loses no spend, the public API's 429 and the API's
validation, roles and tenants."""

from __future__ import annotations

import asyncio
import json
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.test import override_settings

from llmops.accounts.events import workspace_group
from llmops.accounts.models import Role, User, Workspace
from llmops.deployments.models import ApiKey
from llmops.deployments.webhooks import webhook_signature
from llmops.providers.gateway import PlatformModelGateway
from llmops.usage import budgets
from llmops.usage.budgets import BudgetExceeded, CallScope, budget_arecord, budget_check, period_bounds
from llmops.usage.models import Budget, BudgetAlert, UsageRecord, UsageSettings
from llmops.usage.tasks import budget_alert_deliver
from tests.accounts.factories import MembershipFactory, UserFactory, WorkspaceFactory
from tests.conftest import client_for
from tests.deployments.factories import api_key, deployment_of
from tests.deployments.test_instant_runs import bearer
from tests.studio.factories import published_workflow
from tests.usage.factories import UsageRecordFactory
from workflows import CallContext, ChatMessage, ChatRequest

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_counters() -> Any:
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    for key in client.scan_iter("llmops:budget:*"):
        client.delete(key)
    budgets._cache.clear()
    yield
    budgets._cache.clear()


def budget(workspace: Workspace, **fields: Any) -> Budget:
    defaults = {"name": "cap", "scope": "workspace", "period": "day", "cap": Decimal("1.00")}
    made = Budget.objects.create(workspace=workspace, **{**defaults, **fields})
    budgets.budgets_forget(workspace.pk)
    return made


def spend(scope: CallScope, cost: str, currency: str = "USD", tokens: int = 100) -> None:
    """A finished call: its ledger row, then the counters (as the gateway does after each call)."""
    UsageRecordFactory.create(
        workspace_id=scope.workspace_id, deployment_id=scope.deployment_id, api_key_id=scope.api_key_id,
        end_user=scope.end_user, cost=Decimal(cost), currency=currency, prompt_tokens=tokens, completion_tokens=0,
    )  # fmt: skip
    async_to_sync(budget_arecord)(scope, cost=Decimal(cost), currency=currency, tokens=tokens)


@pytest.mark.parametrize(
    ("fields", "blocked", "free"),
    [
        ({"scope": "workspace"}, CallScope(0, "1", "7", "ann"), None),
        (
            {"scope": "deployment", "scope_key": "1"},
            CallScope(0, "1", "7", "ann"),
            CallScope(0, "2", "7", "ann"),
        ),
        ({"scope": "api_key", "scope_key": ""}, CallScope(0, "1", "7", "ann"), CallScope(0, "1", "8", "ann")),
        ({"scope": "end_user", "scope_key": ""}, CallScope(0, "1", "7", "ann"), CallScope(0, "1", "7", "bo")),
    ],
)
def test_every_scope_is_blocked_at_its_cap_and_other_keys_are_not(
    fields: dict[str, str], blocked: CallScope, free: CallScope | None, workspace: Workspace
) -> None:
    blocked = CallScope(workspace.pk, blocked.deployment_id, blocked.api_key_id, blocked.end_user)
    made = budget(workspace, **fields)
    spend(blocked, "0.60")
    budget_check(blocked)  # 0.60 of 1.00: allowed
    spend(blocked, "0.40")
    with pytest.raises(BudgetExceeded) as caught:
        budget_check(blocked)
    assert caught.value.code == "budget_exceeded" and caught.value.status == 429
    assert "'cap'" in caught.value.message and "resets at" in caught.value.message
    assert caught.value.resets_at == period_bounds(made.period)[1]
    if free is not None:  # another deployment / key / end user has its own counter
        budget_check(CallScope(workspace.pk, free.deployment_id, free.api_key_id, free.end_user))


def test_a_token_budget_and_a_currency_conversion(workspace: Workspace) -> None:
    scope = CallScope(workspace.pk)
    budget(workspace, name="tokens", metric="tokens", cap=Decimal(1000))
    budget(workspace, name="yuan", cap=Decimal("10"), currency="CNY")
    UsageSettings.objects.create(workspace=workspace, currency="USD", rates={"CNY": "0.14"})
    spend(scope, "1.00", "USD", tokens=400)  # 1 USD = 7.14 CNY
    budget_check(scope)
    spend(scope, "0.50", "USD", tokens=400)  # 10.71 CNY: the yuan budget is spent
    with pytest.raises(BudgetExceeded) as caught:
        budget_check(scope)
    assert "'yuan'" in caught.value.message


def test_soft_thresholds_alert_once_per_period(workspace: Workspace) -> None:
    scope = CallScope(workspace.pk)
    made = budget(workspace, cap=Decimal("10"), thresholds=[50, 80, 100])
    for _ in range(12):
        spend(scope, "1.00")
    alerts = list(
        BudgetAlert.objects.filter(budget=made).values_list("threshold", flat=True).order_by("threshold")
    )
    assert alerts == [50, 80, 100]
    assert {a.period_start for a in BudgetAlert.objects.filter(budget=made)} == {period_bounds("day")[0]}


class _Hooks(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:
        _Hooks.received.append((dict(self.headers), self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@override_settings(LLMOPS_WEBHOOK_ALLOWLIST=["127.0.0.1"])
def test_each_threshold_calls_the_signed_webhook_and_tells_the_console_once_per_period(
    workspace: Workspace, django_capture_on_commit_callbacks: Any
) -> None:
    server = HTTPServer(("127.0.0.1", 0), _Hooks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Hooks.received = []
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(workspace_group(workspace.pk), channel)
    made = budget(workspace, name="月度", cap=Decimal("10"), thresholds=[50, 100],
                  webhook_url=f"http://127.0.0.1:{server.server_port}/hook", webhook_secret="s3cret")  # fmt: skip
    try:
        with django_capture_on_commit_callbacks(execute=True):
            for _ in range(12):  # crosses 50 % at 5, 100 % at 10, and stays over
                spend(CallScope(workspace.pk), "1.00")
        for alert in BudgetAlert.objects.filter(budget=made).order_by("threshold"):
            budget_alert_deliver.apply(args=(alert.pk,))  # what the worker runs for the enqueued task
    finally:
        server.shutdown()
    bodies = [json.loads(body) for _headers, body in _Hooks.received]
    assert [(b["threshold"], b["budget"], b["event"]) for b in bodies] == [
        (50, "月度", "budget.threshold"), (100, "月度", "budget.threshold"),
    ]  # fmt: skip
    for headers, body in _Hooks.received:
        assert headers["X-LLMOps-Signature"] == webhook_signature("s3cret", body)
    assert all(a.delivered_at for a in BudgetAlert.objects.filter(budget=made))
    events = []
    while True:
        try:
            events.append(async_to_sync(asyncio.wait_for)(layer.receive(channel), 0.5)["event"])
        except TimeoutError:
            break
    assert [(e["type"], e["threshold"], Decimal(e["spent"])) for e in events] == [
        ("budget.threshold", 50, Decimal(5)), ("budget.threshold", 100, Decimal(10)),
    ]  # fmt: skip


def test_the_period_resets(workspace: Workspace) -> None:
    scope = CallScope(workspace.pk)
    budget(workspace, cap=Decimal("1"))
    spend(scope, "2.00")
    with pytest.raises(BudgetExceeded):
        budget_check(scope)
    # the spend was yesterday: today's counter starts from the ledger, which has nothing today
    UsageRecord.objects.update(created_at=datetime.now(UTC) - timedelta(days=1, hours=1))
    budgets._cache.clear()
    import redis

    for key in redis.Redis.from_url(settings.REDIS_URL).scan_iter("llmops:budget:*"):
        redis.Redis.from_url(settings.REDIS_URL).delete(key)
    budget_check(scope)
    start, end = period_bounds("month", datetime(2026, 12, 31, 23, 0, tzinfo=UTC))
    assert (start, end) == (datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))


def test_counters_lost_by_redis_are_rebuilt_from_the_ledger(workspace: Workspace) -> None:
    import redis

    scope = CallScope(workspace.pk, end_user="ann")
    budget(workspace, scope="end_user", cap=Decimal("1"))
    spend(scope, "1.50")
    client = redis.Redis.from_url(settings.REDIS_URL)
    for key in client.scan_iter("llmops:budget:*"):
        client.delete(key)  # a Redis restart without persistence
    with pytest.raises(BudgetExceeded):
        budget_check(scope)  # rebuilt from the ledger
    for key in client.scan_iter("llmops:budget:*"):
        client.set(key, "0")  # drift
    assert budgets.budgets_reconcile() == 1
    with pytest.raises(BudgetExceeded):
        budget_check(scope)


def test_a_model_call_over_budget_fails_before_reaching_the_provider(workspace: Workspace) -> None:
    budget(workspace, name="team cap", cap=Decimal("0.01"))
    spend(CallScope(workspace.pk), "0.02")
    gateway = PlatformModelGateway(workspace=workspace, source="run", run_id="r1")
    request = ChatRequest(
        model="no-such-endpoint",
        messages=(ChatMessage(role="user", content="hi"),),
        context=CallContext("r1", "n"),
    )
    with pytest.raises(BudgetExceeded) as caught:  # not NotFound: nothing is resolved or sent
        async_to_sync(gateway.chat)(request)
    assert "team cap" in caught.value.message


def test_the_public_api_answers_429_budget_exceeded_with_the_reset(workspace: Workspace) -> None:
    deployment = deployment_of(published_workflow(workspace=workspace), slug="greet")
    token = api_key(workspace)
    key = ApiKey.objects.get(workspace=workspace)
    budget(workspace, scope="api_key", scope_key=str(key.pk), cap=Decimal("0.10"))
    ok = bearer(token).post("/v1/workflows/greet/run", {"inputs": {"name": "Ada"}}, format="json")
    assert ok.status_code == 200
    spend(CallScope(workspace.pk, str(deployment.pk), str(key.pk)), "0.20")
    refused = bearer(token).post("/v1/workflows/greet/run", {"inputs": {"name": "Ada"}}, format="json")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "budget_exceeded"
    assert int(refused["Retry-After"]) >= 1 and "resets at" in refused.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"cap": "-5"}, "cap"),
        ({"cap": "0"}, "cap"),
        ({"currency": "XYZ"}, "currency"),
        ({"thresholds": [0, 150]}, "thresholds"),
        ({"scope": "planet"}, "scope"),
        ({"period": "week"}, "period"),
        ({"scope": "workspace", "scope_key": "x"}, "scope_key"),
        ({"webhook_url": "http://169.254.169.254/latest"}, "webhook_url"),
    ],
)
def test_bad_budgets_are_refused_with_their_field(
    body: dict[str, Any], field: str, workspace: Workspace, owner: User
) -> None:
    valid = {"name": "cap", "scope": "workspace", "period": "day", "cap": "5", "currency": "USD"}
    response = client_for(owner).post("/api/workspaces/acme/budgets/", {**valid, **body}, format="json")
    assert response.status_code == 400, response.json()
    assert any(name == field or name.startswith(field) for name in response.json()["error"]["fields"])
    assert not Budget.objects.exists()


def test_budgets_api_shows_consumption_and_only_admins_write(workspace: Workspace, owner: User) -> None:
    client = client_for(owner)
    created = client.post(
        "/api/workspaces/acme/budgets/",
        {"name": "per user", "scope": "end_user", "period": "month", "cap": "2", "webhook_secret": "s3cret"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert "webhook_secret" not in created.json()
    spend(CallScope(workspace.pk, end_user="ann"), "1.00")
    listed = client.get("/api/workspaces/acme/budgets/").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert rows[0]["status"]["spent"] == {"ann": "1.000000"} and rows[0]["status"]["used_fraction"] == 0.5
    editor = MembershipFactory.create(workspace=workspace, user=UserFactory.create(), role=Role.EDITOR).user
    assert client_for(editor).get("/api/workspaces/acme/budgets/").status_code == 200
    assert client_for(editor).post("/api/workspaces/acme/budgets/", {}, format="json").status_code == 403
    stranger = MembershipFactory.create(workspace=WorkspaceFactory.create(slug="other"), role=Role.OWNER).user
    assert client_for(stranger).get(f"/api/workspaces/acme/budgets/{rows[0]['id']}/").status_code == 404


def test_the_admin_shows_budgets_with_their_consumption_and_the_rollups(
    workspace: Workspace, client: Any
) -> None:
    from llmops.usage.rollups import usage_rollup

    staff = UserFactory.create(is_staff=True, is_superuser=True)
    made = budget(workspace, name="team cap", cap=Decimal("4"))
    spend(CallScope(workspace.pk), "1.00")
    usage_rollup()
    client.force_login(staff)
    listing = client.get("/admin/usage/budget/")
    assert (
        listing.status_code == 200
        and "team cap" in listing.content.decode()
        and "25%" in listing.content.decode()
    )
    page = client.get(f"/admin/usage/budget/{made.pk}/change/")
    assert page.status_code == 200 and "webhook_secret" not in page.content.decode()
    rollups = client.get("/admin/usage/usagerollup/")
    assert rollups.status_code == 200 and "total" in rollups.content.decode()
