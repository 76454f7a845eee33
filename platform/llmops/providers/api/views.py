"""The model-endpoint API (versioned resource + connection test) and the read-only model catalogue."""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.decorators import action
from rest_framework.permissions import SAFE_METHODS, IsAdminUser, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from llmops.accounts.permissions import signed_in_user
from llmops.core.api.slugs import slug_unchanged_check
from llmops.core.api.versioning import RestoreInputSerializer, VersionedResourceViewSet
from llmops.core.refs import DRAFT, ResourceRef, version_parse
from llmops.providers import selectors, services
from llmops.providers.api.serializers import (
    CatalogModelSerializer,
    ConnectionTestInputSerializer,
    ConnectionTestSerializer,
    ModelEndpointSerializer,
    PriceChangeInputSerializer,
    PriceChangeSerializer,
    PricesInEffectSerializer,
)
from llmops.providers.gateway import PlatformModelGateway
from llmops.providers.models import CatalogModel, ModelEndpoint, PriceChange
from llmops.providers.price_changes import (
    endpoint_prices_in_effect,
    price_change_create,
    price_change_delete,
)
from llmops.usage.models import UsageSource


class ModelEndpointViewSet(VersionedResourceViewSet[ModelEndpoint]):
    """``/api/workspaces/<ws>/model-endpoints/``: CRUD, versions, labels, restore, diff, and ``test/``."""

    queryset = ModelEndpoint.objects.all()
    serializer_class = ModelEndpointSerializer

    def get_queryset(self) -> QuerySet[ModelEndpoint]:
        return selectors.model_endpoints_for_workspace(workspace=self.workspace)

    def validate_draft(self, draft: dict[str, Any]) -> dict[str, Any]:
        data = self.request.data
        slug = self.kwargs.get(self.lookup_field) or (data.get("slug") if isinstance(data, dict) else None)
        return services.endpoint_draft_prepare(workspace=self.workspace, draft=draft, slug=slug)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = services.model_endpoint_create(
            workspace=self.workspace, user=signed_in_user(request), **serializer.validated_data
        )
        return Response(self.get_serializer(endpoint).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Update the head (``If-Match`` as for any versioned resource; credentials stay write-only)."""
        endpoint = self.get_object()
        serializer = self.get_serializer(endpoint, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        changes = slug_unchanged_check(serializer.validated_data, current=endpoint.slug)
        endpoint = services.model_endpoint_update(
            endpoint=endpoint, role=self.membership.role, if_match=request.headers.get("If-Match"), **changes
        )
        return self._with_etag(Response(self.get_serializer(endpoint).data), endpoint)

    @extend_schema(request=RestoreInputSerializer)
    @action(detail=True, methods=["post"])
    # drf-stubs type an @action by its ``self``: an override of one always differs from its supertype's.
    def restore(self, request: Request, *args: Any, **kwargs: Any) -> Response:  # type: ignore[override]
        """Copy a version into the draft (one on another host: admin only, and the credentials are cleared)."""
        endpoint = self.get_object()
        data = RestoreInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = services.model_endpoint_restore(
            endpoint=endpoint,
            number=data.validated_data["number"],
            user=signed_in_user(request),
            role=self.membership.role,
        )
        return Response(self.get_serializer(endpoint).data)

    @extend_schema(methods=["GET"], responses=PricesInEffectSerializer)
    @extend_schema(
        methods=["POST"], request=PriceChangeInputSerializer, responses={201: PriceChangeSerializer}
    )
    @action(detail=True, methods=["get", "post"])
    def prices(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The prices the latest version's calls are charged at now and the endpoint's dated overrides (GET);
        schedule an override from ``effective_from`` (default now, never in the past) on (POST)."""
        endpoint = self.get_object()
        if request.method == "POST":
            change = price_change_create(data=request.data, user=signed_in_user(request), endpoint=endpoint)
            return Response(PriceChangeSerializer(change).data, status=status.HTTP_201_CREATED)
        now = endpoint_prices_in_effect(endpoint)
        return Response({
            "prices": now.prices.model_dump(exclude_none=True),
            "origin": now.source,
            "since": now.since.isoformat() if now.since else None,
            "changes": PriceChangeSerializer(endpoint.price_changes.all(), many=True).data,
        })  # fmt: skip

    @extend_schema(responses={204: None})
    @action(detail=True, methods=["delete"], url_path=r"prices/(?P<change>\d+)")
    def price_withdraw(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Withdraw a scheduled override that has not started (409 for one in effect)."""
        endpoint = self.get_object()
        price_change_delete(get_object_or_404(PriceChange, endpoint=endpoint, pk=kwargs["change"]))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=ConnectionTestInputSerializer, responses=ConnectionTestSerializer)
    @action(detail=True, methods=["post"], url_path="test")
    def test_connection(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Make a tiny real call (chat: 1 token; embedding: one short text) and report ok, latency, error."""
        endpoint = self.get_object()
        data = ConnectionTestInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        text = data.validated_data["version"].strip()
        version = version_parse(text) if text else DRAFT
        if version == DRAFT:
            services.endpoint_draft_prepare(
                workspace=self.workspace, draft=endpoint.draft, slug=endpoint.slug
            )
            pinned = selectors.endpoint_draft_pinned(endpoint=endpoint)
        else:
            ref = ResourceRef(endpoint.slug, version)
            pinned = selectors.endpoint_resolve(workspace_id=self.workspace.pk, ref=ref)
        gateway = PlatformModelGateway(
            workspace=self.workspace,
            source=UsageSource.TEST_CONNECTION,
            end_user=signed_in_user(request).username,
        )
        result = async_to_sync(gateway.test_connection)(pinned)
        error = {"type": result.error_type, "message": result.error} if not result.ok else None
        body = {"ok": result.ok, "latency_ms": result.latency_ms, "model": result.model, "error": error}
        return Response(ConnectionTestSerializer(body).data)


class CatalogModelListView(generics.ListAPIView[CatalogModel]):
    """``/api/model-catalogue/``: the models endpoints can be created for, with windows and list prices."""

    serializer_class = CatalogModelSerializer
    permission_classes = [IsAuthenticated]
    pagination_class = None

    @extend_schema(parameters=[OpenApiParameter("provider_kind", str)])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[CatalogModel]:
        return selectors.catalogue_models(provider_kind=self.request.query_params.get("provider_kind"))


class _StaffWrites(IsAdminUser):
    """Anyone signed in reads; only staff change the catalogue (it is shared by every workspace)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in SAFE_METHODS:
            return bool(request.user and request.user.is_authenticated)
        return super().has_permission(request, view)


class CatalogPriceChangesView(APIView):
    """``/api/model-catalogue/<id>/prices/``: a catalogue model's dated list prices (staff schedule them;
    endpoints that kept the list prices follow)."""

    permission_classes = [_StaffWrites]

    @extend_schema(responses=PriceChangeSerializer(many=True))
    def get(self, request: Request, pk: int) -> Response:
        entry = get_object_or_404(CatalogModel, pk=pk)
        return Response(PriceChangeSerializer(entry.price_changes.all(), many=True).data)

    @extend_schema(request=PriceChangeInputSerializer, responses={201: PriceChangeSerializer})
    def post(self, request: Request, pk: int) -> Response:
        entry = get_object_or_404(CatalogModel, pk=pk)
        change = price_change_create(data=request.data, user=signed_in_user(request), catalog_model=entry)
        return Response(PriceChangeSerializer(change).data, status=status.HTTP_201_CREATED)


class CatalogPriceChangeView(APIView):
    """``/api/model-catalogue/<id>/prices/<change>/``: withdraw a change that has not started (staff)."""

    permission_classes = [_StaffWrites]

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int, change: int) -> Response:
        price_change_delete(get_object_or_404(PriceChange, catalog_model_id=pk, pk=change))
        return Response(status=status.HTTP_204_NO_CONTENT)
