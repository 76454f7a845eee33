"""The usage ledger: one row per model call (failed attempts included) with tokens, latency, TTFT and cost."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models

from llmops.core.fields import EncryptedTextField


class UsageSource(models.TextChoices):
    """What made the call."""

    PLAYGROUND = "playground", "Playground"
    RUN = "run", "Workflow or chain run"
    EVALUATION = "evaluation", "Evaluation"
    API = "api", "Published API"
    TEST_CONNECTION = "test_connection", "Connection test"
    INGEST = "ingest", "Knowledge ingestion"
    DEBUG = "debug", "Debug run on the canvas"


class UsageOperation(models.TextChoices):
    """What kind of model call it was."""

    CHAT = "chat", "Chat"
    STREAM = "stream", "Streamed chat"
    EMBED = "embed", "Embedding"
    RERANK = "rerank", "Rerank"
    MODERATION = "moderation", "Moderation"


class UsageStatus(models.TextChoices):
    """Whether the call succeeded."""

    OK = "ok", "OK"
    ERROR = "error", "Error"


class UsageRecord(models.Model):
    """One model call. Cost is computed from the endpoint version's prices at call time and never recomputed.

    ``run_id``, ``node_id``, ``deployment_id`` and ``api_key_id`` are plain indexed strings: the models they
    point at live in other apps (and may be deleted while the ledger stays).
    """

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    endpoint = models.ForeignKey(
        "providers.ModelEndpoint", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    endpoint_slug = models.CharField(max_length=100, blank=True)
    endpoint_version = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: the draft.")
    model_name = models.CharField(max_length=200)
    provider_kind = models.CharField(max_length=32)
    operation = models.CharField(max_length=16, choices=UsageOperation.choices, default=UsageOperation.CHAT)
    source = models.CharField(max_length=20, choices=UsageSource.choices)
    run_id = models.CharField(max_length=64, blank=True, db_index=True)
    node_id = models.CharField(max_length=128, blank=True)
    deployment_id = models.CharField(max_length=64, blank=True, db_index=True)
    api_key_id = models.CharField(max_length=64, blank=True, db_index=True)
    end_user = models.CharField(max_length=200, blank=True)
    attempt = models.PositiveSmallIntegerField(default=1)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    cached_tokens = models.PositiveIntegerField(default=0)
    latency_ms = models.PositiveIntegerField(default=0)
    ttft_ms = models.PositiveIntegerField(null=True, blank=True)
    cost = models.DecimalField(max_digits=20, decimal_places=10, default=0)
    currency = models.CharField(max_length=3, default="USD")
    status = models.CharField(max_length=8, choices=UsageStatus.choices, default=UsageStatus.OK)
    error_type = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Counted into the rollups yet (the beat task takes rows still false, late ones included).
    rolled_up = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["workspace", "created_at"], name="usage_ws_created"),
            models.Index(fields=["workspace", "endpoint", "created_at"], name="usage_ws_endpoint_created"),
            models.Index(fields=["id"], name="usage_not_rolled_up", condition=models.Q(rolled_up=False)),
        ]

    def __str__(self) -> str:
        return f"{self.endpoint_slug or self.model_name} {self.status} {self.created_at:%Y-%m-%d %H:%M:%S}"

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens


class Granularity(models.TextChoices):
    """The width of a rollup bucket."""

    HOUR = "hour", "Hour"
    DAY = "day", "Day"


class Dimension(models.TextChoices):
    """What a rollup row is keyed by (``total``: the whole workspace, key empty)."""

    TOTAL = "total", "Workspace total"
    DEPLOYMENT = "deployment", "Deployment"
    WORKFLOW = "workflow", "Workflow"
    ENDPOINT = "endpoint", "Model endpoint"
    MODEL = "model", "Model"
    API_KEY = "api_key", "API key"
    END_USER = "end_user", "End user"
    SOURCE = "source", "Source"


class UsageRollup(models.Model):
    """The ledger summed per time bucket and one dimension's key, per currency: what dashboards read.

    Latency and time to first token are kept as histograms over fixed log-spaced bounds
    (:mod:`llmops.usage.histograms`), so percentiles of any set of buckets merge exactly as the histograms do.
    """

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    granularity = models.CharField(max_length=4, choices=Granularity.choices)
    bucket = models.DateTimeField()
    dimension = models.CharField(max_length=12, choices=Dimension.choices)
    key = models.CharField(max_length=200, blank=True)
    currency = models.CharField(max_length=3)
    requests = models.BigIntegerField(default=0)
    errors = models.BigIntegerField(default=0)
    prompt_tokens = models.BigIntegerField(default=0)
    completion_tokens = models.BigIntegerField(default=0)
    cached_tokens = models.BigIntegerField(default=0)
    cost = models.DecimalField(max_digits=24, decimal_places=10, default=0)
    latency_ms_sum = models.BigIntegerField(default=0)
    latency_hist = ArrayField(models.IntegerField(), default=list)
    ttft_count = models.BigIntegerField(default=0)
    ttft_hist = ArrayField(models.IntegerField(), default=list)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "granularity", "dimension", "bucket", "key", "currency"],
                name="usage_rollup_unique_cell",
            )
        ]
        indexes = [
            # The top-N tables read daily cells by dimension and range: answered from this index alone
            # (an index-only scan) instead of the table's rows with their histograms.
            models.Index(
                fields=["workspace", "dimension", "bucket"],
                include=[
                    "key",
                    "currency",
                    "cost",
                    "requests",
                    "errors",
                    "prompt_tokens",
                    "completion_tokens",
                ],
                condition=models.Q(granularity="day"),
                name="usage_rollup_top",
            )
        ]

    def __str__(self) -> str:
        return f"{self.dimension}={self.key} {self.granularity} {self.bucket:%Y-%m-%d %H:00}"


class RunDimension(models.TextChoices):
    """What a run rollup row is keyed by (``total``: the whole workspace, key empty)."""

    TOTAL = "total", "Workspace total"
    WORKFLOW = "workflow", "Workflow"
    DEPLOYMENT = "deployment", "Deployment"


class RunRollup(models.Model):
    """Finished runs (debug runs aside) per time bucket of their start and one dimension's key: how many,
    how many failed or were cancelled, and their durations as a mergeable histogram (:mod:`histograms`)."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    granularity = models.CharField(max_length=4, choices=Granularity.choices)
    bucket = models.DateTimeField()
    dimension = models.CharField(max_length=12, choices=RunDimension.choices)
    key = models.CharField(max_length=200, blank=True)
    runs = models.BigIntegerField(default=0)
    failures = models.BigIntegerField(default=0)
    cancelled = models.BigIntegerField(default=0)
    duration_count = models.BigIntegerField(default=0)
    duration_ms_sum = models.BigIntegerField(default=0)
    duration_hist = ArrayField(models.IntegerField(), default=list)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "granularity", "dimension", "bucket", "key"],
                name="usage_run_rollup_unique_cell",
            )
        ]

    def __str__(self) -> str:
        return f"runs {self.dimension}={self.key} {self.granularity} {self.bucket:%Y-%m-%d %H:00}"


class UsageSettings(models.Model):
    """A workspace's reporting currency and the rates that convert other currencies into it."""

    workspace = models.OneToOneField("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    currency = models.CharField(max_length=3, default="USD")
    # {"CNY": "0.138"}: one unit of CNY is worth 0.138 of ``currency``.
    rates = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"usage settings ({self.currency})"


class BudgetScope(models.TextChoices):
    """What a budget caps: the whole workspace, or each (or one) deployment, API key or end user."""

    WORKSPACE = "workspace", "Workspace"
    DEPLOYMENT = "deployment", "Deployment"
    API_KEY = "api_key", "API key"
    END_USER = "end_user", "End user"


class BudgetPeriod(models.TextChoices):
    """The period a budget's spend is counted over (calendar, UTC)."""

    DAY = "day", "Day"
    MONTH = "month", "Month"


class BudgetMetric(models.TextChoices):
    """What a budget counts: money (in its currency) or tokens (prompt plus completion)."""

    COST = "cost", "Cost"
    TOKENS = "tokens", "Tokens"


def default_thresholds() -> list[int]:
    """Soft thresholds, in percent of the cap."""
    return [50, 80, 100]


class Budget(models.Model):
    """A cap on spend per period, enforced before each model call; soft thresholds alert once per period.

    ``scope_key`` names one deployment id, API key id or end user; empty means **each** of them (every end
    user has their own counter against the same cap). A workspace budget has no key.
    """

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    scope = models.CharField(max_length=12, choices=BudgetScope.choices)
    scope_key = models.CharField(max_length=200, blank=True)
    period = models.CharField(max_length=8, choices=BudgetPeriod.choices)
    metric = models.CharField(max_length=8, choices=BudgetMetric.choices, default=BudgetMetric.COST)
    cap = models.DecimalField(max_digits=20, decimal_places=6)
    currency = models.CharField(max_length=3, default="USD")
    thresholds = models.JSONField(default=default_thresholds)
    webhook_url = models.URLField(max_length=500, blank=True)
    webhook_secret = EncryptedTextField(blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["workspace", "is_active"], name="budget_ws_active")]

    def __str__(self) -> str:
        return self.name


class BudgetAlert(models.Model):
    """A soft threshold a budget's counter crossed in one period (for one key): recorded once, so it alerts
    once; ``delivered_at`` is set when its webhook answered 2xx."""

    budget = models.ForeignKey(Budget, on_delete=models.CASCADE, related_name="alerts")
    period_start = models.DateTimeField()
    scope_value = models.CharField(max_length=200, blank=True)
    threshold = models.PositiveSmallIntegerField()
    spent = models.DecimalField(max_digits=24, decimal_places=6)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    delivery_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["budget", "period_start", "scope_value", "threshold"], name="budget_alert_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.budget} {self.threshold}%"
