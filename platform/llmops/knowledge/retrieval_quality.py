"""Retrieval quality as a measured property: hit@k, MRR and nDCG@10 of knowledge-base search over labelled
questions, per retrieval mode and per language.

A labelled question names its answer as a short passage of the source text (``answer``, e.g. "returns the top
20 candidate chunks"). A hit is relevant when its text holds that passage (whitespace-insensitive), so the
labels do not depend on how a knowledge base happens to be chunked, and re-chunking never invalidates them.
Only the first relevant hit counts (one relevant passage per question), which makes nDCG@10 equal to
``1 / log2(rank + 1)`` of that hit, 0 beyond rank 10.

The benchmark ``tests.benchmarks.knowledge`` prints these figures over the committed set
``tests/data/retrieval``; a test runs them on a slice with a floor; evaluations reuse ``rank_of`` and
``figures`` for their retrieval evaluation type.
"""

from __future__ import annotations

import copy
import math
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from llmops.knowledge.models import KnowledgeBase, RetrievalMode
from llmops.knowledge.search import knowledge_search_result

HIT_AT = (1, 3, 5, 10)
NDCG_DEPTH = 10
HYBRID_RERANK = "hybrid+rerank"
MODES = (RetrievalMode.VECTOR.value, RetrievalMode.FULL_TEXT.value, RetrievalMode.HYBRID.value)
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class LabelledQuestion:
    """A question and the passage (an exact substring of the source text) that answers it."""

    id: str
    question: str
    answer: str
    lang: str = ""


@dataclass(frozen=True, slots=True)
class QualityFigures:
    """Figures over ``questions`` questions; ``hit_at[k]`` is the share answered within the top ``k``."""

    questions: int
    hit_at: dict[int, float]
    mrr: float
    ndcg_at_10: float

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready figures: ``hit_at_1``..``hit_at_10``, ``mrr``, ``ndcg_at_10``, ``questions``."""
        hits = {f"hit_at_{k}": round(v, 4) for k, v in self.hit_at.items()}
        return {
            "questions": self.questions,
            **hits,
            "mrr": round(self.mrr, 4),
            "ndcg_at_10": round(self.ndcg_at_10, 4),
        }


@dataclass(slots=True)
class ModeReport:
    """One mode's figures overall and per language, its ranks per question and its mean query time."""

    mode: str
    overall: QualityFigures
    by_lang: dict[str, QualityFigures]
    ranks: dict[str, int | None] = field(default_factory=dict)
    mean_ms: float = 0.0


def _normalised(text: str) -> str:
    return _SPACE.sub("", text).casefold()


def rank_of(texts: Iterable[str], answer: str) -> int | None:
    """The 1-based rank of the first text holding ``answer`` (spaces and case ignored), None when none."""
    needle = _normalised(answer)
    if not needle:
        return None
    for rank, text in enumerate(texts, start=1):
        if needle in _normalised(text):
            return rank
    return None


def figures(ranks: Sequence[int | None], hit_at: Sequence[int] = HIT_AT) -> QualityFigures:
    """hit@k, mean reciprocal rank and nDCG@10 of the first relevant hit's rank per question (None: missed).

    With one relevant passage per question the ideal DCG is 1, so nDCG@10 is ``1 / log2(rank + 1)``.
    An empty sequence gives zeros.
    """
    n = len(ranks)
    if n == 0:
        return QualityFigures(0, {k: 0.0 for k in hit_at}, 0.0, 0.0)
    found = [r for r in ranks if r is not None]
    return QualityFigures(
        questions=n,
        hit_at={k: sum(1 for r in found if r <= k) / n for k in hit_at},
        mrr=sum(1 / r for r in found) / n,
        ndcg_at_10=sum(1 / math.log2(r + 1) for r in found if r <= NDCG_DEPTH) / n,
    )


def _report(
    mode: str, questions: Sequence[LabelledQuestion], ranks: dict[str, int | None], ms: float
) -> ModeReport:
    by_lang: dict[str, list[int | None]] = defaultdict(list)
    for question in questions:
        by_lang[question.lang or "all"].append(ranks[question.id])
    return ModeReport(
        mode=mode,
        overall=figures([ranks[q.id] for q in questions]),
        by_lang={lang: figures(values) for lang, values in sorted(by_lang.items())},
        ranks=ranks,
        mean_ms=ms,
    )


Search = Callable[[str, str], list[str]]


def search_texts(knowledge_bases: Sequence[KnowledgeBase], *, depth: int = NDCG_DEPTH) -> Search:
    """A ``(mode, question) -> hit texts`` function over ``knowledge_bases`` (``hybrid+rerank`` uses the
    knowledge base's ``rerank_model`` setting; the other modes search without it)."""

    plain = [_without_rerank(kb) for kb in knowledge_bases]

    def search(mode: str, question: str) -> list[str]:
        rerank = mode == HYBRID_RERANK
        kbs = knowledge_bases if rerank else plain
        result = knowledge_search_result(
            knowledge_bases=kbs,
            query=question,
            mode=RetrievalMode.HYBRID if rerank else mode,
            top_k=depth,
            score_threshold=0.0,
        )
        return [hit.text for hit in result.hits]

    return search


def _without_rerank(kb: KnowledgeBase) -> KnowledgeBase:
    """An unsaved copy of ``kb`` that searches without its rerank stage."""
    if not kb.retrieval.get("rerank_model"):
        return kb
    plain = copy.copy(kb)
    plain.retrieval = {**kb.retrieval, "rerank_model": ""}
    return plain


def measure(
    search: Search, questions: Sequence[LabelledQuestion], modes: Sequence[str] = MODES
) -> dict[str, ModeReport]:
    """Ask every question in every mode and report each mode's figures (overall and per language)."""
    reports: dict[str, ModeReport] = {}
    for mode in modes:
        ranks: dict[str, int | None] = {}
        started = time.perf_counter()
        for question in questions:
            ranks[question.id] = rank_of(search(mode, question.question), question.answer)
        elapsed_ms = (time.perf_counter() - started) * 1000 / max(len(questions), 1)
        reports[mode] = _report(mode, questions, ranks, elapsed_ms)
    return reports


def table(reports: dict[str, ModeReport]) -> list[str]:
    """Plain-text rows: mode, language, questions, hit@1/3/5/10, MRR, nDCG@10, mean ms per query."""
    rows = [
        f"{'mode':<14} {'lang':<5} {'n':>3} {'hit@1':>6} {'hit@3':>6} {'hit@5':>6} {'hit@10':>6} {'MRR':>6} {'nDCG':>6} {'ms':>7}"
    ]
    for report in reports.values():
        groups = [("all", report.overall), *report.by_lang.items()]
        for lang, fig in groups:
            hits = " ".join(f"{fig.hit_at[k]:>6.3f}" for k in HIT_AT)
            ms = f"{report.mean_ms:>7.1f}" if lang == "all" else ""
            rows.append(
                f"{report.mode:<14} {lang:<5} {fig.questions:>3} {hits} {fig.mrr:>6.3f} {fig.ndcg_at_10:>6.3f} {ms}"
            )
    return rows
