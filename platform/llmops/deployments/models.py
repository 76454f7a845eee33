"""Deployments (a slug bound to a workflow or chain version or label), API keys and idempotency records."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from llmops.core.fields import EncryptedTextField


class DeploymentStatus(models.TextChoices):
    """Paused deployments refuse calls with 409."""

    ACTIVE = "active"
    PAUSED = "paused"


class Execution(models.TextChoices):
    """Where blocking and streaming calls execute; ``async`` calls always go to a worker."""

    AUTO = "auto", "Inline when small and fast, else a worker"
    INLINE = "inline", "Inside the web process"
    WORKER = "worker", "On a Celery worker"


class Scope(models.TextChoices):
    """What a key may do."""

    RUN = "run", "Start and cancel runs"
    READ = "read", "Read runs and list deployments"
    CHAT = "chat", "OpenAI-compatible chat completions"
    KNOWLEDGE = "knowledge", "Search the workspace's knowledge bases (Dify's external knowledge API) only"


# What a new key gets when no scopes are asked for; ``knowledge`` is only given on request.
ALL_SCOPES = [Scope.RUN.value, Scope.READ.value, Scope.CHAT.value]
KEY_SCOPES = [*ALL_SCOPES, Scope.KNOWLEDGE.value]


def _webhook_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


class Deployment(models.Model):
    """A public endpoint: ``slug`` runs a workflow or a chain at ``version`` (a number, ``latest`` or a label
    resolved at call time; each run records the version it resolved to)."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    slug = models.SlugField(max_length=100)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    workflow = models.ForeignKey(
        "studio.Workflow", null=True, blank=True, on_delete=models.CASCADE, related_name="deployments"
    )
    chain = models.ForeignKey(
        "chains.Chain", null=True, blank=True, on_delete=models.CASCADE, related_name="deployments"
    )
    version = models.CharField(
        max_length=63, default="latest", help_text="A version number, latest or a label"
    )
    status = models.CharField(max_length=8, choices=DeploymentStatus.choices, default=DeploymentStatus.ACTIVE)
    execution = models.CharField(max_length=8, choices=Execution.choices, default=Execution.AUTO)
    max_concurrent_runs = models.PositiveIntegerField(default=20, help_text="0: unlimited")
    webhook_url = models.URLField(max_length=500, blank=True, help_text="Default webhook of async runs")
    webhook_secret = EncryptedTextField(default=_webhook_secret)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "slug"], name="deployments_unique_slug"),
            models.CheckConstraint(
                condition=Q(workflow__isnull=False, chain__isnull=True)
                | Q(workflow__isnull=True, chain__isnull=False),
                name="deployments_one_target",
            ),
        ]

    def __str__(self) -> str:
        return self.slug

    @property
    def target_kind(self) -> str:
        """``workflow`` or ``chain``."""
        return "workflow" if self.workflow_id else "chain"

    @property
    def is_active(self) -> bool:
        """Whether calls are accepted."""
        return self.status == DeploymentStatus.ACTIVE


class ApiKey(models.Model):
    """A workspace's API key. Only ``prefix`` and an HMAC digest of the whole token are stored: the token is
    shown once, at creation. ``deployments`` empty means every deployment of the workspace."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    prefix = models.CharField(max_length=16, unique=True)
    digest = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    deployments = models.ManyToManyField(Deployment, blank=True, related_name="api_keys")
    all_deployments = models.BooleanField(default=True)
    requests_per_minute = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: the default")
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} (llm-{self.prefix}-...)"

    @property
    def is_expired(self) -> bool:
        """Whether the key's expiry has passed."""
        return self.expires_at is not None and self.expires_at <= timezone.now()


class IdempotencyRecord(models.Model):
    """An ``Idempotency-Key`` seen from one API key on one deployment: the body's hash and what it produced:
    the run it started (a workflow call) or the response body it answered (``result``, a chain call; empty
    while it runs). The same key sent to another deployment is another call. ``deployment`` is empty only on
    records written before keys were scoped per deployment (they expire within ``LLMOPS_IDEMPOTENCY_HOURS``)."""

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    deployment = models.ForeignKey(Deployment, null=True, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    body_hash = models.CharField(max_length=64)
    run = models.ForeignKey("runs.Run", null=True, on_delete=models.CASCADE, related_name="+")
    result = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["api_key", "deployment", "key"], name="deployments_idempotency_unique_per_deployment"
            )
        ]
        indexes = [models.Index(fields=["created_at"], name="deployments_idem_created")]  # the hourly purge

    def __str__(self) -> str:
        return self.key


class DeploymentRun(models.Model):
    """What a deployment run needs beyond ``Run``: the chat turn (query, history) and the webhook.

    Written only for runs that have either, so a plain blocking call costs no extra row.
    """

    run = models.OneToOneField("runs.Run", primary_key=True, on_delete=models.CASCADE, related_name="+")
    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="+")
    query = models.TextField(blank=True)
    history = models.JSONField(default=list, blank=True)
    conversation_id = models.CharField(max_length=100, blank=True)
    webhook_url = models.URLField(max_length=500, blank=True)

    def __str__(self) -> str:
        return str(self.run_id)
