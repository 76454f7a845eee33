"""Admin pages for model endpoints (credentials never shown) and the editable model catalogue."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest

from llmops.core.admin import label_inline, version_inline
from llmops.providers.models import CatalogModel, ModelEndpoint, ModelEndpointLabel, ModelEndpointVersion
from llmops.providers.selectors import draft_origin


@admin.register(ModelEndpoint)
class ModelEndpointAdmin(admin.ModelAdmin[ModelEndpoint]):
    """Endpoints: the encrypted credentials column is excluded; only the masked hint is displayed."""

    list_display = ["slug", "name", "workspace", "provider", "model_name", "latest_version_number", "has_key"]
    list_filter = ["workspace"]
    search_fields = ["slug", "name", "description"]
    exclude = ["credentials"]
    readonly_fields = [
        "credentials_hint",
        "credentials_origin",
        "latest_version_number",
        "created_at",
        "updated_at",
    ]
    list_select_related = ["workspace"]
    inlines = [version_inline(ModelEndpointVersion), label_inline(ModelEndpointLabel)]

    def save_model(self, request: HttpRequest, obj: ModelEndpoint, form: Any, change: bool) -> None:
        """A draft moved to another scheme, host or port loses its credentials (they were given for the old
        host, and this page cannot take new ones)."""
        if change:
            stored = ModelEndpoint.objects.filter(pk=obj.pk).values_list("draft", flat=True).first()
            if obj.credentials and draft_origin(stored) != draft_origin(obj.draft):
                obj.credentials, obj.credentials_hint, obj.credentials_origin = None, "", ""
                messages.warning(
                    request, "The endpoint's host changed: its credentials were cleared; set new ones."
                )
        super().save_model(request, obj, form, change)

    @admin.display(description="provider")
    def provider(self, obj: ModelEndpoint) -> str:
        return str(obj.draft.get("provider_kind", ""))

    @admin.display(description="model")
    def model_name(self, obj: ModelEndpoint) -> str:
        return str(obj.draft.get("model", ""))

    @admin.display(boolean=True, description="credentials")
    def has_key(self, obj: ModelEndpoint) -> bool:
        return bool(obj.credentials_hint)


@admin.register(CatalogModel)
class CatalogModelAdmin(admin.ModelAdmin[CatalogModel]):
    """The model catalogue: context windows and list prices (per token, per request) new endpoints start
    from."""

    list_display = [
        "model",
        "provider_kind",
        "model_type",
        "context_window",
        "input_price",
        "output_price",
        "cached_input_price",
        "request_price",
        "currency",
        "is_active",
    ]
    list_filter = ["provider_kind", "model_type", "currency", "is_active"]
    list_editable = ["input_price", "output_price", "cached_input_price", "request_price", "is_active"]
    search_fields = ["model", "display_name"]
