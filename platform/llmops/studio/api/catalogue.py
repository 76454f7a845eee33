"""The engine's node-type catalogue and draft checks for the console: forms and pickers come from the engine."""

from __future__ import annotations

from functools import cache
from typing import Any

from drf_spectacular.utils import extend_schema
from pydantic import ValidationError as PydanticValidationError
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from workflows.nodes import NODE_KINDS


class NodeTypeSerializer(serializers.Serializer[Any]):
    type = serializers.CharField()
    description = serializers.CharField()
    container = serializers.BooleanField()
    config_schema = serializers.JSONField(help_text="JSON Schema (draft 2020-12) of the node's config.")
    default_config = serializers.JSONField(help_text="The config a new node starts with.")
    handles = serializers.ListField(
        child=serializers.CharField(), help_text="Branch handles of the default config."
    )
    outputs = serializers.JSONField(
        allow_null=True, help_text="Declared outputs of the default config (name: type)."
    )


@cache
def node_types() -> list[dict[str, Any]]:
    """Every node type with its config schema, a default config and what that config declares (built once
    per process: the registry does not change while it runs)."""
    catalogue = []
    for name, kind in sorted(NODE_KINDS.items()):
        try:
            config = kind.parse_config({})
            default = config.model_dump(mode="json", exclude_defaults=True)
            handles, outputs = list(kind.handles(config)), kind.outputs(config)
        except PydanticValidationError:  # required fields: the console asks for them
            default, handles, outputs = {}, ["source"], None
        catalogue.append({
            "type": name, "description": kind.description, "container": kind.container,
            "config_schema": kind.config_model.model_json_schema(), "default_config": default,
            "handles": handles, "outputs": dict(outputs) if outputs is not None else None,
        })  # fmt: skip
    return catalogue


class NodeTypesView(APIView):
    """The workflow engine's node types (the console's palette and config forms)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=NodeTypeSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(node_types())
