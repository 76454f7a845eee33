"""Console API of deployments (workspace-scoped; viewers read, editors write): CRUD, pause/resume, counters,
webhook secret rotation, and API keys (created with the token shown once, listed by prefix, revoked)."""

from __future__ import annotations

import re
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from llmops.accounts.permissions import WORKSPACE_PERMISSIONS, WorkspaceScopedMixin, signed_in_user
from llmops.core.errors import ValidationError
from llmops.deployments import selectors, services
from llmops.deployments.api.serializers import (
    ApiKeyCreatedSerializer,
    ApiKeyCreateSerializer,
    ApiKeySerializer,
    CountersSerializer,
    DeploymentCreatedSerializer,
    DeploymentSerializer,
)
from llmops.deployments.models import ApiKey, Deployment, DeploymentStatus


class DeploymentViewSet(WorkspaceScopedMixin, viewsets.ModelViewSet[Deployment]):
    """A workspace's deployments."""

    permission_classes = WORKSPACE_PERMISSIONS
    serializer_class = DeploymentSerializer
    lookup_field = "slug"

    def get_queryset(self) -> QuerySet[Deployment]:
        return selectors.deployments_for_workspace(workspace=self.workspace)

    def get_object(self) -> Deployment:
        return selectors.deployment_for_workspace(workspace=self.workspace, slug=self.kwargs["slug"])

    def get_serializer(self, *args: Any, **kwargs: Any) -> Any:
        serializer_class: Any = self.get_serializer_class()
        # The schema generator builds serializers without a request (no workspace in the URL).
        workspace = None if getattr(self, "swagger_fake_view", False) else self.workspace
        return serializer_class(*args, workspace=workspace, **kwargs)

    @extend_schema(responses={201: DeploymentCreatedSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        deployment = services.deployment_create(
            workspace=self.workspace, user=signed_in_user(request), **serializer.validated_data
        )
        body = DeploymentCreatedSerializer(deployment, workspace=self.workspace).data
        return Response(body, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(
            self.get_object(), data=request.data, partial=kwargs.get("partial", False)
        )
        serializer.is_valid(raise_exception=True)
        deployment = services.deployment_update(deployment=serializer.instance, **serializer.validated_data)
        return Response(self.get_serializer(deployment).data)

    @extend_schema(request=None, responses=DeploymentSerializer)
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Pause: calls get 409 until resumed."""
        deployment = services.deployment_set_status(
            deployment=self.get_object(), status=DeploymentStatus.PAUSED
        )
        return Response(self.get_serializer(deployment).data)

    @extend_schema(request=None, responses=DeploymentSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Resume a paused deployment."""
        deployment = services.deployment_set_status(
            deployment=self.get_object(), status=DeploymentStatus.ACTIVE
        )
        return Response(self.get_serializer(deployment).data)

    @extend_schema(request=None, responses=DeploymentCreatedSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-webhook-secret")
    def rotate_webhook_secret(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """A new webhook signing secret, shown in this answer only."""
        deployment = services.deployment_webhook_secret_rotate(deployment=self.get_object())
        return Response(DeploymentCreatedSerializer(deployment, workspace=self.workspace).data)

    @extend_schema(responses=CountersSerializer)
    @action(detail=True, methods=["get"])
    def counters(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Today's runs, errors, tokens and cost (UTC day)."""
        counters = selectors.deployment_counters(deployment=self.get_object())
        return Response(CountersSerializer(counters.to_dict()).data)


class ApiKeyViewSet(
    WorkspaceScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[ApiKey],
):
    """A workspace's API keys; there is no update (a key's powers change by issuing a new one)."""

    permission_classes = WORKSPACE_PERMISSIONS
    serializer_class = ApiKeySerializer

    def get_queryset(self) -> QuerySet[ApiKey]:
        return selectors.api_keys_for_workspace(workspace=self.workspace)

    def get_object(self) -> ApiKey:
        key_id = str(self.kwargs["pk"])
        # ASCII digits that fit a bigint: str.isdigit() accepts "²", which int() then rejects.
        if not re.fullmatch(r"[0-9]{1,18}", key_id):
            raise ValidationError("Invalid key id.", fields={"id": ["Must be a number."]})
        return selectors.api_key_for_workspace(workspace=self.workspace, key_id=int(key_id))

    @extend_schema(request=ApiKeyCreateSerializer, responses={201: ApiKeyCreatedSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = ApiKeyCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        slugs = data.pop("deployments")
        deployments = [
            selectors.deployment_for_workspace(workspace=self.workspace, slug=slug) for slug in slugs
        ]
        created = services.api_key_create(
            workspace=self.workspace, user=signed_in_user(request), deployments=deployments, **data
        )
        body = ApiKeyCreatedSerializer(created.key).data
        return Response({**body, "token": created.token}, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=ApiKeySerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Revoke the key: its next call gets 401."""
        key = services.api_key_revoke(key=self.get_object())
        return Response(ApiKeySerializer(key).data)
