"""Admin for evaluations: datasets, evaluators, gates, and the review of evaluation runs.

The review happens here: a run's page shows its progress bar, aggregates, judge agreement and decision
actions (approve / reject); its items form the review queue (filters: failed, judge and deterministic
disagree, low judge confidence, not yet reviewed, assigned to me), and an item's page shows input,
expected, output, scores and the target run side by side, with the verdict, score, comment and corrected
output to fill in. Opening an item takes its review lock; saving while another reviewer holds it is refused.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from llmops.accounts.models import User
from llmops.core.admin import ResourceVersionAdmin, VersionedResourceAdmin, label_inline, version_inline
from llmops.core.errors import LLMOpsError
from llmops.core.errors import ValidationError as LLMOpsValidationError
from llmops.evaluations import selectors, services
from llmops.evaluations.evaluators import validate_config
from llmops.evaluations.execution import progress
from llmops.evaluations.models import (
    Dataset,
    DatasetLabel,
    DatasetVersion,
    Decision,
    EvaluationItem,
    EvaluationRun,
    Evaluator,
    GateDecision,
    ItemStatus,
    LabelGate,
    Verdict,
)


@admin.register(Dataset)
class DatasetAdmin(VersionedResourceAdmin):
    inlines = [label_inline(DatasetLabel), version_inline(DatasetVersion)]


@admin.register(DatasetVersion)
class DatasetVersionAdmin(ResourceVersionAdmin):
    pass


@admin.register(DatasetLabel)
class DatasetLabelAdmin(admin.ModelAdmin[DatasetLabel]):
    list_display = ["name", "resource", "version", "updated_by", "updated_at"]
    list_filter = ["name", "resource__workspace"]
    search_fields = ["name", "resource__slug"]
    list_select_related = ["resource", "version", "updated_by"]
    raw_id_fields = ["resource", "version", "updated_by"]


class EvaluatorForm(forms.ModelForm[Evaluator]):
    """Checks the config as the API does, so an evaluator saved here cannot fail every run that uses it."""

    class Meta:
        model = Evaluator
        fields = ["workspace", "name", "kind", "config", "description", "created_by"]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("kind") and "config" in data:
            try:
                data["config"] = validate_config(data["kind"], data["config"])
            except LLMOpsValidationError as exc:
                field = "kind" if "kind" in exc.fields else "config"
                self.add_error(field, "; ".join(f"{k}: {', '.join(v)}" for k, v in exc.fields.items()))
        return data


@admin.register(Evaluator)
class EvaluatorAdmin(admin.ModelAdmin[Evaluator]):
    form = EvaluatorForm
    list_display = ["name", "kind", "workspace", "updated_at"]
    list_filter = ["kind", "workspace"]
    search_fields = ["name"]


@admin.register(LabelGate)
class LabelGateAdmin(admin.ModelAdmin[LabelGate]):
    list_display = ["label", "workspace", "kind", "resource", "min_pass_rate", "min_score"]
    raw_id_fields = ["workspace", "workflow", "prompt", "chain"]


@admin.register(GateDecision)
class GateDecisionAdmin(admin.ModelAdmin[GateDecision]):
    list_display = ["created_at", "kind", "resource", "version_number", "label", "allowed", "reason", "user"]
    list_filter = ["allowed", "label", "kind"]

    @admin.display(description="resource")
    def resource(self, decision: GateDecision) -> str:
        found = decision.workflow or decision.prompt or decision.chain
        return found.slug if found else "-"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _pre(value: Any) -> SafeString:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, indent=2)
    return format_html('<pre style="white-space: pre-wrap; max-width: 60em">{}</pre>', text)


@admin.register(EvaluationRun)
class EvaluationRunAdmin(admin.ModelAdmin[EvaluationRun]):
    list_display = [
        "__str__",
        "target_name",
        "dataset",
        "status",
        "progress_bar",
        "decision",
        "created_at",
    ]
    list_filter = ["status", "decision", "target_kind", "workspace"]
    readonly_fields = [
        "workspace", "name", "dataset", "dataset_version", "target_name", "deployment", "evaluators_shown",
        "pass_threshold", "repetitions", "max_concurrency", "cost_cap", "estimated_cost", "status", "error",
        "total", "progress_bar", "summary", "judge_agreement", "review_queue", "decision", "decided_by",
        "decided_at", "created_by", "created_at", "started_at", "finished_at",
    ]  # fmt: skip
    fields = [*readonly_fields, "decision_comment"]
    actions = ["approve", "reject"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="progress")
    def progress_bar(self, run: EvaluationRun) -> SafeString:
        figures = progress(run)
        done, total = figures["done"], max(run.total, 1)
        return format_html(
            '<progress value="{}" max="{}"></progress> {}/{} &middot; pass rate {} &middot; cost {}',
            done, total, done, run.total, figures["pass_rate"] if figures["pass_rate"] is not None else "-",
            figures["cost"],
        )  # fmt: skip

    @admin.display(description="target")
    def target_name(self, run: EvaluationRun) -> str:
        return run.target_name

    @admin.display(description="evaluators")
    def evaluators_shown(self, run: EvaluationRun) -> SafeString:
        return _pre(run.evaluators)

    @admin.display(description="summary")
    def summary(self, run: EvaluationRun) -> SafeString:
        return _pre(selectors.run_summary(run))

    @admin.display(description="judge vs human agreement")
    def judge_agreement(self, run: EvaluationRun) -> SafeString:
        return _pre(selectors.agreement([run]) or "no reviewed items with a judge score yet")

    @admin.display(description="review")
    def review_queue(self, run: EvaluationRun) -> SafeString:
        base = reverse("admin:evaluations_evaluationitem_changelist")
        links = [
            ("all items", f"{base}?run__id__exact={run.pk}"),
            ("failed", f"{base}?run__id__exact={run.pk}&queue=failed"),
            ("judge and deterministic disagree", f"{base}?run__id__exact={run.pk}&queue=disagree"),
            ("low judge confidence", f"{base}?run__id__exact={run.pk}&queue=low_confidence"),
            ("not yet reviewed", f"{base}?run__id__exact={run.pk}&queue=unreviewed"),
            ("assigned to me", f"{base}?run__id__exact={run.pk}&queue=mine"),
        ]
        return format_html_join(" &middot; ", '<a href="{}">{}</a>', ((url, label) for label, url in links))

    def _decide(self, request: HttpRequest, runs: QuerySet[EvaluationRun], decision: str) -> None:
        for run in runs:
            try:
                services.evaluation_run_decide(run=run, user=request.user, decision=decision)  # type: ignore[arg-type]
            except LLMOpsError as exc:
                self.message_user(request, f"{run}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"{run}: {decision}.", messages.SUCCESS)

    @admin.action(description="Approve the selected runs")
    def approve(self, request: HttpRequest, queryset: QuerySet[EvaluationRun]) -> None:
        self._decide(request, queryset, Decision.APPROVED)

    @admin.action(description="Reject the selected runs")
    def reject(self, request: HttpRequest, queryset: QuerySet[EvaluationRun]) -> None:
        self._decide(request, queryset, Decision.REJECTED)


class QueueFilter(admin.SimpleListFilter):
    """The review queues of ``llmops.evaluations.selectors.review_queue``."""

    title = "review queue"
    parameter_name = "queue"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("failed", "Failed"), ("disagree", "Judge and deterministic disagree"),
            ("low_confidence", "Low judge confidence"), ("unreviewed", "Not yet reviewed"), ("mine", "Assigned to me"),
        ]  # fmt: skip

    def queryset(self, request: HttpRequest, queryset: QuerySet[EvaluationItem]) -> QuerySet[EvaluationItem]:
        name = self.value()
        if not name:
            return queryset
        user = request.user if isinstance(request.user, User) else None
        keep: list[int] = []
        for run in EvaluationRun.objects.filter(pk__in=queryset.values("run_id")):
            keep += selectors.review_queue(run, filters=[name], user=user).values_list("pk", flat=True)
        return queryset.filter(pk__in=keep)


@admin.register(EvaluationItem)
class EvaluationItemAdmin(admin.ModelAdmin[EvaluationItem]):
    list_display = ["__str__", "run", "status", "score", "passed", "verdict", "assigned_to", "reviewed_by"]
    list_filter = [QueueFilter, "status", "passed", "verdict", "run"]
    list_select_related = ["run", "assigned_to", "reviewed_by"]
    readonly_fields = [
        "run", "item_id", "repetition", "status", "side_by_side", "score", "passed", "latency_ms",
        "prompt_tokens", "completion_tokens", "cost", "trace", "error", "reviewed_by", "reviewed_at",
        "locked_by", "locked_until",
    ]  # fmt: skip
    fields = [*readonly_fields, "verdict", "human_score", "comment", "corrected_output", "assigned_to"]
    actions = ["mark_pass", "mark_fail", "assign_to_me"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="input / expected / output / scores")
    def side_by_side(self, item: EvaluationItem) -> SafeString:
        cells = [item.inputs, item.expected, item.output, item.scores]
        return format_html(
            "<table><tr><th>input</th><th>expected</th><th>output</th><th>scores</th></tr><tr>{}</tr></table>",
            format_html_join("", '<td style="vertical-align: top">{}</td>', ((_pre(c),) for c in cells)),
        )

    @admin.display(description="trace")
    def trace(self, item: EvaluationItem) -> SafeString:
        if item.trace_id:  # a prompt or chain call: its model calls are the usage rows under its id
            url = reverse("admin:usage_usagerecord_changelist") + f"?run_id={item.trace_id}"
            return format_html('<a href="{}">model calls of {}</a>', url, item.trace_id)
        if item.target_run_id is None:
            return format_html("{}", "-")
        url = reverse("admin:runs_run_change", args=[item.target_run_id])
        return format_html('<a href="{}">run {}</a>', url, item.target_run_id)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        item = EvaluationItem.objects.filter(pk=object_id).first()
        if (
            request.method == "GET"
            and item is not None
            and item.status in (ItemStatus.SCORED, ItemStatus.ERROR)
        ):
            try:
                services.item_lock(item=item, user=request.user)  # type: ignore[arg-type]
            except LLMOpsError as exc:
                self.message_user(request, exc.message, messages.WARNING)
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request: HttpRequest, obj: EvaluationItem, form: Any, change: bool) -> None:
        current = EvaluationItem.objects.get(pk=obj.pk)
        if selectors.locked_by_other(current, request.user):  # type: ignore[arg-type]
            self.message_user(
                request, f"Not saved: {current.locked_by} is reviewing this item.", messages.ERROR
            )
            return
        EvaluationItem.objects.filter(pk=obj.pk).update(assigned_to=obj.assigned_to)
        if obj.verdict not in Verdict.values:
            EvaluationItem.objects.filter(pk=obj.pk).update(comment=obj.comment, human_score=obj.human_score)
            return
        try:
            services.item_review(
                item=obj, user=request.user, verdict=obj.verdict, human_score=obj.human_score,  # type: ignore[arg-type]
                comment=obj.comment, corrected_output=obj.corrected_output,
            )  # fmt: skip
        except LLMOpsError as exc:
            self.message_user(request, f"Not saved: {exc.message}", messages.ERROR)

    def _verdict(self, request: HttpRequest, queryset: QuerySet[EvaluationItem], verdict: str) -> None:
        done = 0
        for item in queryset:
            try:
                services.item_review(item=item, user=request.user, verdict=verdict, comment=item.comment)  # type: ignore[arg-type]
                done += 1
            except LLMOpsError as exc:
                self.message_user(request, f"{item}: {exc.message}", messages.WARNING)
        self.message_user(request, f"{done} items marked {verdict}.", messages.SUCCESS)

    @admin.action(description="Mark the selected items as passing")
    def mark_pass(self, request: HttpRequest, queryset: QuerySet[EvaluationItem]) -> None:
        self._verdict(request, queryset, Verdict.PASS)

    @admin.action(description="Mark the selected items as failing")
    def mark_fail(self, request: HttpRequest, queryset: QuerySet[EvaluationItem]) -> None:
        self._verdict(request, queryset, Verdict.FAIL)

    @admin.action(description="Assign the selected items to me")
    def assign_to_me(self, request: HttpRequest, queryset: QuerySet[EvaluationItem]) -> None:
        count = services.item_assign(items=queryset, reviewer=request.user)  # type: ignore[arg-type]
        self.message_user(request, f"{count} items assigned to you.", messages.SUCCESS)
