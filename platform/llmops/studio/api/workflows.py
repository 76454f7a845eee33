"""Workflow API: versioned drafts validated by the engine, runs, YAML export and import."""

from __future__ import annotations

from typing import Any

import yaml
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from llmops.accounts.models import Role
from llmops.accounts.permissions import signed_in_user
from llmops.core import versioning
from llmops.core.api.versioning import VersionedResourceSerializer, VersionedResourceViewSet
from llmops.runs.api.serializers import RunSerializer, RunStartSerializer
from llmops.runs.debug import debug_run_start, node_debug_run_start
from llmops.runs.services import run_start
from llmops.studio.dify.api import DifyImportResultSerializer, DifyImportSerializer, dify_import_failure
from llmops.studio.models import Workflow
from llmops.studio.services import (
    workflow_check,
    workflow_draft_validate,
    workflow_import,
    workflow_import_dify,
)


class WorkflowSerializer(VersionedResourceSerializer):
    class Meta(VersionedResourceSerializer.Meta):
        model = Workflow


class WorkflowImportSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=200, required=False)
    slug = serializers.SlugField(max_length=100)
    document = serializers.CharField(help_text="The workflow as YAML or JSON (our DSL).")


class WorkflowCheckSerializer(serializers.Serializer[Any]):
    draft = serializers.JSONField(help_text="A workflow document (our DSL), saved or not.")
    node = serializers.CharField(
        required=False, max_length=64, help_text="Also answer this node's variables."
    )


class WorkflowProblemSerializer(serializers.Serializer[Any]):
    path = serializers.CharField()
    message = serializers.CharField()
    node_id = serializers.CharField(allow_null=True)
    code = serializers.CharField()


class WorkflowCheckResultSerializer(serializers.Serializer[Any]):
    valid = serializers.BooleanField()
    problems = WorkflowProblemSerializer(many=True)
    handles = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Each node's branch handles (outgoing edges name one), for nodes whose config is valid.",
    )
    variables = serializers.JSONField(
        required=False, help_text="For ``node``: {root: {output: type} or null}, what its templates may read."
    )
    reads = serializers.JSONField(
        required=False,
        help_text="For ``node``: {upstream node id: [output names] or null (the whole node)}, what it does "
        "read: the values a single-node debug run asks for.",
    )


class DebugRunSerializer(serializers.Serializer[Any]):
    draft = serializers.JSONField(
        required=False,
        help_text="The document to run (the canvas's, saved or not); default: the stored draft.",
    )
    inputs = serializers.JSONField(default=dict, help_text="The run's inputs (whole runs).")
    node = serializers.CharField(
        required=False,
        max_length=64,
        help_text="Run only this node, the nodes upstream taken from ``values``.",
    )
    values = serializers.JSONField(
        required=False,
        help_text="For ``node``: {upstream node id: {output: value}} (the start node's are the inputs).",
    )


class WorkflowViewSet(VersionedResourceViewSet[Workflow]):
    """Workflows of a workspace; drafts are validated by the engine on every save."""

    queryset = Workflow.objects.all()
    serializer_class = WorkflowSerializer
    action_roles = {"check": Role.VIEWER}  # reads only: a viewer's canvas shows the problems too

    def validate_draft(self, draft: dict[str, Any]) -> dict[str, Any]:
        return workflow_draft_validate(draft=draft)

    @extend_schema(request=WorkflowCheckSerializer, responses=WorkflowCheckResultSerializer)
    @action(detail=False, methods=["post"])
    def check(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Every problem of a document (each with its node id and path) without saving it, and with ``node``
        the variables reachable at that node: the editor's inline errors and variable picker."""
        data = WorkflowCheckSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(
            workflow_check(draft=data.validated_data["draft"], node=data.validated_data.get("node"))
        )

    @extend_schema(request=RunStartSerializer, responses={202: RunSerializer})
    @action(detail=True, methods=["post"])
    def run(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Start a run of a version (default: latest published; ``draft`` is not runnable: publish first)."""
        workflow = self.get_object()
        data = RunStartSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run = run_start(
            workflow=workflow, ref=data.validated_data["version"], inputs=data.validated_data["inputs"],
            user=signed_in_user(request),
        )  # fmt: skip
        return Response(RunSerializer(run).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=DebugRunSerializer, responses={202: RunSerializer})
    @action(detail=True, methods=["post"], url_path="debug-run")
    def debug_run(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Run the draft without publishing it (a debug run, metered apart from production), or with ``node``
        only that node, on hand-entered values for what it reads upstream."""
        workflow = self.get_object()
        data = DebugRunSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        user = signed_in_user(request)
        if "node" in values:
            run = node_debug_run_start(
                workflow=workflow, draft=values.get("draft"), node=values["node"], inputs=values["inputs"],
                values=values.get("values"), user=user,
            )  # fmt: skip
        else:
            run = debug_run_start(
                workflow=workflow, draft=values.get("draft"), inputs=values["inputs"], user=user
            )
        return Response(RunSerializer(run).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(parameters=[OpenApiParameter("version", str)], responses={(200, "application/yaml"): str})
    @action(detail=True, methods=["get"])
    def export(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        """The draft (or ``?version=3|label``) as a YAML document."""
        workflow = self.get_object()
        ref = request.query_params.get("version")
        content = (
            workflow.draft if ref is None else versioning.version_resolve(resource=workflow, ref=ref).content
        )
        document = {**content, "name": content.get("name") or workflow.name}
        response = HttpResponse(yaml.safe_dump(document, sort_keys=False, allow_unicode=True),
                                content_type="application/yaml")  # fmt: skip
        response["Content-Disposition"] = f'attachment; filename="{workflow.slug}.yaml"'
        return response

    @extend_schema(request=WorkflowImportSerializer, responses={201: WorkflowSerializer})
    @action(detail=False, methods=["post"], url_path="import")
    def import_document(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Create a workflow from a YAML/JSON document of our DSL; an invalid one creates nothing."""
        data = WorkflowImportSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        workflow = workflow_import(
            workspace=self.workspace, user=signed_in_user(request), slug=values["slug"],
            name=values.get("name"), document=values["document"],
        )  # fmt: skip
        return Response(WorkflowSerializer(workflow).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=DifyImportSerializer, responses={201: DifyImportResultSerializer})
    @action(detail=False, methods=["post"], url_path="import-dify")
    def import_dify(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Create a workflow from a Dify DSL file; a failed import creates nothing and returns the report."""
        data = DifyImportSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        result = workflow_import_dify(
            workspace=self.workspace, user=signed_in_user(request), slug=values["slug"],
            name=values.get("name"), document=values["document"],
        )  # fmt: skip
        if result.workflow is None:
            return dify_import_failure(result.report)
        body = {"workflow": WorkflowSerializer(result.workflow).data, "report": result.report.to_dict()}
        return Response(body, status=status.HTTP_201_CREATED)
