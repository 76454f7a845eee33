"""Console API of runs: list and filter, detail with node timeline, cancel, rerun, live events (SSE)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from llmops.accounts.permissions import WORKSPACE_PERMISSIONS, WorkspaceScopedMixin, signed_in_user
from llmops.runs import selectors, services
from llmops.runs.api.serializers import RunDetailSerializer, RunFilterSerializer, RunSerializer
from llmops.runs.models import Run
from llmops.runs.streaming import event_cursor, sse_lines, sse_response


class RunViewSet(WorkspaceScopedMixin, viewsets.ReadOnlyModelViewSet[Run]):
    """Runs of a workspace (viewers read; editors cancel and rerun)."""

    permission_classes = WORKSPACE_PERMISSIONS
    serializer_class = RunSerializer
    lookup_value_regex = r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}"

    def get_queryset(self) -> QuerySet[Run]:
        filters = RunFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return selectors.runs_for_workspace(workspace=self.workspace, filters=filters.validated_data)

    def get_object(self) -> Run:
        return selectors.run_for_workspace(workspace=self.workspace, run_id=self.kwargs["pk"])

    @extend_schema(parameters=[RunFilterSerializer])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(responses=RunDetailSerializer)
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # Any: the detail serializer reads the node timeline from an attribute that is no column of Run.
        run: Any = self.get_object()
        run.timeline = list(selectors.node_timeline(run=run))
        return Response(RunDetailSerializer(run).data)

    @extend_schema(request=None, responses=RunSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Cancel: a queued run ends now; a running one stops its nodes within a heartbeat."""
        run = services.run_cancel(run=self.get_object())
        return Response(RunSerializer(run).data)

    @extend_schema(request=None, responses={202: RunSerializer})
    @action(detail=True, methods=["post"])
    def rerun(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """A new run of the same version with the same inputs."""
        run = services.run_rerun(run=self.get_object(), user=signed_in_user(request))
        return Response(RunSerializer(run).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        parameters=[
            OpenApiParameter("Last-Event-ID", int, OpenApiParameter.HEADER),
            OpenApiParameter("after", int),
        ],
        responses={(200, "text/event-stream"): str},
    )
    @action(detail=True, methods=["get"])
    def events(self, request: Request, *args: Any, **kwargs: Any) -> StreamingHttpResponse:
        """Server-sent events of the run, resuming after ``Last-Event-ID`` (or ``?after=``)."""
        run = self.get_object()
        after = event_cursor(request.headers.get("Last-Event-ID") or request.query_params.get("after"))
        return sse_response(sse_lines(str(run.id), after))
