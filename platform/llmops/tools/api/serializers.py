"""Serializers of the tools API: credentials are write-only (responses name the fields that are set)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from llmops.tools.models import SLUG_MAX_LENGTH, McpTransport, ProviderKind, ToolCall, ToolProvider
from llmops.tools.registry import tool_name
from workflows import BUILTIN_PROVIDERS


class ToolSpecSerializer(serializers.Serializer[Any]):
    """A tool as runs and agents see it."""

    name = serializers.CharField()
    description = serializers.CharField()
    parameters = serializers.JSONField(help_text="JSON Schema of the arguments.")


class WorkspaceToolSerializer(ToolSpecSerializer):
    """A tool of the workspace's registry and where it comes from."""

    provider = serializers.CharField(
        allow_null=True, help_text="The provider's slug; null: an engine built-in."
    )
    kind = serializers.ChoiceField(choices=ProviderKind.choices)


class ToolAuthSerializer(serializers.Serializer[dict[str, Any]]):
    """How an OpenAPI provider's calls authenticate; the secret itself goes in ``credentials``
    (``api_key`` or ``token``)."""

    type = serializers.ChoiceField(choices=["none", "api_key", "bearer"], default="none")
    # ``in`` is a Python keyword: the field is put in the class namespace by name.
    vars()["in"] = serializers.ChoiceField(choices=["header", "query"], required=False)
    name = serializers.CharField(required=False, max_length=100, help_text="Header or query parameter name.")


class ToolProviderSerializer(serializers.ModelSerializer[ToolProvider]):
    """A provider: its settings, which secrets are set (``credentials_set``) and its tools as runs name them.

    On create, ``kind`` picks what else is needed: ``builtin_provider`` (builtin), ``document`` or ``url``
    (openapi), ``url`` and ``transport`` (mcp; ``credentials`` are then the request headers)."""

    slug = serializers.SlugField(max_length=SLUG_MAX_LENGTH)
    kind = serializers.ChoiceField(choices=ProviderKind.choices)
    transport = serializers.ChoiceField(choices=McpTransport.choices, required=False)
    document = serializers.JSONField(
        write_only=True,
        required=False,
        help_text="The OpenAPI document: its text (JSON or YAML) or the object.",
    )
    auth = ToolAuthSerializer(required=False)
    credentials = serializers.DictField(
        child=serializers.CharField(allow_blank=True, allow_null=True, trim_whitespace=False),
        write_only=True,
        required=False,
        help_text="Secrets (never returned); on update merged into the stored ones, an empty value removes one.",
    )
    credentials_set = serializers.ListField(child=serializers.CharField(), read_only=True)
    settings = serializers.SerializerMethodField()
    tools = serializers.SerializerMethodField()

    class Meta:
        model = ToolProvider
        fields = [
            "id", "slug", "name", "description", "kind", "builtin_provider", "url", "transport", "document",
            "base_url", "auth", "credentials", "credentials_set", "settings", "enabled", "tools", "refreshed_at",
            "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["id", "base_url", "refreshed_at", "created_at", "updated_at"]
        extra_kwargs = {"builtin_provider": {"required": False}, "url": {"required": False}}

    @extend_schema_field(serializers.DictField(child=serializers.CharField()))
    def get_settings(self, provider: ToolProvider) -> dict[str, str]:
        """A built-in's non-secret credential values (e.g. SearXNG's base URL)."""
        if provider.kind != ProviderKind.BUILTIN:
            return {}
        info = BUILTIN_PROVIDERS.get(provider.builtin_provider)
        public = {f.name for f in info.credentials if not f.secret} if info else set()
        return {k: v for k, v in (provider.credentials or {}).items() if k in public}

    @extend_schema_field(ToolSpecSerializer(many=True))
    def get_tools(self, provider: ToolProvider) -> list[dict[str, Any]]:
        rename = provider.kind != ProviderKind.BUILTIN
        return [
            {**spec, "name": tool_name(provider.slug, spec["name"]) if rename else spec["name"]}
            for spec in provider.tools
        ]

    def validate_document(self, value: Any) -> Any:
        if not isinstance(value, str | dict):
            raise serializers.ValidationError("The document's text or a JSON object.")
        return value


class OpenAPIImportSerializer(serializers.Serializer[dict[str, Any]]):
    """``import-openapi/``: a provider from an OpenAPI 3 document, pasted or at a URL."""

    slug = serializers.SlugField(max_length=SLUG_MAX_LENGTH)
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True)
    document = serializers.JSONField(
        required=False, help_text="The document's text (JSON or YAML) or object."
    )
    url = serializers.CharField(required=False, max_length=2000)
    auth = ToolAuthSerializer(required=False)
    credentials = serializers.DictField(
        child=serializers.CharField(trim_whitespace=False), required=False, help_text="api_key or token."
    )
    enabled = serializers.BooleanField(default=True)


class ToolTestInputSerializer(serializers.Serializer[dict[str, Any]]):
    """The arguments to call a tool with."""

    arguments = serializers.DictField(required=False, default=dict)


class ToolTestResultSerializer(serializers.Serializer[dict[str, Any]]):
    """What the tool returned, or its error."""

    ok = serializers.BooleanField()
    result = serializers.JSONField(allow_null=True)
    text = serializers.CharField(allow_blank=True)
    error = serializers.CharField(allow_null=True)
    duration_ms = serializers.IntegerField()


class CredentialFieldSerializer(serializers.Serializer[Any]):
    """One setting a built-in provider needs."""

    # ``label`` and ``required`` are also attributes of DRF's Field, which the stubs type as str and bool.
    name = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    secret = serializers.BooleanField()
    required = serializers.BooleanField()  # type: ignore[assignment]


class BuiltinProviderSerializer(serializers.Serializer[Any]):
    """A credentialed built-in provider a workspace can configure (kind ``builtin``)."""

    name = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # Field.label in the stubs, as above
    description = serializers.CharField()
    credentials = CredentialFieldSerializer(many=True)
    tools = serializers.SerializerMethodField()

    @extend_schema_field(ToolSpecSerializer(many=True))
    def get_tools(self, info: Any) -> list[dict[str, Any]]:
        return [
            {"name": t.name, "description": t.description, "parameters": t.parameters} for t in info.tools
        ]


class ToolCallSerializer(serializers.ModelSerializer[ToolCall]):
    """One metered tool call."""

    class Meta:
        model = ToolCall
        fields = [
            "id", "tool", "provider_slug", "source", "run_id", "node_id", "status", "error_message",
            "duration_ms", "output_chars", "created_at",
        ]  # fmt: skip
        read_only_fields = fields
