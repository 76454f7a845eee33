"""Input and output serializers of the prompts API (shapes only: the logic lives in services/selectors)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from llmops.core.api.versioning import VersionedResourceSerializer
from llmops.prompts.models import Prompt


class PromptSerializer(VersionedResourceSerializer):
    class Meta(VersionedResourceSerializer.Meta):
        model = Prompt


class RenderInputSerializer(serializers.Serializer[Any]):
    version = serializers.CharField(
        required=False,
        allow_null=True,
        default=None,
        help_text='A number, "v3", "latest", a label, or "draft" (the default).',
    )
    variables = serializers.DictField(child=serializers.JSONField(), required=False, default=dict)


class MessageSerializer(serializers.Serializer[Any]):
    role = serializers.ChoiceField(choices=["system", "user", "assistant", "tool"])
    content = serializers.CharField()


class RenderOutputSerializer(serializers.Serializer[Any]):
    version = serializers.CharField(help_text='The version number rendered, or "draft".')
    type = serializers.ChoiceField(choices=["chat", "text"])
    messages = MessageSerializer(many=True)
    text = serializers.CharField(help_text="All message contents joined (what a text prompt renders to).")
    model = serializers.CharField(allow_null=True)
    parameters = serializers.DictField()


class PlaygroundInputSerializer(RenderInputSerializer):
    model = serializers.CharField(
        required=False, allow_null=True, default=None, help_text="Overrides the prompt's model endpoint."
    )
    parameters = serializers.DictField(
        required=False, default=dict, help_text="Overrides the prompt's parameters (temperature...)."
    )
    stream = serializers.BooleanField(required=False, default=True)


class UsageSerializer(serializers.Serializer[Any]):
    prompt_tokens = serializers.IntegerField()
    completion_tokens = serializers.IntegerField()
    total_tokens = serializers.IntegerField()
    cost = serializers.DecimalField(max_digits=20, decimal_places=10, allow_null=True, coerce_to_string=False)


class PlaygroundOutputSerializer(serializers.Serializer[Any]):
    blocked = serializers.BooleanField(
        help_text="True when moderation stopped the call (see ``stage``, ``rule``)."
    )
    stage = serializers.ChoiceField(choices=["input", "output"], required=False)
    rule = serializers.CharField(
        required=False, help_text='e.g. "keyword:password" or "endpoint:mod:violence".'
    )
    message = serializers.CharField(required=False)
    text = serializers.CharField(required=False)
    model = serializers.CharField(required=False)
    usage = UsageSerializer(required=False)
    version = serializers.CharField()


class TemplateDiffSerializer(serializers.Serializer[Any]):
    path = serializers.CharField()
    diff = serializers.CharField()


class PromptDiffSerializer(serializers.Serializer[Any]):
    changes = serializers.ListField(child=serializers.DictField(), help_text="RFC 6902 operations.")
    template_diffs = TemplateDiffSerializer(many=True)
