"""Serializers of the read-only usage API."""

from __future__ import annotations

from rest_framework import serializers

from llmops.usage.models import UsageRecord


class UsageRecordSerializer(serializers.ModelSerializer[UsageRecord]):
    class Meta:
        model = UsageRecord
        fields = [
            "id",
            "created_at",
            "endpoint_slug",
            "endpoint_version",
            "model_name",
            "provider_kind",
            "operation",
            "source",
            "run_id",
            "node_id",
            "deployment_id",
            "api_key_id",
            "end_user",
            "attempt",
            "status",
            "error_type",
            "error_message",
            "prompt_tokens",
            "completion_tokens",
            "cached_tokens",
            "latency_ms",
            "ttft_ms",
            "cost",
            "currency",
        ]
        read_only_fields = fields
