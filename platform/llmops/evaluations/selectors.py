"""Reads of evaluations: datasets by reference and their items, run summaries (per evaluator and overall),
comparing two runs item by item with a paired bootstrap confidence interval, judge-versus-human agreement
(Cohen's kappa), the review queue, and exports (results CSV/JSONL, fine-tuning JSONL)."""

from __future__ import annotations

import csv
import io
import json
import random
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any, cast

from django.db.models import Q, QuerySet
from django.utils import timezone

from llmops.accounts.models import User, Workspace
from llmops.core.errors import NotFound
from llmops.core.refs import DRAFT, ResourceRef, ref_parse
from llmops.core.spreadsheets import spreadsheet_safe
from llmops.core.versioning import version_resolve
from llmops.evaluations import datasets
from llmops.evaluations.evaluators.base import as_text
from llmops.evaluations.execution import progress
from llmops.evaluations.models import (
    Dataset,
    DatasetVersion,
    EvaluationItem,
    EvaluationRun,
    ItemStatus,
    Verdict,
)

BOOTSTRAP_SAMPLES = 2000


def dataset_version_resolve(*, workspace: Workspace, ref: str | ResourceRef) -> DatasetVersion:
    """The dataset version ``ds`` (the latest), ``ds:3`` or ``ds@production`` names in ``workspace``.

    A malformed reference is a ``ValidationError`` (field ``dataset``); an unknown dataset, version or label,
    and ``ds@draft`` (a draft is no version: what is evaluated must be pinned), are ``NotFound``.
    """
    parsed = ref_parse(ref, kind="dataset", field="dataset") if isinstance(ref, str) else ref
    dataset = Dataset.objects.filter(workspace=workspace, slug=parsed.slug).first()
    if dataset is None:
        raise NotFound(f"No dataset {parsed.slug!r} in this workspace.")
    if parsed.version == DRAFT:
        raise NotFound(f"Dataset {parsed.slug!r}: a draft is not a version; publish it first.")
    return cast(DatasetVersion, version_resolve(resource=dataset, ref=parsed.version))


def dataset_items(*, dataset: Dataset, version: str | int | None = None) -> list[dict[str, Any]]:
    """The items of the draft (``version`` None or ``"draft"``) or of a version (a number, ``"latest"``, a
    label), normalised; ``NotFound`` for an unknown version."""
    if version is None or version == DRAFT:
        content = dataset.draft
    else:
        content = version_resolve(resource=dataset, ref=version).content
    items: list[dict[str, Any]] = datasets.content_validate(content or {"items": []})["items"]
    return items


def _percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run_summary(run: EvaluationRun) -> dict[str, Any]:
    """Aggregates: overall mean score and pass rate, p50/p95 latency, total cost, and per evaluator the mean
    score, pass rate and error count."""
    items = list(
        EvaluationItem.objects.filter(run=run).values("status", "score", "passed", "latency_ms", "scores")
    )
    judged = [i for i in items if i["status"] in (ItemStatus.SCORED, ItemStatus.ERROR)]
    latencies = [i["latency_ms"] for i in judged if i["latency_ms"] is not None]
    per: dict[str, dict[str, list[Any]]] = defaultdict(lambda: {"scores": [], "passed": [], "errors": []})
    for item in items:
        for score in item["scores"] or []:
            bucket = per[score["evaluator"]]
            if score.get("error"):
                bucket["errors"].append(score["error"])
            else:
                bucket["scores"].append(score["score"])
                bucket["passed"].append(bool(score["passed"]))
    scores = [i["score"] for i in judged if i["score"] is not None]
    return {
        **progress(run),
        "mean_score": round(statistics.fmean(scores), 4) if scores else None,
        "pass_rate": round(sum(1 for i in judged if i["passed"]) / len(judged), 4) if judged else None,
        "latency_p50_ms": _percentile(latencies, 0.5),
        "latency_p95_ms": _percentile(latencies, 0.95),
        "evaluators": {
            name: {
                "mean_score": round(statistics.fmean(b["scores"]), 4) if b["scores"] else None,
                "pass_rate": round(sum(b["passed"]) / len(b["passed"]), 4) if b["passed"] else None,
                "errors": len(b["errors"]),
            }
            for name, b in sorted(per.items())
        },
    }


def _outcomes(run: EvaluationRun) -> dict[tuple[str, int], tuple[bool, float]]:
    rows = EvaluationItem.objects.filter(run=run, status__in=[ItemStatus.SCORED, ItemStatus.ERROR])
    return {(r.item_id, r.repetition): (bool(r.passed), float(r.score or 0.0)) for r in rows}


def paired_bootstrap(
    differences: Sequence[float], *, samples: int = BOOTSTRAP_SAMPLES, seed: int = 0
) -> tuple[float, float]:
    """A 95% confidence interval of the mean of paired ``differences`` (resampling pairs with replacement)."""
    if not differences:
        return (0.0, 0.0)
    rng = random.Random(seed)
    n = len(differences)
    means = sorted(sum(rng.choices(differences, k=n)) / n for _ in range(samples))
    return means[int(0.025 * samples)], means[min(samples - 1, int(0.975 * samples))]


def runs_compare(base: EvaluationRun, other: EvaluationRun) -> dict[str, Any]:
    """``other`` against ``base`` on their common items: regressions (passed, now fails), improvements, the
    difference in pass rate with a paired bootstrap 95% interval, and the mean score difference."""
    before, after = _outcomes(base), _outcomes(other)
    common = sorted(set(before) & set(after))
    regressions = [f"{k[0]}#{k[1]}" for k in common if before[k][0] and not after[k][0]]
    improvements = [f"{k[0]}#{k[1]}" for k in common if not before[k][0] and after[k][0]]
    differences = [float(after[k][0]) - float(before[k][0]) for k in common]
    low, high = paired_bootstrap(differences)
    return {
        "base": base.pk, "other": other.pk, "common_items": len(common),
        "pass_rate_base": round(statistics.fmean(float(before[k][0]) for k in common), 4) if common else None,
        "pass_rate_other": round(statistics.fmean(float(after[k][0]) for k in common), 4) if common else None,
        "pass_rate_difference": round(statistics.fmean(differences), 4) if common else None,
        "confidence_interval_95": [round(low, 4), round(high, 4)],
        "mean_score_difference": round(statistics.fmean(after[k][1] - before[k][1] for k in common), 4) if common else None,
        "regressions": regressions, "improvements": improvements,
        "same_dataset_version": base.dataset_version_id == other.dataset_version_id,
    }  # fmt: skip


def cohens_kappa(pairs: Sequence[tuple[bool, bool]]) -> float | None:
    """Cohen's kappa of two raters' pass/fail labels (None without pairs; 1.0 when both always agree on one
    label, where kappa is undefined)."""
    n = len(pairs)
    if n == 0:
        return None
    observed = sum(1 for a, b in pairs if a == b) / n
    p_a = sum(1 for a, _ in pairs if a) / n
    p_b = sum(1 for _, b in pairs if b) / n
    expected = p_a * p_b + (1 - p_a) * (1 - p_b)
    if expected >= 1.0:
        return 1.0 if observed == 1.0 else 0.0
    return (observed - expected) / (1 - expected)


def agreement(runs: Iterable[EvaluationRun]) -> dict[str, dict[str, Any]]:
    """Per judge evaluator: raw agreement and Cohen's kappa with the human verdicts over reviewed items."""
    pairs: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
    items = EvaluationItem.objects.filter(run__in=list(runs)).exclude(verdict="").values("verdict", "scores")
    for item in items:
        human = item["verdict"] == Verdict.PASS
        for score in item["scores"] or []:
            if score.get("kind") == "llm_judge" and not score.get("error"):
                pairs[score["evaluator"]].append((bool(score["passed"]), human))
    return {
        name: {
            "reviewed": len(p),
            "raw_agreement": round(sum(1 for a, b in p if a == b) / len(p), 4),
            "kappa": None if (k := cohens_kappa(p)) is None else round(k, 4),
        }
        for name, p in sorted(pairs.items())
    }


def review_queue(
    run: EvaluationRun, *, filters: Sequence[str] = (), user: User | None = None
) -> QuerySet[EvaluationItem]:
    """Items to look at: ``failed``, ``disagree`` (a judge and a deterministic evaluator disagree),
    ``low_confidence`` (a judge score between 0.3 and 0.7), ``unreviewed``, ``mine`` (assigned to ``user``)."""
    items = EvaluationItem.objects.filter(run=run, status__in=[ItemStatus.SCORED, ItemStatus.ERROR])
    for name in filters:
        if name == "failed":
            items = items.filter(Q(passed=False) | Q(status=ItemStatus.ERROR))
        elif name == "unreviewed":
            items = items.filter(verdict="")
        elif name == "mine" and user is not None:
            items = items.filter(assigned_to=user)
        elif name in ("disagree", "low_confidence"):
            items = items.filter(pk__in=[i.pk for i in items if _flag(i, name)])
    return items.order_by("position", "repetition")


def _flag(item: EvaluationItem, name: str) -> bool:
    judges = [s for s in item.scores if s.get("kind") == "llm_judge" and not s.get("error")]
    if name == "low_confidence":
        return any(0.3 <= s["score"] <= 0.7 for s in judges)
    others = [s for s in item.scores if s.get("kind") != "llm_judge" and not s.get("error")]
    return any(j["passed"] != o["passed"] for j in judges for o in others)


def locked_by_other(item: EvaluationItem, user: User) -> bool:
    """Whether another reviewer holds the item's lock now."""
    return bool(
        item.locked_by_id not in (None, user.pk) and item.locked_until and item.locked_until > timezone.now()
    )


# --- exports ----------------------------------------------------------------------------------------------


def _result_row(item: EvaluationItem) -> dict[str, Any]:
    return {
        "item_id": item.item_id, "repetition": item.repetition, "status": item.status, "inputs": item.inputs,
        "expected": item.expected, "output": item.output, "score": item.score, "passed": item.passed,
        "scores": item.scores, "latency_ms": item.latency_ms, "prompt_tokens": item.prompt_tokens,
        "completion_tokens": item.completion_tokens, "cost": str(item.cost), "error": item.error,
        "target_run": str(item.target_run_id) if item.target_run_id else None, "verdict": item.verdict,
        "comment": item.comment,
    }  # fmt: skip


def results_export(run: EvaluationRun, fmt: str) -> str:
    """Every item's result as JSONL or CSV (nested values as JSON)."""
    rows = [
        _result_row(item)
        for item in EvaluationItem.objects.filter(run=run).order_by("position", "repetition")
    ]
    if fmt == "jsonl":
        return "".join(json.dumps(row, ensure_ascii=False, default=str) + "\n" for row in rows)
    out = io.StringIO()
    columns = list(_result_row(EvaluationItem(run=run)).keys())
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {
                k: spreadsheet_safe(
                    v if isinstance(v, str | int | float | type(None)) else json.dumps(v, ensure_ascii=False)
                )
                for k, v in row.items()
            }
        )
    return out.getvalue()


def finetune_export(
    runs: Iterable[EvaluationRun], *, fmt: str = "chat", validation_share: float = 0.1, seed: int = 0
) -> dict[str, str]:
    """Reviewed items as supervised fine-tuning data: the reviewer's corrected output, else an output the
    reviewer passed. ``chat``: OpenAI chat format (``{"messages": [...]}``); ``instruction``: ``{"instruction",
    "input", "output"}`` (LoRA tools). Returns ``{"train": jsonl, "validation": jsonl}`` split by ``seed``."""
    examples: list[dict[str, Any]] = []
    items = (
        EvaluationItem.objects.filter(run__in=list(runs)).exclude(verdict="").order_by("run_id", "position")
    )
    for item in items:
        answer = item.corrected_output.strip() or (
            as_text(item.output) if item.verdict == Verdict.PASS else ""
        )
        if not answer:
            continue
        prompt = as_text(item.inputs)
        if fmt == "chat":
            examples.append(
                {"messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}]}
            )
        else:
            examples.append({"instruction": prompt, "input": "", "output": answer})
    rng = random.Random(seed)
    rng.shuffle(examples)
    cut = round(len(examples) * validation_share) if len(examples) > 1 else 0
    lines = [json.dumps(e, ensure_ascii=False) + "\n" for e in examples]
    return {"train": "".join(lines[cut:]), "validation": "".join(lines[:cut])}
