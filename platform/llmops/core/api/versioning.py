"""One viewset for every versioned resource: CRUD on the draft plus publish, versions, labels, restore, diff.

A resource API subclasses :class:`VersionedResourceViewSet`, names its model and serializer, and may
validate drafts by overriding :meth:`VersionedResourceViewSet.validate_draft`::

    class PromptViewSet(VersionedResourceViewSet[Prompt]):
        queryset = Prompt.objects.all()
        serializer_class = PromptSerializer

Routes (under ``/api/workspaces/<workspace>/<resources>/``): ``<slug>/publish/``, ``<slug>/versions/``,
``<slug>/versions/<n>/``, ``<slug>/restore/``, ``<slug>/labels/`` (GET, PUT, DELETE ``?name=``),
``<slug>/diff/?from=1&to=2``.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from llmops.accounts.permissions import WORKSPACE_PERMISSIONS, WorkspaceScopedMixin, signed_in_user
from llmops.core import versioning
from llmops.core.api.slugs import slug_unchanged_check
from llmops.core.errors import ValidationError
from llmops.core.models import ResourceVersion, VersionedResource

_R = TypeVar("_R", bound=VersionedResource)


class VersionSerializer(serializers.Serializer[Any]):
    number = serializers.IntegerField(read_only=True)
    content = serializers.JSONField(read_only=True)
    content_hash = serializers.CharField(read_only=True)
    message = serializers.CharField(read_only=True)
    author = serializers.CharField(source="author.username", read_only=True, default=None)
    created_at = serializers.DateTimeField(read_only=True)
    labels = serializers.SerializerMethodField()

    def get_labels(self, version: Any) -> list[str]:
        return sorted(label.name for label in version.labels.all())


class PublishInputSerializer(serializers.Serializer[Any]):
    message = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class RestoreInputSerializer(serializers.Serializer[Any]):
    number = serializers.IntegerField(min_value=1)


class LabelInputSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=63)
    version = serializers.IntegerField(min_value=1)


class LabelSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    version = serializers.IntegerField(source="version.number")
    updated_at = serializers.DateTimeField()


class VersionedResourceSerializer(serializers.ModelSerializer[Any]):
    """Base serializer: subclasses set ``Meta.model`` and add resource-specific fields."""

    class Meta:
        fields = [
            "id",
            "name",
            "slug",
            "description",
            "draft",
            "latest_version_number",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "latest_version_number", "created_at", "updated_at"]
        extra_kwargs: dict[str, dict[str, Any]] = {"slug": {"validators": []}}


IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="The ETag of the resource as you loaded it: the update fails with 412 if someone saved since.",
)
DIFF_PARAMETERS = [OpenApiParameter("from", int, required=True), OpenApiParameter("to", int, required=True)]


def diff_range(request: Request) -> tuple[int, int]:
    """The version numbers of a diff request's ``?from=&to=``; a 400 on both fields when either is not an integer."""
    try:
        return int(request.query_params["from"]), int(request.query_params["to"])
    except (KeyError, ValueError):
        raise ValidationError(
            "Give two version numbers.", fields={"from": ["An integer."], "to": ["An integer."]}
        ) from None


class VersionedResourceViewSet(WorkspaceScopedMixin, viewsets.ModelViewSet[_R]):
    """CRUD on resources of the workspace in the URL, plus the versioning actions (editors write)."""

    permission_classes = WORKSPACE_PERMISSIONS
    lookup_field = "slug"
    lookup_value_regex = r"[-a-zA-Z0-9_]+"

    def get_queryset(self) -> QuerySet[_R]:
        return super().get_queryset().filter(workspace=self.workspace)

    def validate_draft(self, draft: dict[str, Any]) -> dict[str, Any]:
        """Resource-specific validation of a draft; raise ``ValidationError`` with field paths."""
        return draft

    def _validated(self, serializer: serializers.BaseSerializer[Any]) -> dict[str, Any]:
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if "draft" in data:
            data["draft"] = self.validate_draft(data["draft"])
        return data

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = self._validated(self.get_serializer(data=request.data))
        model = self.get_queryset().model
        resource = versioning.resource_create(
            model=model, workspace=self.workspace, user=signed_in_user(request), **data
        )
        return Response(self.get_serializer(resource).data, status=status.HTTP_201_CREATED)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The resource with its draft; the ``ETag`` header names the head's state for ``If-Match``."""
        resource = self.get_object()
        return self._with_etag(Response(self.get_serializer(resource).data), resource)

    @extend_schema(parameters=[IF_MATCH])
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Update the head; with ``If-Match: <ETag>`` only while nobody else saved it since (else 412)."""
        resource = self.get_object()
        partial = kwargs.get("partial", False)
        data = self._validated(self.get_serializer(resource, data=request.data, partial=partial))
        data = slug_unchanged_check(data, current=resource.slug)
        resource = versioning.resource_update(
            resource=resource, if_match=request.headers.get("If-Match"), **data
        )
        return self._with_etag(Response(self.get_serializer(resource).data), resource)

    @extend_schema(parameters=[IF_MATCH])
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Update some fields of the head (``If-Match`` as for a full update)."""
        return super().partial_update(request, *args, **kwargs)

    @staticmethod
    def _with_etag(response: Response, resource: VersionedResource) -> Response:
        response["ETag"] = versioning.resource_etag(resource)
        return response

    def _versions(self, resource: _R) -> QuerySet[ResourceVersion]:
        # ignore: django-stubs checks lookups against the abstract base, where the relation is only an annotation.
        return resource.versions.select_related("author").prefetch_related("labels")  # type: ignore[misc]

    @extend_schema(request=PublishInputSerializer, responses={201: VersionSerializer})
    @action(detail=True, methods=["post"])
    def publish(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Freeze the draft as the next version (after validating it)."""
        resource = self.get_object()
        data = PublishInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        self.validate_draft(resource.draft)
        version = versioning.version_publish(
            resource=resource, user=signed_in_user(request), **data.validated_data
        )
        version = self._versions(resource).get(pk=version.pk)
        return Response(VersionSerializer(version).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=VersionSerializer(many=True))
    @action(detail=True, methods=["get"], url_path="versions")
    def versions(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Every version, newest first."""
        resource = self.get_object()
        return Response(VersionSerializer(self._versions(resource), many=True).data)

    @extend_schema(responses=VersionSerializer)
    @action(detail=True, methods=["get"], url_path=r"versions/(?P<number>\d+)")
    def version(self, request: Request, number: str, *args: Any, **kwargs: Any) -> Response:
        """One version with its content."""
        resource = self.get_object()
        versioning.version_get(resource=resource, number=int(number))
        return Response(VersionSerializer(self._versions(resource).get(number=int(number))).data)

    @extend_schema(request=RestoreInputSerializer)
    @action(detail=True, methods=["post"])
    def restore(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Copy a version into the draft."""
        resource = self.get_object()
        data = RestoreInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        resource = versioning.version_restore(
            resource=resource, number=data.validated_data["number"], user=signed_in_user(request)
        )
        return Response(self.get_serializer(resource).data)

    @extend_schema(methods=["put"], request=LabelInputSerializer, responses=LabelSerializer)
    @action(detail=True, methods=["get", "put", "delete"])
    def labels(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """List labels, point one at a version (PUT), or remove one (DELETE ``?name=``)."""
        resource = self.get_object()
        if request.method == "GET":
            labels = resource.labels.select_related("version")  # type: ignore[misc]  # as in _versions
            return Response(LabelSerializer(labels, many=True).data)
        if request.method == "DELETE":
            versioning.label_delete(resource=resource, name=request.query_params.get("name", ""))
            return Response(status=status.HTTP_204_NO_CONTENT)
        data = LabelInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        label = versioning.label_set(
            resource=resource,
            name=data.validated_data["name"],
            number=data.validated_data["version"],
            user=signed_in_user(request),
        )
        return Response(LabelSerializer(label).data)

    @extend_schema(parameters=DIFF_PARAMETERS)
    @action(detail=True, methods=["get"])
    def diff(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """JSON-patch operations from one version to another."""
        resource = self.get_object()
        old, new = diff_range(request)
        return Response(
            {"from": old, "to": new, "changes": versioning.version_diff(resource=resource, old=old, new=new)}
        )
