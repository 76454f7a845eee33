"""The chains API: the versioned-resource endpoints plus ``run`` (JSON in, JSON out)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from llmops.accounts.permissions import signed_in_user
from llmops.chains.models import Chain
from llmops.chains.services import chain_draft_validate, chain_run
from llmops.core.api.versioning import VersionedResourceSerializer, VersionedResourceViewSet


class ChainSerializer(VersionedResourceSerializer):
    class Meta(VersionedResourceSerializer.Meta):
        model = Chain


class ChainRunInputSerializer(serializers.Serializer[Any]):
    version = serializers.CharField(
        required=False,
        allow_null=True,
        default=None,
        help_text='A number, "v3", "latest" (the default: latest published), a label, or "draft".',
    )
    inputs = serializers.DictField(child=serializers.JSONField(), required=False, default=dict)
    conversation_id = serializers.CharField(
        required=False,
        allow_null=True,
        default=None,
        max_length=100,
        help_text="Keys the chain's window memory; a new one is returned when omitted.",
    )


class ChainUsageSerializer(serializers.Serializer[Any]):
    prompt_tokens = serializers.IntegerField()
    completion_tokens = serializers.IntegerField()
    cached_tokens = serializers.IntegerField()
    total_tokens = serializers.IntegerField()
    cost = serializers.DecimalField(max_digits=20, decimal_places=10, allow_null=True, coerce_to_string=False)


class ChainRunOutputSerializer(serializers.Serializer[Any]):
    blocked = serializers.BooleanField(help_text="True when moderation stopped the run.")
    stage = serializers.ChoiceField(choices=["input", "output"], required=False)
    rule = serializers.CharField(
        required=False, help_text='e.g. "keyword:password" or "endpoint:mod:violence".'
    )
    message = serializers.CharField(required=False)
    output = serializers.JSONField(allow_null=True, help_text="The parsed answer (text, JSON or list).")
    text = serializers.CharField(allow_blank=True, help_text="The model's raw answer.")
    usage = ChainUsageSerializer()
    conversation_id = serializers.CharField(allow_null=True)
    version = serializers.CharField()
    notes = serializers.ListField(child=serializers.CharField())


RUN_EXAMPLES = [
    OpenApiExample(
        "Answered",
        value={
            "blocked": False,
            "output": {"title": "Hello"},
            "text": '{"title": "Hello"}',
            "usage": {
                "prompt_tokens": 12,
                "completion_tokens": 6,
                "cached_tokens": 0,
                "total_tokens": 18,
                "cost": 0.000042,
            },
            "conversation_id": "3f1c...",
            "version": "2",
            "notes": [],
        },
        response_only=True,
    ),
    OpenApiExample(
        "Blocked by moderation",
        value={
            "blocked": True,
            "stage": "input",
            "rule": "keyword:password",
            "message": "The input was blocked by moderation rule 'keyword:password'.",
            "output": None,
            "text": "",
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "cached_tokens": 0, "total_tokens": 0},
            "conversation_id": None,
            "version": "2",
            "notes": [],
        },
        response_only=True,
    ),
]


class ChainViewSet(VersionedResourceViewSet[Chain]):
    """Chains of a workspace: a prompt version, a model, an output parser, optional retrieval and memory."""

    queryset = Chain.objects.select_related("created_by")
    serializer_class = ChainSerializer

    def validate_draft(self, draft: dict[str, Any]) -> dict[str, Any]:
        return chain_draft_validate(workspace=self.workspace, draft=draft)

    @extend_schema(
        request=ChainRunInputSerializer,
        responses={
            200: OpenApiResponse(
                ChainRunOutputSerializer,
                description="The answer, or (still 200) the moderation verdict that blocked the run.",
                examples=RUN_EXAMPLES,
            ),
            422: OpenApiResponse(description="`output_parser_failed`: the answer did not fit the parser."),
        },
    )
    @action(detail=True, methods=["post"])
    def run(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Run a version (default: latest published; ``"draft"`` allowed) with inputs and a conversation."""
        chain = self.get_object()
        data = ChainRunInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        outcome = chain_run(
            workspace=self.workspace,
            chain=chain,
            version=data.validated_data["version"],
            inputs=data.validated_data["inputs"],
            conversation_id=data.validated_data["conversation_id"],
            user_id=str(signed_in_user(request).pk),
        )
        return Response(outcome.to_dict())
