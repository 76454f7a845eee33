"""Schedules API: cron triggers of workflow versions or labels."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from llmops.accounts.permissions import WORKSPACE_PERMISSIONS, WorkspaceScopedMixin, signed_in_user
from llmops.core.errors import NotFound
from llmops.runs import schedules
from llmops.runs.models import Schedule
from llmops.studio.models import Workflow


class ScheduleSerializer(serializers.ModelSerializer[Schedule]):
    workflow = serializers.SlugField(source="workflow.slug")

    class Meta:
        model = Schedule
        fields = ["id", "workflow", "name", "version", "cron", "timezone", "inputs", "enabled", "created_at",
                  "last_run_at", "last_error"]  # fmt: skip
        read_only_fields = ["id", "created_at", "last_run_at", "last_error"]


class ScheduleViewSet(WorkspaceScopedMixin, viewsets.ModelViewSet[Schedule]):
    """Schedules of a workspace (editors write)."""

    permission_classes = WORKSPACE_PERMISSIONS
    serializer_class = ScheduleSerializer

    def get_queryset(self) -> QuerySet[Schedule]:
        return (
            Schedule.objects.filter(workspace=self.workspace)
            .select_related("workflow")
            .defer("workflow__draft")
        )

    def _workflow(self, slug: str) -> Workflow:
        workflow = Workflow.objects.filter(workspace=self.workspace, slug=slug).first()
        if workflow is None:
            raise NotFound(f"Workflow {slug!r} not found.")
        return workflow

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        workflow = self._workflow(fields.pop("workflow")["slug"])
        schedule = schedules.schedule_create(workflow=workflow, user=signed_in_user(request), **fields)
        return Response(self.get_serializer(schedule).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        schedule = self.get_object()
        data = self.get_serializer(schedule, data=request.data, partial=kwargs.get("partial", False))
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        fields.pop("workflow", None)  # a schedule stays with its workflow
        return Response(self.get_serializer(schedules.schedule_update(schedule=schedule, **fields)).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        schedules.schedule_delete(schedule=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
