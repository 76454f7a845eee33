"""The tools API: a workspace's tool providers (CRUD, OpenAPI import, refresh), the tools its runs can use,
and a test call of one. Views validate, call one service or selector, and serialize."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from llmops.accounts.models import Role
from llmops.accounts.permissions import WORKSPACE_PERMISSIONS, WorkspaceScopedMixin, signed_in_user
from llmops.core.api.slugs import slug_unchanged_check
from llmops.tools import selectors, services
from llmops.tools.api.serializers import (
    BuiltinProviderSerializer,
    OpenAPIImportSerializer,
    ToolCallSerializer,
    ToolProviderSerializer,
    ToolTestInputSerializer,
    ToolTestResultSerializer,
    WorkspaceToolSerializer,
)
from llmops.tools.models import ProviderKind, ToolCall, ToolProvider
from workflows import BUILTIN_PROVIDERS


class ToolProviderViewSet(WorkspaceScopedMixin, viewsets.ModelViewSet[ToolProvider]):
    """``/api/workspaces/<ws>/tool-providers/``: CRUD, ``import-openapi/`` and ``<slug>/refresh/``."""

    serializer_class = ToolProviderSerializer
    permission_classes = WORKSPACE_PERMISSIONS
    lookup_field = "slug"
    pagination_class = None

    def get_queryset(self) -> QuerySet[ToolProvider]:
        return selectors.tool_providers_for_workspace(workspace=self.workspace)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        provider = services.tool_provider_create(workspace=self.workspace, **serializer.validated_data)
        return Response(self.get_serializer(provider).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        provider = self.get_object()
        serializer = self.get_serializer(provider, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        changes = slug_unchanged_check(serializer.validated_data, current=provider.slug)
        changes.pop("kind", None)  # the kind is fixed at creation
        changes.pop("builtin_provider", None)
        provider = services.tool_provider_update(provider=provider, **changes)
        return Response(self.get_serializer(provider).data)

    def perform_destroy(self, instance: ToolProvider) -> None:
        services.tool_provider_delete(provider=instance)

    @extend_schema(request=OpenAPIImportSerializer, responses={201: ToolProviderSerializer})
    @action(detail=False, methods=["post"], url_path="import-openapi")
    def import_openapi(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """A provider from an OpenAPI 3 document (``document`` pasted, or ``url``), its operations as tools."""
        data = OpenAPIImportSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        provider = services.tool_provider_create(
            workspace=self.workspace, kind=ProviderKind.OPENAPI, **data.validated_data
        )
        return Response(self.get_serializer(provider).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=ToolProviderSerializer)
    @action(detail=True, methods=["post"])
    def refresh(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Read the tools again (OpenAPI: from the document's URL; MCP: the server's list)."""
        provider = services.tool_provider_refresh(provider=self.get_object())
        return Response(self.get_serializer(provider).data)


class WorkspaceToolListView(WorkspaceScopedMixin, APIView):
    """``/api/workspaces/<ws>/tools/``: every tool the workspace's runs can call."""

    permission_classes = WORKSPACE_PERMISSIONS

    @extend_schema(responses=WorkspaceToolSerializer(many=True))
    def get(self, request: Request, workspace: str) -> Response:
        tools = selectors.tools_for_workspace(workspace=self.workspace)
        return Response(WorkspaceToolSerializer(tools, many=True).data)


class ToolTestView(WorkspaceScopedMixin, APIView):
    """``/api/workspaces/<ws>/tools/<name>/test/``: call one tool with arguments (metered as a test)."""

    permission_classes = WORKSPACE_PERMISSIONS
    write_role = Role.EDITOR

    @extend_schema(request=ToolTestInputSerializer, responses=ToolTestResultSerializer)
    def post(self, request: Request, workspace: str, name: str) -> Response:
        data = ToolTestInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.tool_test(
            workspace=self.workspace,
            name=name,
            arguments=dict(data.validated_data["arguments"]),
            user_id=str(signed_in_user(request).pk),
        )
        return Response(ToolTestResultSerializer(result).data)


class BuiltinProviderListView(WorkspaceScopedMixin, APIView):
    """``/api/workspaces/<ws>/builtin-tool-providers/``: the credentialed built-ins, what each needs and gives."""

    permission_classes = WORKSPACE_PERMISSIONS

    @extend_schema(responses=BuiltinProviderSerializer(many=True))
    def get(self, request: Request, workspace: str) -> Response:
        infos = [BUILTIN_PROVIDERS[name] for name in sorted(BUILTIN_PROVIDERS)]
        return Response(BuiltinProviderSerializer(infos, many=True).data)


class ToolCallListView(WorkspaceScopedMixin, generics.ListAPIView[ToolCall]):
    """``/api/workspaces/<ws>/tool-calls/``: the metered tool calls, newest first (``?run_id=``, ``?tool=``,
    ``?provider=``)."""

    permission_classes = WORKSPACE_PERMISSIONS
    serializer_class = ToolCallSerializer

    @extend_schema(parameters=[OpenApiParameter(name, str) for name in ("run_id", "tool", "provider")])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[ToolCall]:
        params = self.request.query_params
        return selectors.tool_calls_for_workspace(
            workspace=self.workspace,
            run_id=params.get("run_id", ""),
            tool=params.get("tool", ""),
            provider=params.get("provider", ""),
        )
