"""The evaluations API: datasets (a versioned resource, with import/export and "add from runs"), evaluators,
evaluation runs (create, cancel, progress stream, results, summary, compare, export, decision), item review
(lock, verdict, assignment), judge agreement, fine-tuning export and the promotion gates.

Roles: viewers read; editors create datasets, evaluators and runs; reviewing (verdicts, locks, assignment,
decisions) needs a reviewer: an admin or owner, or a member granted ``can_review``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from asgiref.sync import sync_to_async
from django.db.models import QuerySet
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from llmops.accounts.models import Membership, Role
from llmops.accounts.permissions import WORKSPACE_PERMISSIONS, WorkspaceScopedMixin, signed_in_user
from llmops.core.api.parsers import BoundedJSONParser
from llmops.core.api.versioning import VersionedResourceViewSet
from llmops.core.errors import NotFound, PermissionDenied, ValidationError
from llmops.evaluations import datasets, selectors, services
from llmops.evaluations.api.serializers import (
    AssignSerializer,
    DatasetAddRunsSerializer,
    DatasetImportSerializer,
    DatasetSerializer,
    DecisionSerializer,
    EvaluationItemSerializer,
    EvaluationRunCreateSerializer,
    EvaluationRunSerializer,
    EvaluatorSerializer,
    LabelGateSerializer,
    ReviewSerializer,
)
from llmops.evaluations.execution import progress
from llmops.evaluations.models import (
    FINAL_RUN_STATUSES,
    Dataset,
    EvaluationItem,
    EvaluationRun,
    Evaluator,
    LabelGate,
)
from llmops.evaluations.targets import TARGET_PARAMETERS, target_count_check, target_lookup
from llmops.runs.streaming import sse_response

MAX_IMPORT_BYTES = 20 * 1024 * 1024
REVIEW_FILTERS = ("failed", "disagree", "low_confidence", "unreviewed", "mine")


def require_reviewer(membership: Membership) -> None:
    """403 unless the member may review evaluation runs."""
    if not membership.reviews:
        raise PermissionDenied(
            "Reviewing evaluation runs needs an admin, an owner or a member who may review."
        )


def _download(body: str, name: str, content_type: str) -> HttpResponse:
    response = HttpResponse(body, content_type=f"{content_type}; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


class DatasetViewSet(VersionedResourceViewSet[Dataset]):
    """Datasets: items with inputs, expected output, metadata and tags; versions, labels, diff, restore."""

    queryset = Dataset.objects.select_related("created_by")
    serializer_class = DatasetSerializer
    action_roles = {"export": Role.VIEWER}

    def validate_draft(self, draft: dict[str, Any]) -> dict[str, Any]:
        return services.dataset_draft_validate(draft=draft)

    @extend_schema(request={"multipart/form-data": DatasetImportSerializer}, responses=DatasetSerializer)
    @action(detail=True, methods=["post"], url_path="import", parser_classes=[MultiPartParser, FormParser])
    def import_file(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Add items from a CSV or JSONL file to the draft (``mode``: append or replace); all or nothing."""
        dataset = self.get_object()
        data = DatasetImportSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise ValidationError(
                "The file is too large.", fields={"file": [f"At most {MAX_IMPORT_BYTES} bytes."]}
            )
        fmt = data.validated_data.get("format") or upload.name.rsplit(".", 1)[-1].lower()
        dataset = services.dataset_import(
            dataset=dataset, content=upload.read(), fmt=fmt, mode=data.validated_data["mode"]
        )
        return Response(self.get_serializer(dataset).data)

    @extend_schema(
        parameters=[
            OpenApiParameter("as", str, enum=["csv", "jsonl"], description="The file format; default jsonl."),
            OpenApiParameter("version", str, description='A number, "latest", a label; default the draft.'),
        ],
        responses={(200, "text/plain"): OpenApiTypes.STR},
    )
    @action(detail=True, methods=["get"])
    def export(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        """The draft's (or a version's) items as JSONL or CSV."""
        dataset = self.get_object()
        fmt = request.query_params.get("as", "jsonl")
        if fmt not in ("csv", "jsonl"):
            raise ValidationError("Unknown export format.", fields={"as": ["One of csv, jsonl."]})
        items = selectors.dataset_items(dataset=dataset, version=request.query_params.get("version") or None)
        if fmt == "csv":
            return _download(datasets.export_csv(items), f"{dataset.slug}.csv", "text/csv")
        return _download(datasets.export_jsonl(items), f"{dataset.slug}.jsonl", "application/jsonl")

    @extend_schema(request=DatasetAddRunsSerializer, responses=DatasetSerializer)
    @action(detail=True, methods=["post"], url_path="add-runs")
    def add_runs(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Append stored runs of this workspace as items (production traces become test cases)."""
        dataset = self.get_object()
        data = DatasetAddRunsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        dataset = services.dataset_add_runs(
            dataset=dataset,
            run_ids=data.validated_data["runs"],
            with_expected=data.validated_data["with_expected"],
        )
        return Response(self.get_serializer(dataset).data)


class EvaluatorViewSet(WorkspaceScopedMixin, viewsets.ModelViewSet[Evaluator]):
    """Named evaluators of a workspace (``/api/workspaces/<ws>/evaluators/<name>/``)."""

    # The class queryset only tells drf-spectacular the model (the path's type); requests go through the
    # workspace filter of get_queryset, as in VersionedResourceViewSet.
    queryset = Evaluator.objects.all()
    serializer_class = EvaluatorSerializer
    permission_classes = WORKSPACE_PERMISSIONS
    lookup_field = "name"
    parser_classes = [BoundedJSONParser]

    def get_queryset(self) -> QuerySet[Evaluator]:
        return super().get_queryset().filter(workspace=self.workspace)

    def _save(self, request: Request, evaluator: Evaluator | None) -> Evaluator:
        serializer = self.get_serializer(evaluator, data=request.data, partial=evaluator is not None)
        serializer.is_valid(raise_exception=True)
        data = {**(EvaluatorSerializer(evaluator).data if evaluator else {}), **serializer.validated_data}
        return services.evaluator_save(
            workspace=self.workspace, name=data["name"], kind=data["kind"], config=data.get("config", {}),
            description=data.get("description", ""), user=signed_in_user(request), evaluator=evaluator,
        )  # fmt: skip

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(self.get_serializer(self._save(request, None)).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(self.get_serializer(self._save(request, self.get_object())).data)


class EvaluationRunViewSet(
    WorkspaceScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[EvaluationRun],
):
    """Evaluation runs: create (queued on the evals workers), follow, read results, review, decide."""

    queryset = EvaluationRun.objects.all()  # the model, for the schema; requests: get_queryset
    serializer_class = EvaluationRunSerializer
    permission_classes = WORKSPACE_PERMISSIONS
    parser_classes = [BoundedJSONParser]
    action_roles = {
        "summary": Role.VIEWER,
        "items": Role.VIEWER,
        "compare": Role.VIEWER,
        "export": Role.VIEWER,
        "events": Role.VIEWER,
        "agreement": Role.VIEWER,
        "finetune": Role.VIEWER,
        "estimate": Role.EDITOR,
        "decide": Role.VIEWER,
        "review": Role.VIEWER,
        "lock": Role.VIEWER,
        "assign": Role.VIEWER,
    }  # fmt: skip  (the review actions check the reviewer capability themselves)

    def get_queryset(self) -> QuerySet[EvaluationRun]:
        return (
            super()
            .get_queryset()
            .filter(workspace=self.workspace)
            .select_related(
                "dataset",
                "dataset_version",
                "workflow",
                "workflow_version",
                "prompt",
                "prompt_version",
                "chain",
                "chain_version",
                "deployment",
                "decided_by",
            )
        )

    @extend_schema(request=EvaluationRunCreateSerializer, responses={201: EvaluationRunSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Check everything, create the run and its items, queue it; nothing is created on a bad request."""
        return self._launch(request, dry_run=False)

    def _launch(self, request: Request, *, dry_run: bool) -> Response:
        data = EvaluationRunCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        dataset = Dataset.objects.filter(workspace=self.workspace, slug=values["dataset"]).first()
        if dataset is None:
            raise ValidationError(
                "No such dataset.", fields={"dataset": [f"No dataset {values['dataset']!r}."]}
            )
        given = [kind for kind in TARGET_PARAMETERS if values.get(kind)]
        target_count_check(given)
        targets = {
            kind: target_lookup(workspace=self.workspace, kind=kind, slug=values[kind]) for kind in given
        }
        # ``workflow_version`` (the older name) is named back in errors when that is what the client sent.
        refs = {"version": values["version"]} if values.get("version") else {}
        if not refs and values.get("workflow_version"):
            refs = {"workflow_ref": values["workflow_version"]}
        run = services.evaluation_run_create(
            workspace=self.workspace, user=signed_in_user(request), dataset=dataset,
            dataset_ref=values["dataset_version"], **targets, **refs,
            evaluators=values["evaluators"], name=values["name"], pass_threshold=values.get("pass_threshold", 0.5),
            repetitions=values.get("repetitions", 1), max_concurrency=values.get("max_concurrency", 4),
            cost_cap=values.get("cost_cap"), dry_run=dry_run,
        )  # fmt: skip
        if dry_run:
            cost = run.estimated_cost
            return Response({"total": run.total, "estimated_cost": None if cost is None else f"{cost:.6f}"})
        return Response(self.get_serializer(run).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=EvaluationRunCreateSerializer, responses=OpenApiTypes.OBJECT)
    @action(detail=False, methods=["post"])
    def estimate(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """What a launch would make: its item count and cost estimate (from the target's recent runs; null
        without history), checked as a launch is, nothing created."""
        return self._launch(request, dry_run=True)

    @extend_schema(request=None, responses=EvaluationRunSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Stop the run: pending items are skipped, items being scored finish."""
        return Response(self.get_serializer(services.evaluation_run_cancel(run=self.get_object())).data)

    @extend_schema(responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"])
    def summary(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Progress and aggregates: mean score, pass rate, latency p50/p95, cost, per evaluator."""
        return Response(selectors.run_summary(self.get_object()))

    @extend_schema(
        parameters=[OpenApiParameter("filter", str, many=True, enum=list(REVIEW_FILTERS))],
        responses=EvaluationItemSerializer(many=True),
    )
    @action(detail=True, methods=["get"])
    def items(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The items with outputs, scores and reviews; ``filter`` narrows to a review queue."""
        filters = request.query_params.getlist("filter")
        unknown = [f for f in filters if f not in REVIEW_FILTERS]
        if unknown:
            raise ValidationError(
                "Unknown filter.", fields={"filter": [f"One of {', '.join(REVIEW_FILTERS)}."]}
            )
        queue = selectors.review_queue(self.get_object(), filters=filters, user=signed_in_user(request))
        return Response(
            EvaluationItemSerializer(
                queue.select_related("reviewed_by", "assigned_to", "locked_by"), many=True
            ).data
        )

    @extend_schema(parameters=[OpenApiParameter("with", int, required=True)], responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"])
    def compare(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """This run against a baseline run (``?with=<id>``) item by item: regressions, improvements and the
        difference in pass rate (this minus the baseline) with a paired bootstrap 95% interval."""
        other_id = request.query_params.get("with", "")
        other = self.get_queryset().filter(pk=int(other_id)).first() if other_id.isdigit() else None
        if other is None:
            raise ValidationError("Name the run to compare with.", fields={"with": ["An evaluation run id."]})
        return Response(selectors.runs_compare(other, self.get_object()))

    @extend_schema(
        parameters=[OpenApiParameter("as", str, enum=["csv", "jsonl"], description="The file format.")],
        responses={(200, "text/plain"): OpenApiTypes.STR},
    )
    @action(detail=True, methods=["get"])
    def export(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        """Every item's result as CSV or JSONL."""
        run = self.get_object()
        fmt = "csv" if request.query_params.get("as") == "csv" else "jsonl"
        return _download(selectors.results_export(run, fmt), f"evaluation-{run.pk}.{fmt}", f"text/{fmt}")

    @extend_schema(responses={(200, "text/event-stream"): OpenApiTypes.STR})
    @action(detail=True, methods=["get"])
    def events(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        """Progress as server-sent events (``progress`` about once a second) until the run ends."""
        run = self.get_object()

        async def stream() -> AsyncIterator[str]:
            last = None
            while True:
                await sync_to_async(run.refresh_from_db)()
                current = await sync_to_async(progress)(run)
                if current != last:
                    yield f"event: progress\ndata: {json.dumps(current)}\n\n"
                    last = current
                if run.status in FINAL_RUN_STATUSES:
                    yield f"event: done\ndata: {json.dumps({'status': run.status})}\n\n"
                    return
                await asyncio.sleep(1.0)

        return sse_response(stream())

    @extend_schema(request=DecisionSerializer, responses=EvaluationRunSerializer)
    @action(detail=True, methods=["post"])
    def decide(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Approve or reject the run (reviewers only)."""
        require_reviewer(self.membership)
        data = DecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run = services.evaluation_run_decide(
            run=self.get_object(), user=signed_in_user(request), decision=data.validated_data["decision"],
            comment=data.validated_data["comment"],
        )  # fmt: skip
        return Response(self.get_serializer(run).data)

    def _item(self, item_id: str) -> EvaluationItem:
        item = EvaluationItem.objects.filter(
            run=self.get_object(), pk=int(item_id) if item_id.isdigit() else 0
        ).first()
        if item is None:
            raise NotFound(f"No item {item_id!r} in this evaluation run.")
        return item

    @extend_schema(request=ReviewSerializer, responses=EvaluationItemSerializer)
    @action(detail=True, methods=["post"], url_path=r"items/(?P<item>[0-9]+)/review")
    def review(self, request: Request, item: str, *args: Any, **kwargs: Any) -> Response:
        """A reviewer's verdict on one item (pass/fail, score, comment, corrected output)."""
        require_reviewer(self.membership)
        data = ReviewSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        reviewed = services.item_review(
            item=self._item(item), user=signed_in_user(request), **data.validated_data
        )
        return Response(EvaluationItemSerializer(reviewed).data)

    @extend_schema(request=None, responses=EvaluationItemSerializer)
    @action(detail=True, methods=["post"], url_path=r"items/(?P<item>[0-9]+)/lock")
    def lock(self, request: Request, item: str, *args: Any, **kwargs: Any) -> Response:
        """Take the review lock on an item (409 while another reviewer holds it)."""
        require_reviewer(self.membership)
        return Response(
            EvaluationItemSerializer(
                services.item_lock(item=self._item(item), user=signed_in_user(request))
            ).data
        )

    @extend_schema(request=AssignSerializer, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["post"])
    def assign(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Assign items to a reviewer of this workspace (or unassign them)."""
        require_reviewer(self.membership)
        data = AssignSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        reviewer = None
        if data.validated_data["reviewer"]:
            member = (
                Membership.objects.filter(
                    workspace=self.workspace, user__username=data.validated_data["reviewer"]
                )
                .select_related("user")
                .first()
            )
            if member is None:
                raise ValidationError(
                    "No such member.", fields={"reviewer": ["Not a member of this workspace."]}
                )
            if not member.reviews:
                raise ValidationError(
                    f"{member.user.username} cannot review evaluations here.",
                    fields={"reviewer": ["Not a reviewer: an admin can grant it (can review) to a member."]},
                )
            reviewer = member.user
        items = EvaluationItem.objects.filter(run=self.get_object(), pk__in=data.validated_data["items"])
        return Response({"assigned": services.item_assign(items=items, reviewer=reviewer)})

    @extend_schema(responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"])
    def agreement(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Judge-versus-human agreement on this run's reviewed items (raw and Cohen's kappa)."""
        return Response(selectors.agreement([self.get_object()]))

    @extend_schema(
        parameters=[
            OpenApiParameter("runs", str, description="Comma-separated run ids."),
            OpenApiParameter("as", str, enum=["chat", "instruction"]),
            OpenApiParameter("split", str, enum=["train", "validation"]),
        ],
        responses={(200, "text/plain"): OpenApiTypes.STR},
    )
    @action(detail=False, methods=["get"])
    def finetune(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        """Reviewed items of the runs as fine-tuning JSONL (approved outputs or the reviewers' corrections)."""
        ids = [int(v) for v in request.query_params.get("runs", "").split(",") if v.strip().isdigit()]
        runs = list(self.get_queryset().filter(pk__in=ids))
        if not runs:
            raise ValidationError("Name evaluation runs.", fields={"runs": ["Comma-separated run ids."]})
        fmt = "instruction" if request.query_params.get("as") == "instruction" else "chat"
        split = "validation" if request.query_params.get("split") == "validation" else "train"
        body = selectors.finetune_export(runs, fmt=fmt)[split]
        return _download(body, f"finetune-{split}.jsonl", "application/jsonl")


class LabelGateViewSet(
    WorkspaceScopedMixin, mixins.ListModelMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin,
    viewsets.GenericViewSet[LabelGate],
):  # fmt: skip
    """Promotion gates: moving a label onto a workflow, prompt or chain version needs an approved evaluation
    run of that version."""

    queryset = LabelGate.objects.all()  # the model, for the schema; requests: get_queryset
    serializer_class = LabelGateSerializer
    permission_classes = WORKSPACE_PERMISSIONS
    write_role = Role.ADMIN
    parser_classes = [BoundedJSONParser]

    def get_queryset(self) -> QuerySet[LabelGate]:
        return (
            super()
            .get_queryset()
            .filter(workspace=self.workspace)
            .select_related("workflow", "prompt", "chain")
        )

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        slugs = {kind: values.pop(kind, None) for kind in ("workflow", "prompt", "chain")}
        named = [kind for kind, slug in slugs.items() if slug]
        if len(named) > 1:
            message = "Gate one resource: a workflow, a prompt or a chain (or none for all of a kind)."
            raise ValidationError(message, fields={named[1]: [message]})
        resource = None
        if named:
            resource = target_lookup(workspace=self.workspace, kind=named[0], slug=slugs[named[0]])
        gate = services.gate_save(workspace=self.workspace, resource=resource, **values)
        return Response(self.get_serializer(gate).data, status=status.HTTP_201_CREATED)
