"""Serializers of the deployments APIs: public calls (strict: unknown fields are refused) and the console."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from llmops.chains.models import Chain
from llmops.deployments.models import ALL_SCOPES, KEY_SCOPES, ApiKey, Deployment, DeploymentStatus, Execution
from llmops.studio.models import Workflow

RESPONSE_MODES = ("blocking", "streaming", "async")
# OpenAI request parameters accepted and ignored: the deployed workflow decides models and sampling.
OPENAI_IGNORED = frozenset(
    {
        "temperature", "top_p", "max_tokens", "max_completion_tokens", "presence_penalty", "frequency_penalty",
        "stop", "seed", "logit_bias", "logprobs", "top_logprobs", "response_format", "metadata", "store",
        "service_tier", "reasoning_effort", "modalities", "parallel_tool_calls", "verbosity",
        "prompt_cache_key", "safety_identifier", "n",
    }
)  # fmt: skip


class StrictSerializer(serializers.Serializer[Any]):
    """Refuses fields it does not declare (a typo must not be silently ignored)."""

    allowed_extra: frozenset[str] = frozenset()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        known = set(self.fields) | self.allowed_extra
        unknown = [name for name in getattr(self, "initial_data", {}) if name not in known]
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return attrs


class RunCallSerializer(StrictSerializer):
    inputs = serializers.DictField(default=dict, help_text="The workflow's inputs by name.")
    response_mode = serializers.ChoiceField(choices=RESPONSE_MODES, default="blocking")
    user = serializers.CharField(
        max_length=200, default="", allow_blank=True, help_text="Your end user's id."
    )
    webhook_url = serializers.URLField(
        max_length=500, required=False, allow_blank=True, help_text="async: POSTed the final run (signed)."
    )


class RunUsageSerializer(serializers.Serializer[Any]):
    prompt_tokens = serializers.IntegerField()
    completion_tokens = serializers.IntegerField()
    total_tokens = serializers.IntegerField()


class PublicRunSerializer(serializers.Serializer[Any]):
    """Documentation of ``payloads.run_payload``."""

    id = serializers.UUIDField()
    object = serializers.CharField(default="run")
    deployment_id = serializers.IntegerField()
    version = serializers.IntegerField()
    status = serializers.CharField()
    inputs = serializers.DictField()
    outputs = serializers.DictField()
    error = serializers.DictField(allow_null=True)
    usage = RunUsageSerializer()
    cost = serializers.DecimalField(max_digits=20, decimal_places=10)
    end_user = serializers.CharField()
    elapsed_ms = serializers.FloatField(allow_null=True)
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class ChatMessageSerializer(serializers.Serializer[Any]):
    role = serializers.ChoiceField(choices=("system", "developer", "user", "assistant", "tool"))
    content = serializers.JSONField(help_text="A string, or a list of text parts.")
    name = serializers.CharField(required=False)

    def validate_content(self, value: Any) -> str:
        if isinstance(value, str):
            return value
        if isinstance(value, list) and all(isinstance(p, dict) and p.get("type") == "text" for p in value):
            return "".join(str(p.get("text", "")) for p in value)
        if value is None:
            return ""
        raise serializers.ValidationError("Expected a string or a list of text parts.")


class StreamOptionsSerializer(serializers.Serializer[Any]):
    include_usage = serializers.BooleanField(default=False)


class ChatCompletionSerializer(StrictSerializer):
    allowed_extra = OPENAI_IGNORED
    model = serializers.SlugField(help_text="The deployment's slug.")
    messages = ChatMessageSerializer(many=True, allow_empty=False)
    stream = serializers.BooleanField(default=False)
    stream_options = StreamOptionsSerializer(required=False, allow_null=True)
    user = serializers.CharField(max_length=200, default="", allow_blank=True)
    inputs = serializers.DictField(default=dict, help_text="Extra workflow inputs (extra_body).")
    conversation_id = serializers.CharField(max_length=100, default="", allow_blank=True)

    def validate_messages(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if value[-1]["role"] != "user":
            raise serializers.ValidationError("The last message must come from the user.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        if self.initial_data.get("n", 1) != 1:
            raise serializers.ValidationError({"n": ["Only n=1 is supported."]})
        return attrs


# --- console -------------------------------------------------------------------------------------------------
class DeploymentSerializer(serializers.ModelSerializer[Deployment]):
    workflow = serializers.SlugRelatedField(
        slug_field="slug", queryset=Workflow.objects.none(), required=False, allow_null=True
    )
    chain = serializers.SlugRelatedField(
        slug_field="slug", queryset=Chain.objects.none(), required=False, allow_null=True
    )
    target_kind = serializers.CharField(read_only=True)
    execution = serializers.ChoiceField(choices=Execution.choices, default=Execution.AUTO)
    status = serializers.ChoiceField(choices=DeploymentStatus.choices, read_only=True)

    class Meta:
        model = Deployment
        fields = [
            "id", "slug", "name", "description", "workflow", "chain", "target_kind", "version", "status",
            "execution", "max_concurrent_runs", "webhook_url", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["id", "status", "created_at", "updated_at"]

    def __init__(self, *args: Any, workspace: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if workspace is not None:
            self.fields["workflow"].queryset = Workflow.objects.filter(workspace=workspace)  # type: ignore[attr-defined]
            self.fields["chain"].queryset = Chain.objects.filter(workspace=workspace)  # type: ignore[attr-defined]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # The unique (workspace, slug) check is the service's (it knows the workspace).
        return attrs

    def get_validators(self) -> list[Any]:
        return []


class DeploymentCreatedSerializer(DeploymentSerializer):
    webhook_secret = serializers.CharField(read_only=True, help_text="Shown here and on rotation only.")

    class Meta(DeploymentSerializer.Meta):
        fields = [*DeploymentSerializer.Meta.fields, "webhook_secret"]


class ApiKeySerializer(serializers.ModelSerializer[ApiKey]):
    prefix = serializers.SerializerMethodField()
    deployments: serializers.SlugRelatedField[Deployment] = serializers.SlugRelatedField(
        slug_field="slug", many=True, read_only=True
    )
    revoked = serializers.SerializerMethodField()

    class Meta:
        model = ApiKey
        fields = [
            "id", "name", "prefix", "scopes", "deployments", "requests_per_minute", "expires_at",
            "last_used_at", "revoked", "revoked_at", "created_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_prefix(self, key: ApiKey) -> str:
        return f"llm-{key.prefix}-"

    def get_revoked(self, key: ApiKey) -> bool:
        return key.revoked_at is not None


class ApiKeyCreateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=KEY_SCOPES), default=list(ALL_SCOPES), allow_empty=False
    )
    deployments = serializers.ListField(child=serializers.SlugField(), default=list)
    requests_per_minute = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


class ApiKeyCreatedSerializer(ApiKeySerializer):
    token = serializers.CharField(read_only=True, help_text="The whole key: shown once, store it now.")

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "token"]


class CountersSerializer(serializers.Serializer[Any]):
    since = serializers.DateTimeField()
    runs = serializers.IntegerField()
    succeeded = serializers.IntegerField()
    errors = serializers.IntegerField()  # type: ignore[assignment]  # a field, not Serializer.errors
    active = serializers.IntegerField()
    prompt_tokens = serializers.IntegerField()
    completion_tokens = serializers.IntegerField()
    total_tokens = serializers.IntegerField()
    cost = serializers.CharField()
    model_calls = serializers.IntegerField()
