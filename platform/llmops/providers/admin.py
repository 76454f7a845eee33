"""Admin pages for model endpoints (credentials never shown) and the editable model catalogue."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils import timezone
from pydantic import ValidationError as PydanticValidationError

from llmops.core.admin import label_inline, version_inline
from llmops.providers.models import (
    CatalogModel,
    ModelEndpoint,
    ModelEndpointLabel,
    ModelEndpointVersion,
    PriceChange,
)
from llmops.providers.price_changes import PAST_TOLERANCE, price_book_forget
from llmops.providers.schemas import Prices
from llmops.providers.selectors import draft_origin
from llmops.usage.currencies import CURRENCIES


class PriceChangeForm(forms.ModelForm[PriceChange]):
    """A new dated price: it cannot start in the past (recorded costs are never rewritten)."""

    class Meta:
        model = PriceChange
        fields = [
            "effective_from", "input_price", "output_price", "cached_input_price", "request_price", "currency",
            "note",
        ]  # fmt: skip

    def clean(self) -> dict[str, Any]:
        """The prices as the API checks them (range, currency): a row the price book cannot read is refused."""
        data = super().clean() or {}
        currency = str(data.get("currency") or "").upper()
        values = {
            "input": data.get("input_price") or 0, "output": data.get("output_price") or 0,
            "cached_input": data.get("cached_input_price"), "request": data.get("request_price"),
            "currency": currency,
        }  # fmt: skip
        try:
            Prices(**{k: float(v) if isinstance(v, Decimal) else v for k, v in values.items()})
        except PydanticValidationError as exc:
            first = exc.errors()[0]
            raise forms.ValidationError(f"Invalid prices: {first['loc'][0]}: {first['msg']}") from None
        if currency not in CURRENCIES:
            raise forms.ValidationError("Currency: an ISO 4217 code such as USD, CNY or EUR.")
        data["currency"] = currency
        return data

    def clean_effective_from(self) -> Any:
        moment = self.cleaned_data["effective_from"]
        if moment < timezone.now() - PAST_TOLERANCE:
            raise forms.ValidationError("Cannot be in the past: recorded costs are never rewritten.")
        return moment


class PriceChangeInline(admin.TabularInline[PriceChange, Any]):
    """Dated prices: new ones are added here; stored ones are read-only (a started one priced calls; a
    scheduled one is withdrawn through the API)."""

    model = PriceChange
    form = PriceChangeForm
    extra = 0
    can_delete = False
    fk_name: str | None = None

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class CatalogPriceChangeInline(PriceChangeInline):
    fk_name = "catalog_model"


class EndpointPriceChangeInline(PriceChangeInline):
    fk_name = "endpoint"


class _PricedAdmin(admin.ModelAdmin[Any]):
    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        for instance in formset.save(commit=False):
            if isinstance(instance, PriceChange) and instance.created_by_id is None:
                instance.created_by_id = request.user.pk
            instance.save()
        formset.save_m2m()
        price_book_forget()


@admin.register(ModelEndpoint)
class ModelEndpointAdmin(_PricedAdmin):
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
    inlines = [
        version_inline(ModelEndpointVersion),
        label_inline(ModelEndpointLabel),
        EndpointPriceChangeInline,
    ]

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
class CatalogModelAdmin(_PricedAdmin):
    """The model catalogue: context windows and list prices (per token, per request) new endpoints start
    from, and their dated changes."""

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
    list_editable = ["is_active"]
    search_fields = ["model", "display_name"]
    inlines = [CatalogPriceChangeInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        """A stored entry's list prices change through dated price changes (below), never in place: endpoints
        that kept the list prices are recognised by them."""
        if obj is None:
            return []
        return ["input_price", "output_price", "cached_input_price", "request_price", "currency"]
