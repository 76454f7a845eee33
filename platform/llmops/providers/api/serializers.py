"""Serializers of the model-endpoint API: credentials are write-only; responses show only a masked hint."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from llmops.core.api.versioning import VersionedResourceSerializer
from llmops.providers.models import CatalogModel, ModelEndpoint


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


class CatalogModelSerializer(serializers.ModelSerializer[CatalogModel]):
    class Meta:
        model = CatalogModel
        fields = [
            "provider_kind",
            "model",
            "display_name",
            "model_type",
            "context_window",
            "max_output_tokens",
            "input_price",
            "output_price",
            "cached_input_price",
            "currency",
        ]
