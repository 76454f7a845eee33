"""The committed bilingual retrieval set (``tests/data/retrieval``): its questions and documents."""

from __future__ import annotations

import json
from pathlib import Path

from llmops.knowledge.models import KnowledgeBase
from llmops.knowledge.retrieval_quality import LabelledQuestion
from tests.knowledge.conftest import make_document

ROOT = Path(__file__).resolve().parents[1] / "data" / "retrieval"
DOCS = ROOT / "docs"


def questions(documents: set[str] | None = None) -> list[LabelledQuestion]:
    """The labelled questions (of ``documents`` only, when given), in file order."""
    rows = [json.loads(line) for line in (ROOT / "questions.jsonl").read_text(encoding="utf-8").splitlines()]
    return [
        LabelledQuestion(id=row["id"], question=row["question"], answer=row["answer"], lang=row["lang"])
        for row in rows
        if documents is None or row["doc"] in documents
    ]


def document_names() -> list[str]:
    """The documents' file names, sorted."""
    return sorted(path.name for path in DOCS.glob("*.md"))


def ingest(kb: KnowledgeBase, names: list[str]) -> None:
    """Ingest the named documents into ``kb`` in this process (as the worker would); each must end ready."""
    from llmops.knowledge.ingestion import document_ingest_run
    from llmops.knowledge.models import DocumentStatus

    for name in names:
        document = make_document(kb, name, (DOCS / name).read_bytes(), title=name)
        document_ingest_run(document_id=document.pk)
        document.refresh_from_db()
        assert document.status == DocumentStatus.READY, (name, document.error)
