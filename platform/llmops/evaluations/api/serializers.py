"""Input and output shapes of the evaluations API (the logic lives in services and selectors)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from llmops.core.api.versioning import VersionedResourceSerializer
from llmops.evaluations.models import Dataset, EvaluationItem, EvaluationRun, Evaluator, LabelGate


class DatasetSerializer(VersionedResourceSerializer):
    class Meta(VersionedResourceSerializer.Meta):
        model = Dataset

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # A dataset created without a draft starts empty in the one content shape ({"items": []}, not the
        # base model's {}), so its versions always have it too.
        if self.instance is None and "draft" not in attrs:
            attrs["draft"] = {"items": []}
        return attrs


class DatasetImportSerializer(serializers.Serializer[Any]):
    file = serializers.FileField()
    format = serializers.ChoiceField(
        choices=["csv", "jsonl"], required=False, help_text="Default: the extension."
    )
    mode = serializers.ChoiceField(choices=["append", "replace"], default="append")


class DatasetAddRunsSerializer(serializers.Serializer[Any]):
    runs = serializers.ListField(child=serializers.CharField(max_length=64), max_length=1000)
    with_expected = serializers.BooleanField(default=True, help_text="Use each run's outputs as `expected`.")


class EvaluatorSerializer(serializers.ModelSerializer[Evaluator]):
    class Meta:
        model = Evaluator
        fields = ["id", "name", "kind", "config", "description", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


class EvaluatorSpecSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=100, help_text="A saved evaluator's name, or this one's name.")
    kind = serializers.CharField(required=False, help_text="Given with `config`: an inline evaluator.")
    config = serializers.JSONField(required=False)
    weight = serializers.FloatField(required=False, default=1.0)


class EvaluationRunCreateSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    dataset = serializers.CharField(help_text="The dataset's slug.")
    dataset_version = serializers.CharField(default="latest", help_text='A number, "latest" or a label.')
    workflow = serializers.CharField(required=False, help_text="The target: a workflow's slug, or ...")
    prompt = serializers.CharField(required=False, help_text="... a prompt's slug, or ...")
    chain = serializers.CharField(required=False, help_text="... a chain's slug, or ...")
    deployment = serializers.CharField(
        required=False, help_text="... a deployment's slug (its workflow or chain at its version)."
    )
    version = serializers.CharField(
        required=False, help_text='The target\'s version: a number, "latest" (default) or a label.'
    )
    workflow_version = serializers.CharField(
        required=False, help_text="The older name of `version`, for a workflow target."
    )
    evaluators = serializers.JSONField(help_text="[{name, weight} | {name, kind, config, weight}]")
    pass_threshold = serializers.JSONField(required=False, help_text="0-1; default 0.5.")
    repetitions = serializers.JSONField(required=False, help_text="1-20; default 1.")
    max_concurrency = serializers.JSONField(required=False, help_text="1-64; default 4.")
    cost_cap = serializers.JSONField(
        required=False, allow_null=True, help_text="Stop once the cost reaches it."
    )


class EvaluationRunSerializer(serializers.ModelSerializer[EvaluationRun]):
    dataset: serializers.SlugRelatedField[Dataset] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    dataset_version = serializers.IntegerField(source="dataset_version.number", read_only=True)
    target = serializers.SerializerMethodField()
    workflow: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    workflow_version = serializers.IntegerField(
        source="workflow_version.number", read_only=True, allow_null=True, default=None
    )
    decided_by: serializers.StringRelatedField[Any] = serializers.StringRelatedField()

    class Meta:
        model = EvaluationRun
        fields = [
            "id", "name", "dataset", "dataset_version", "target", "workflow", "workflow_version", "evaluators",
            "pass_threshold", "repetitions", "max_concurrency", "cost_cap", "estimated_cost", "status", "error",
            "total", "decision", "decided_by", "decided_at", "decision_comment", "knowledge_versions", "created_at",
            "started_at", "finished_at",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(
        {
            "type": "object",
            "properties": {
                "kind": {"type": "string", "enum": ["workflow", "prompt", "chain"]},
                "slug": {"type": "string"},
                "version": {"type": "integer"},
                "deployment": {"type": "string", "nullable": True},
            },
        }
    )
    def get_target(self, run: EvaluationRun) -> dict[str, Any]:
        return {
            "kind": run.target_kind, "slug": run.target.slug, "version": run.target_version.number,
            "deployment": run.deployment.slug if run.deployment else None,
        }  # fmt: skip


class EvaluationItemSerializer(serializers.ModelSerializer[EvaluationItem]):
    reviewed_by: serializers.StringRelatedField[Any] = serializers.StringRelatedField()
    assigned_to: serializers.StringRelatedField[Any] = serializers.StringRelatedField()
    locked_by: serializers.StringRelatedField[Any] = serializers.StringRelatedField()

    class Meta:
        model = EvaluationItem
        fields = [
            "id", "item_id", "repetition", "inputs", "expected", "status", "output", "error", "scores", "score",
            "passed", "latency_ms", "prompt_tokens", "completion_tokens", "cost", "target_run", "trace_id", "verdict",
            "human_score", "corrected_output", "comment", "reviewed_by", "reviewed_at", "assigned_to",
            "locked_by", "locked_until",
        ]  # fmt: skip
        read_only_fields = fields


class ReviewSerializer(serializers.Serializer[Any]):
    verdict = serializers.ChoiceField(choices=["pass", "fail"])
    human_score = serializers.FloatField(required=False, allow_null=True, min_value=0, max_value=1)
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
    corrected_output = serializers.CharField(required=False, allow_blank=True, default="", max_length=20000)


class AssignSerializer(serializers.Serializer[Any]):
    items = serializers.ListField(child=serializers.IntegerField(), max_length=10000)
    reviewer = serializers.CharField(allow_null=True, help_text="A member's username, or null to unassign.")


class DecisionSerializer(serializers.Serializer[Any]):
    decision = serializers.ChoiceField(choices=["approved", "rejected"])
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class LabelGateSerializer(serializers.ModelSerializer[LabelGate]):
    kind = serializers.ChoiceField(
        choices=["workflow", "prompt", "chain"], required=False, default="workflow",
        help_text="What the gate is on: workflows (default), prompts or chains.",
    )  # fmt: skip
    workflow = serializers.CharField(
        required=False,
        allow_null=True,
        help_text="One workflow's slug; none of the three: every one of the kind.",
    )
    prompt = serializers.CharField(required=False, allow_null=True, help_text="One prompt's slug.")
    chain = serializers.CharField(required=False, allow_null=True, help_text="One chain's slug.")

    class Meta:
        model = LabelGate
        fields = [
            "id",
            "kind",
            "workflow",
            "prompt",
            "chain",
            "label",
            "min_pass_rate",
            "min_score",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]

    def to_representation(self, instance: LabelGate) -> dict[str, Any]:
        data = super().to_representation(instance)
        for name in ("workflow", "prompt", "chain"):
            resource = getattr(instance, name)
            data[name] = resource.slug if resource else None
        return data
