"""The knowledge API: knowledge bases, documents (upload/text/URL), chunks, hit testing, Dify's external
knowledge endpoint. Views validate, call one service or selector, and serialize."""

from __future__ import annotations

from dataclasses import asdict
from functools import cached_property
from typing import Any

from django.db.models import Count, QuerySet
from drf_spectacular.utils import extend_schema
from knox.auth import TokenAuthentication
from rest_framework import mixins, status, viewsets
from rest_framework.authentication import BaseAuthentication
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from llmops.accounts.models import Membership
from llmops.accounts.permissions import WORKSPACE_PERMISSIONS, WorkspaceScopedMixin, signed_in_user
from llmops.core.api.parsers import BoundedJSONParser
from llmops.core.api.slugs import slug_unchanged_check
from llmops.core.api.versioning import (
    DIFF_PARAMETERS,
    LabelInputSerializer,
    LabelSerializer,
    PublishInputSerializer,
    RestoreInputSerializer,
    diff_range,
)
from llmops.core.errors import AuthenticationRequired, PermissionDenied
from llmops.deployments import keys
from llmops.deployments import services as deployment_services
from llmops.deployments.models import ApiKey, Scope
from llmops.knowledge import selectors, services, versions
from llmops.knowledge.api.serializers import (
    ChunkSerializer,
    DocumentCreateSerializer,
    DocumentSerializer,
    ExternalRecordsSerializer,
    ExternalRetrievalSerializer,
    HitTestingInputSerializer,
    HitTestingSerializer,
    KnowledgeBaseSerializer,
    KnowledgeVersionDetailSerializer,
    KnowledgeVersionSerializer,
)
from llmops.knowledge.models import Chunk, Document, KnowledgeBase, KnowledgeBaseVersion
from llmops.knowledge.search import knowledge_search, knowledge_search_result
from llmops.knowledge.search_queries import Hit


def _hit_data(hit: Hit) -> dict[str, Any]:
    data = asdict(hit)
    data.pop("parent_position")
    return data


class KnowledgeBaseViewSet(WorkspaceScopedMixin, viewsets.ModelViewSet[KnowledgeBase]):
    """``/api/workspaces/<ws>/knowledge-bases/``: CRUD and ``hit-testing/``."""

    serializer_class = KnowledgeBaseSerializer
    permission_classes = WORKSPACE_PERMISSIONS
    lookup_field = "slug"
    action_roles = {"hit_testing": "viewer"}

    def get_queryset(self) -> QuerySet[KnowledgeBase]:
        return selectors.knowledge_bases_for_workspace(workspace=self.workspace).annotate(
            document_count=Count("documents")
        )

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        kb = services.knowledge_base_create(workspace=self.workspace, **serializer.validated_data)
        return Response(self.get_serializer(kb).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        kb = self.get_object()
        serializer = self.get_serializer(kb, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        changes = slug_unchanged_check(serializer.validated_data, current=kb.slug)
        kb = services.knowledge_base_update(knowledge_base=kb, **changes)
        return Response(self.get_serializer(kb).data)

    def perform_destroy(self, instance: KnowledgeBase) -> None:
        services.knowledge_base_delete(knowledge_base=instance)

    @extend_schema(request=HitTestingInputSerializer, responses=HitTestingSerializer)
    @action(detail=True, methods=["post"], url_path="hit-testing")
    def hit_testing(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Query -> ranked chunks with the final score and each mode's score, and notices (e.g. a re-embed
        whose previous vectors cannot be searched); ``version`` searches a published version instead of
        the head."""
        kb = self.get_object()
        data = HitTestingInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        scope = versions.knowledge_scope_for(knowledge_base=kb, version=values.pop("version"))
        result = knowledge_search_result(knowledge_bases=[scope], **values)
        records = [_hit_data(h) for h in result.hits]
        return Response(
            {"query": values["query"], "searched": scope.ref, "records": records, "notices": result.notices}
        )

    def _versions(self, kb: KnowledgeBase) -> QuerySet[KnowledgeBaseVersion]:
        return kb.versions.select_related("author").prefetch_related("labels")

    @extend_schema(request=PublishInputSerializer, responses={201: KnowledgeVersionSerializer})
    @action(detail=True, methods=["post"])
    def publish(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Freeze the head as the next version; documents without a complete generation are left out and
        listed in ``excluded`` with the reason."""
        kb = self.get_object()
        data = PublishInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        version = versions.knowledge_version_publish(
            knowledge_base=kb, user=signed_in_user(request), **data.validated_data
        )
        version = self._versions(kb).get(pk=version.pk)
        return Response(KnowledgeVersionSerializer(version).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=KnowledgeVersionSerializer(many=True))
    @action(detail=True, methods=["get"], url_path="versions")
    def versions(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Every version, newest first."""
        return Response(KnowledgeVersionSerializer(self._versions(self.get_object()), many=True).data)

    @extend_schema(methods=["get"], responses=KnowledgeVersionDetailSerializer)
    @action(detail=True, methods=["get", "delete"], url_path=r"versions/(?P<number>\d+)")
    def version(self, request: Request, number: str, *args: Any, **kwargs: Any) -> Response:
        """One version with its documents (GET), or delete it (DELETE) when no label or deployment uses it."""
        kb = self.get_object()
        if request.method == "DELETE":
            versions.knowledge_version_delete(knowledge_base=kb, number=int(number))
            return Response(status=status.HTTP_204_NO_CONTENT)
        versions.knowledge_version_get(knowledge_base=kb, ref=int(number))
        version = self._versions(kb).prefetch_related("members__document").get(number=int(number))
        return Response(KnowledgeVersionDetailSerializer(version).data)

    @extend_schema(request=RestoreInputSerializer, responses=KnowledgeBaseSerializer)
    @action(detail=True, methods=["post"])
    def restore(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Make the head what a version is (its documents at their generations, its settings)."""
        kb = self.get_object()
        data = RestoreInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        versions.knowledge_version_restore(
            knowledge_base=kb, number=data.validated_data["number"], user=signed_in_user(request)
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=kb.pk)).data)

    @extend_schema(methods=["put"], request=LabelInputSerializer, responses=LabelSerializer)
    @action(detail=True, methods=["get", "put", "delete"])
    def labels(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """List labels, point one at a version (PUT), or remove one (DELETE ``?name=``)."""
        kb = self.get_object()
        if request.method == "GET":
            return Response(LabelSerializer(kb.labels.select_related("version"), many=True).data)
        if request.method == "DELETE":
            versions.knowledge_label_delete(knowledge_base=kb, name=request.query_params.get("name", ""))
            return Response(status=status.HTTP_204_NO_CONTENT)
        data = LabelInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        label = versions.knowledge_label_set(
            knowledge_base=kb, name=data.validated_data["name"], number=data.validated_data["version"],
            user=signed_in_user(request),
        )  # fmt: skip
        return Response(LabelSerializer(label).data)

    @extend_schema(parameters=DIFF_PARAMETERS)
    @action(detail=True, methods=["get"])
    def diff(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """What changed between two versions: settings, documents added, removed, re-chunked, edited."""
        kb = self.get_object()
        old, new = diff_range(request)
        return Response(versions.knowledge_version_diff(knowledge_base=kb, old=old, new=new))


class _InKnowledgeBase(WorkspaceScopedMixin):
    @cached_property
    def knowledge_base(self) -> KnowledgeBase:
        return selectors.knowledge_base_get(workspace=self.workspace, slug_or_id=self.kwargs["kb"])


class DocumentViewSet(
    _InKnowledgeBase,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[Document],
):
    """``.../knowledge-bases/<kb>/documents/``: list with status and progress, upload/paste/URL, re-ingest."""

    serializer_class = DocumentSerializer
    permission_classes = WORKSPACE_PERMISSIONS
    parser_classes = [MultiPartParser, FormParser, BoundedJSONParser]

    def get_queryset(self) -> QuerySet[Document]:
        return selectors.documents_for_knowledge_base(knowledge_base=self.knowledge_base)

    @extend_schema(request=DocumentCreateSerializer, responses=DocumentSerializer)
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        self.knowledge_base  # noqa: B018 -- 404 for an unknown knowledge base before validating the body
        data = DocumentCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        common = {"knowledge_base": self.knowledge_base, "metadata": values["metadata"]}
        if "file" in values:
            upload = values["file"]
            services.document_size_check(size=upload.size)  # before reading a huge file into memory
            document = services.document_upload(
                file_name=upload.name, content=upload.read(), mime_type=upload.content_type or "",
                title=values["title"], **common,
            )  # fmt: skip
        elif "text" in values:
            document = services.document_create_from_text(
                title=values["title"] or "Text", text=values["text"], **common
            )
        else:
            document = services.document_create_from_url(url=values["url"], title=values["title"], **common)
        return Response(DocumentSerializer(document).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance: Document) -> None:
        services.document_delete(document=instance)

    @extend_schema(request=None, responses=DocumentSerializer)
    @action(detail=True, methods=["post"])
    def reingest(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Parse, chunk and embed again; the current chunks stay searchable until the new ones are ready."""
        document = self.get_object()
        services.document_reingest(document_id=document.pk)
        document.refresh_from_db()
        return Response(DocumentSerializer(document).data, status=status.HTTP_202_ACCEPTED)


class ChunkViewSet(
    _InKnowledgeBase, mixins.ListModelMixin, mixins.UpdateModelMixin, viewsets.GenericViewSet[Chunk]
):
    """``.../documents/<document>/chunks/``: browse, edit text (re-embedded), enable/disable."""

    serializer_class = ChunkSerializer
    permission_classes = WORKSPACE_PERMISSIONS
    http_method_names = ["get", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[Chunk]:
        document = selectors.documents_for_knowledge_base(knowledge_base=self.knowledge_base).filter(
            pk=self.kwargs["document"]
        )
        found = document.first()
        return selectors.chunks_for_document(document=found) if found else Chunk.objects.none()

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        chunk = self.get_object()
        data = ChunkSerializer(chunk, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        chunk = services.chunk_update(
            chunk=chunk, text=data.validated_data.get("text"), enabled=data.validated_data.get("enabled")
        )
        return Response(ChunkSerializer(chunk).data)


class BearerTokenAuthentication(TokenAuthentication):  # type: ignore[misc]
    """Knox tokens sent as ``Authorization: Bearer <token>`` (what Dify sends to external knowledge APIs)."""

    def authenticate_header(self, request: Request) -> str:
        return "Bearer"


class KnowledgeKeyAuthentication(BaseAuthentication):
    """A workspace API key with the ``knowledge`` scope (``Bearer llm-<prefix>-<secret>``): what the console
    gives Dify, good for this endpoint only (it runs no deployment and opens no other API). The key acts as
    the member who created it, so it stops working when they leave the workspace; other bearer tokens are
    left to the knox classes."""

    def authenticate(self, request: Request) -> tuple[Any, ApiKey] | None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or keys.token_prefix(token) is None:
            return None
        key = deployment_services.api_key_authenticate(token=token)
        deployment_services.api_key_require_scope(key=key, scope=Scope.KNOWLEDGE)
        creator = key.created_by
        member = Membership.objects.filter(user=creator, workspace_id=key.workspace_id).exists()
        if creator is None or not creator.is_active or not member:
            raise AuthenticationRequired("The member who created this API key has left; create a new key.")
        return creator, key

    def authenticate_header(self, request: Request) -> str:
        return "Bearer"


class ExternalKnowledgeRetrievalView(WorkspaceScopedMixin, APIView):
    """Dify's External Knowledge API: ``POST .../external-knowledge/retrieval``.

    Authenticated with a workspace API key of the ``knowledge`` scope (or a member's token). ``knowledge_id``
    is a knowledge-base reference (slug or id, ``kb:3``, ``kb@production``, ``kb@draft``); answers ``{"records": [{content, score, title,
    metadata}]}``, errors as Dify's ``{"error_code", "error_msg"}`` (1001 bad header, 1002 auth failed,
    2001 unknown knowledge base).
    """

    authentication_classes = [KnowledgeKeyAuthentication, BearerTokenAuthentication, TokenAuthentication]
    permission_classes = WORKSPACE_PERMISSIONS
    write_role = "viewer"

    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)
        code = {401: 1002, 403: 1002, 404: 2001}.get(
            response.status_code, 1001 if response.status_code == 400 else 500
        )
        message = getattr(exc, "message", None) or str(getattr(exc, "detail", exc))
        return Response({"error_code": code, "error_msg": message}, status=response.status_code)

    @extend_schema(request=ExternalRetrievalSerializer, responses=ExternalRecordsSerializer)
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if isinstance(request.auth, ApiKey) and request.auth.workspace_id != self.workspace.pk:
            raise PermissionDenied("This API key belongs to another workspace.")
        data = ExternalRetrievalSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        scope = versions.knowledge_scope_resolve(
            workspace_id=self.workspace.pk, ref=values["knowledge_id"], field="knowledge_id"
        )
        setting = values["retrieval_setting"]
        hits = knowledge_search(
            knowledge_bases=[scope], query=values["query"], top_k=setting["top_k"],
            score_threshold=setting.get("score_threshold") or None,
        )  # fmt: skip
        records = [
            {
                "content": hit.text,
                "score": hit.score,
                "title": hit.document_title,
                "metadata": {**hit.metadata, "document_id": hit.document_id, "position": hit.position},
            }
            for hit in hits
        ]
        return Response({"records": records})
