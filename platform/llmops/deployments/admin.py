"""Admin pages: deployments and keys (digests are never shown; keys are revoked, not edited)."""

from __future__ import annotations

from typing import Any, TypeVar

from django.contrib import admin
from django.db import models
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from llmops.deployments import services
from llmops.deployments.models import ApiKey, Deployment, DeploymentRun, IdempotencyRecord

M = TypeVar("M", bound=models.Model)


@admin.register(Deployment)
class DeploymentAdmin(admin.ModelAdmin[Deployment]):
    list_display = [
        "slug",
        "workspace",
        "workflow",
        "chain",
        "version",
        "status",
        "execution",
        "max_concurrent_runs",
    ]
    list_filter = ["status", "execution"]
    search_fields = ["slug", "name"]
    exclude = ["webhook_secret"]
    raw_id_fields = ["workflow", "chain", "created_by"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    readonly_fields = ["usage_dashboard"]

    @admin.display(description="usage")
    def usage_dashboard(self, deployment: Deployment) -> str:
        if deployment.pk is None:
            return "-"
        url = reverse("admin:usage_usagerollup_dashboard_deployment", args=[deployment.pk])
        return format_html('<a href="{}">Usage dashboard 用量看板</a>', url)


@admin.action(description="Revoke the selected keys")
def revoke_keys(modeladmin: Any, request: HttpRequest, queryset: Any) -> None:
    for key in queryset:
        services.api_key_revoke(key=key)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin[ApiKey]):
    list_display = ["name", "prefix", "workspace", "scopes", "expires_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix"]
    readonly_fields = ["prefix", "digest", "last_used_at", "revoked_at", "created_at"]
    filter_horizontal = ["deployments"]
    actions = [revoke_keys]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a key is created through the console API, which shows its token once


class _ReadOnlyAdmin(admin.ModelAdmin[M]):
    """Records written by the public API: viewable, never edited by hand."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(_ReadOnlyAdmin[IdempotencyRecord]):
    list_display = ["key", "api_key", "run", "created_at"]
    search_fields = ["key", "api_key__prefix"]
    list_select_related = ["api_key", "run"]


@admin.register(DeploymentRun)
class DeploymentRunAdmin(_ReadOnlyAdmin[DeploymentRun]):
    list_display = ["run", "deployment", "conversation_id", "webhook_url"]
    list_filter = ["deployment"]
    search_fields = ["conversation_id", "run__id"]
    list_select_related = ["run", "deployment"]
