"""Serializers of the runs API."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from llmops.runs.models import NodeRun, Run, RunStatus, Trigger


class RunStartSerializer(serializers.Serializer[Any]):
    version = serializers.CharField(default="latest", help_text="A version number, 'latest' or a label.")
    inputs = serializers.JSONField(default=dict)


class RunSerializer(serializers.ModelSerializer[Run]):
    workflow = serializers.CharField(source="workflow.slug", read_only=True)
    version = serializers.IntegerField(
        source="workflow_version.number",
        read_only=True,
        help_text="0 for a debug run (a snapshot of the draft).",
    )

    class Meta:
        model = Run
        fields = [
            "id", "workflow", "version", "trigger", "status", "created_at", "started_at", "finished_at",
            "elapsed_ms", "steps", "prompt_tokens", "completion_tokens", "cost", "attempts",
            "cancel_requested", "end_user", "rerun_of", "worker", "debug_node", "knowledge_versions",
        ]  # fmt: skip
        read_only_fields = fields


class NodeRunSerializer(serializers.ModelSerializer[NodeRun]):
    class Meta:
        model = NodeRun
        fields = [
            "node_id", "node_type", "status", "outputs", "error", "attempts", "branch", "started_at",
            "finished_at", "prompt_tokens", "completion_tokens", "cached_tokens",
        ]  # fmt: skip
        read_only_fields = fields


class RunDetailSerializer(RunSerializer):
    nodes = NodeRunSerializer(source="timeline", many=True, read_only=True)

    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "inputs", "outputs", "error", "nodes"]
        read_only_fields = fields


class RunFilterSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=RunStatus.choices, required=False)
    workflow = serializers.SlugField(required=False)
    trigger = serializers.ChoiceField(choices=Trigger.choices, required=False)
    created_after = serializers.DateTimeField(required=False)
    created_before = serializers.DateTimeField(required=False)
    deployment = serializers.IntegerField(
        required=False, min_value=1, help_text="Only the calls of this deployment (its id)."
    )
