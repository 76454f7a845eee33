"""Serializers of the model-endpoint API: credentials are write-only; responses show only a masked hint."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from rest_framework import serializers

from llmops.core.api.versioning import VersionedResourceSerializer
from llmops.providers.models import CatalogModel, ModelEndpoint, PriceChange
from llmops.providers.price_changes import catalogue_prices_now


class ModelEndpointSerializer(VersionedResourceSerializer):
    """An endpoint: its draft config, ``has_credentials`` and ``credentials_hint`` (never the secret)."""

    credentials = serializers.JSONField(
        write_only=True,
        required=False,
        allow_null=True,
        help_text='{"api_key": "...", "organization": "...", "headers": {...}}; null or {} clears them.',
    )
    has_credentials = serializers.BooleanField(read_only=True)

    class Meta(VersionedResourceSerializer.Meta):
        model = ModelEndpoint
        fields = [
            *VersionedResourceSerializer.Meta.fields,
            "credentials",
            "has_credentials",
            "credentials_hint",
        ]
        read_only_fields = [*VersionedResourceSerializer.Meta.read_only_fields, "credentials_hint"]


class ConnectionTestInputSerializer(serializers.Serializer[Any]):
    version = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text='A version number (3 or v3), "latest" or a label; empty or "draft": the draft.',
    )


class ConnectionTestSerializer(serializers.Serializer[Any]):
    ok = serializers.BooleanField()
    latency_ms = serializers.IntegerField()
    model = serializers.CharField()
    error = serializers.DictField(allow_null=True)


class PriceChangeSerializer(serializers.ModelSerializer[PriceChange]):
    """A dated price (read); written through :class:`PriceChangeInputSerializer`."""

    input = serializers.DecimalField(source="input_price", max_digits=12, decimal_places=4)
    output = serializers.DecimalField(source="output_price", max_digits=12, decimal_places=4)
    cached_input = serializers.DecimalField(
        source="cached_input_price", max_digits=12, decimal_places=4, allow_null=True
    )
    request = serializers.DecimalField(
        source="request_price", max_digits=12, decimal_places=4, allow_null=True
    )
    created_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    started = serializers.SerializerMethodField()

    class Meta:
        model = PriceChange
        fields = [
            "id", "effective_from", "input", "output", "cached_input", "request", "currency", "note", "started",
            "created_by", "created_at",
        ]  # fmt: skip

    def get_started(self, change: PriceChange) -> bool:
        return change.effective_from <= timezone.now()


class PriceChangeInputSerializer(serializers.Serializer[Any]):
    """Prices per 1M tokens (``request``: per 1,000 requests) from ``effective_from`` (default now) on."""

    effective_from = serializers.DateTimeField(required=False, allow_null=True)
    input = serializers.FloatField(required=False, min_value=0)
    output = serializers.FloatField(required=False, min_value=0)
    cached_input = serializers.FloatField(required=False, allow_null=True, min_value=0)
    request = serializers.FloatField(required=False, allow_null=True, min_value=0)
    currency = serializers.CharField(required=False, max_length=3)
    note = serializers.CharField(required=False, allow_blank=True, max_length=300)


class PricesInEffectSerializer(serializers.Serializer[Any]):
    """What calls are charged at now: the prices and where they come from (``origin``)."""

    prices = serializers.DictField()
    origin = serializers.ChoiceField(choices=["endpoint", "catalogue", "version"])
    since = serializers.DateTimeField(allow_null=True)
    changes = PriceChangeSerializer(many=True)


class CatalogModelSerializer(serializers.ModelSerializer[CatalogModel]):
    prices_now = serializers.SerializerMethodField(help_text="The list prices in effect now.")

    class Meta:
        model = CatalogModel
        fields = [
            "id",
            "provider_kind",
            "model",
            "display_name",
            "model_type",
            "context_window",
            "max_output_tokens",
            "input_price",
            "output_price",
            "cached_input_price",
            "request_price",
            "currency",
            "prices_now",
        ]

    def get_prices_now(self, entry: CatalogModel) -> dict[str, Any]:
        return catalogue_prices_now(entry)
