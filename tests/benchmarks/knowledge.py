"""Benchmark: knowledge-base ingestion and retrieval at 100k chunks.

Run with ``python -m tests.benchmarks.knowledge`` (after ``make services`` and ``python -m devservices.localmodels
ensure``). It creates a private database (``bench_llmops_knowledge``, dropped at the end), then:

1. bulk-ingests 100k chunks (100 documents x 1,000 bilingual chunks) with precomputed, clustered 384-dim
   vectors through the platform's own write path (jieba segmentation, binary COPY, generated tsvector + GIN,
   generation flip): the platform's cost, embedding compute excluded. The HNSW index of the new dimension is
   built after the load (load-then-index, as for a knowledge base with a new dimension) and timed apart;
2. ingests 2k chunks end to end through the real local all-MiniLM-L6-v2 server (parse, chunk, embed, write)
   into the now HNSW-indexed table, and bilingual documents through the default multilingual model (Universal
   Sentence Encoder, 512 dims) with the default chunking (sentence-aware, <= 300 tokens);
3. times 200 queries per mode at 100k chunks: vector (HNSW, iterative scan), full text, hybrid (both, weighted fusion)
   with precomputed query vectors, and hybrid including the query's embedding call;
4. recall@10 of the HNSW query against exact search (index scans off) for 100 queries;
5. retrieval quality (hit@1/3/5/10, MRR, nDCG@10 per mode and language) over the committed bilingual set
   ``tests/data/retrieval`` (81 questions, 14 documents) with the default settings and multilingual model;
6. knowledge-base versions: 20 versions published with 1 % churn between them (one 1,000-chunk document of
   the 100 re-ingested with new texts and vectors before each publish): publish time, extra storage per
   version (chunk table, its indexes and the version rows), and hybrid p95 against the oldest version, the
   newest and the head, with the same queries.

The last line is ``RESULT ingest_chunks_per_s=<..> hybrid_p95_ms=<..> recall_at_10=<..> hit_at_5_hybrid=<..>
mrr_hybrid=<..> e2e_chunks_per_s=<..> ... publish_max_ms=<..> version_storage_pct=<..>
hybrid_p95_oldest_ms=<..> hybrid_p95_newest_ms=<..> hybrid_p95_head_ms=<..>``. Environment:
``LLMOPS_BENCH_EMBEDDING_URL`` uses a running embeddings server; ``LLMOPS_BENCH_CHUNKS`` (default 100000).
``--quick``: 3,000 chunks, 20 queries per mode, 2 real documents, 2 documents of the retrieval set, 3 versions
(a smoke check for the test suite).

``--versions`` runs only steps 1 and 6 (the bulk load, the index and the versions); last line ``RESULT
publish_max_ms=<..> version_storage_pct=<..> hybrid_p95_oldest_ms=<..> hybrid_p95_newest_ms=<..>
hybrid_p95_head_ms=<..>``.

``--rerank-quality`` measures only the retrieval quality, with a fourth mode, hybrid + rerank: the local
reranker (``qwen-rerank``: Qwen2.5-Coder-1.5B-Instruct on a private chat server scoring P(是/yes) per passage)
over the fused best 10 of every question, and reports the reranker's time per pair. It takes long on CPU
(81 questions x 10 pairs); with ``--quick`` it asks the quick slice's questions. Last line ``RESULT
hit_at_5_hybrid=<..> hit_at_5_rerank=<..> mrr_hybrid=<..> mrr_rerank=<..> rerank_s_per_query=<..>``.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from tests.benchmarks._calibration import calibration_line, cpu_calibration_ms

ROOT = Path(__file__).resolve().parents[2]
DIMS = 384
DB_NAME = "bench_llmops_knowledge"
QUICK_SLICE = {"zh-chunking.md", "en-rag-pipeline.md"}


def _setup_django() -> None:
    for path in (str(ROOT / "platform"), str(ROOT)):
        if path not in sys.path:
            sys.path.insert(0, path)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "llmops.settings")
    import django

    django.setup()


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _vocabulary(rng: random.Random) -> tuple[list[str], list[str]]:
    """Pseudo-English words and frequent two-character Chinese words from jieba's dictionary."""
    import jieba

    syllables = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]
    english = sorted({"".join(rng.choices(syllables, k=rng.randint(2, 3))) for _ in range(3000)})
    dictionary = Path(jieba.__file__).parent / "dict.txt"
    rows = (line.split() for line in dictionary.read_text(encoding="utf-8").splitlines())
    common = sorted((r for r in rows if len(r) >= 2 and len(r[0]) == 2), key=lambda r: -int(r[1]))
    return english, [r[0] for r in common[:3000]]


def _data(n: int, rng: random.Random) -> tuple[Any, list[str], list[str], list[str]]:
    import numpy as np

    english, chinese = _vocabulary(rng)
    generator = np.random.default_rng(7)
    centroids = generator.normal(size=(max(n // 100, 10), DIMS)).astype(np.float32)
    vectors = centroids[generator.integers(0, len(centroids), n)] + 0.35 * generator.normal(
        size=(n, DIMS)
    ).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    texts = [
        " ".join(rng.choices(english, k=14)) + "。" + "".join(rng.choices(chinese, k=8)) + "。"
        for _ in range(n)
    ]
    return vectors, texts, english, chinese


def _bulk_ingest(kb: Any, vectors: Any, texts: list[str], per_doc: int) -> tuple[float, int]:
    from llmops.knowledge.ingestion import _flip, _next_generation, chunks_copy
    from llmops.knowledge.models import Document
    from llmops.knowledge.parsing import Piece

    started = time.perf_counter()
    for start in range(0, len(texts), per_doc):
        document = Document.objects.create(
            knowledge_base=kb, title=f"doc-{start // per_doc}", source="text", checksum=f"bench-{start}"
        )
        taken = _next_generation(document.pk)
        assert taken is not None
        generation, _attempts = taken
        pieces = [Piece(i, texts[start + i]) for i in range(min(per_doc, len(texts) - start))]
        count = chunks_copy(document=document, generation=generation, pieces=pieces, vectors=vectors[start:])
        _flip(document, generation, count, kb)
    return time.perf_counter() - started, len(texts)


def _real_model_ingest(
    kb: Any, rng: random.Random, words: list[str], docs: int, tag: str
) -> tuple[float, int]:
    """Ingest ``docs`` generated documents end to end (parse, chunk, embed through the gateway, write)."""
    from llmops.knowledge.ingestion import document_ingest_run
    from llmops.knowledge.models import Chunk
    from llmops.knowledge.services import document_create_from_text

    bodies = ["\n\n".join(" ".join(rng.choices(words, k=60)) for _ in range(100)) for _ in range(docs)]
    started = time.perf_counter()
    for i, body in enumerate(bodies):
        document = document_create_from_text(knowledge_base=kb, title=f"{tag}-{i}", text=body)
        document_ingest_run(document_id=document.pk)
    elapsed = time.perf_counter() - started
    return elapsed, Chunk.objects.filter(document__title__startswith=f"{tag}-").count()


def _quality(kb: Any, quick: bool) -> tuple[dict[str, Any], int]:
    """Retrieval quality over the committed bilingual set (``tests/data/retrieval``; quick: a slice)."""
    from llmops.knowledge.retrieval_quality import measure, search_texts
    from tests.knowledge import retrieval_set

    names = sorted(QUICK_SLICE) if quick else retrieval_set.document_names()
    retrieval_set.ingest(kb, names)
    questions = retrieval_set.questions(set(names))
    return measure(search_texts([kb]), questions), len(names)


def rerank_quality(quick: bool) -> None:
    """Retrieval quality per mode, hybrid + rerank included, with the local reranker (``--rerank-quality``)."""
    from django.db import connection

    from devservices.localmodels import running_chat_server, running_embedding_server
    from devservices.localmodels.config import INSTRUCT_MODEL, MULTILINGUAL_EMBEDDING_MODEL, RERANK_MODEL
    from llmops.accounts.models import Workspace
    from llmops.knowledge.models import KnowledgeBase, default_chunking, default_retrieval
    from llmops.knowledge.retrieval_quality import HYBRID_RERANK, MODES, measure, search_texts, table
    from llmops.providers.models import ModelEndpoint
    from tests.knowledge import retrieval_set

    calibration = cpu_calibration_ms()
    connection.settings_dict["TEST"] = {**connection.settings_dict.get("TEST", {}), "NAME": DB_NAME}
    original = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        with (
            running_chat_server(name=INSTRUCT_MODEL) as chat_url,
            running_embedding_server(rerank_chat_url=chat_url) as url,
        ):
            workspace = Workspace.objects.create(slug="bench", name="Bench")
            ModelEndpoint.objects.create(
                workspace=workspace, slug="multilingual", name="Multilingual",
                draft={"provider_kind": "openai_compatible", "model": MULTILINGUAL_EMBEDDING_MODEL,
                       "model_type": "embedding", "base_url": url, "context_window": 512, "max_retries": 0,
                       "timeout_seconds": 30},
            )  # fmt: skip
            ModelEndpoint.objects.create(
                workspace=workspace, slug="rerank", name="Local reranker",
                draft={"provider_kind": "openai_compatible", "model": RERANK_MODEL, "model_type": "rerank",
                       "base_url": url, "timeout_seconds": 600, "max_retries": 0},
            )  # fmt: skip
            notes = KnowledgeBase.objects.create(
                workspace=workspace, slug="notes", name="Notes", embedding_model="multilingual",
                chunking=default_chunking(), retrieval={**default_retrieval(), "rerank_model": "rerank"},
            )  # fmt: skip
            names = sorted(QUICK_SLICE) if quick else retrieval_set.document_names()
            retrieval_set.ingest(notes, names)
            questions = retrieval_set.questions(set(names))
            if quick:
                questions = questions[:2]
            print(f"asking {len(questions)} questions in 4 modes (rerank: ~10 pairs each) ...", flush=True)
            reports = measure(search_texts([notes]), questions, modes=(*MODES, HYBRID_RERANK))
    finally:
        connection.creation.destroy_test_db(original, verbosity=0)
    print("\n".join(table(reports)))
    print(calibration_line(calibration, cpu_calibration_ms()))
    hybrid, reranked = reports["hybrid"].overall, reports[HYBRID_RERANK].overall
    print(
        f"RESULT hit_at_5_hybrid={hybrid.hit_at[5]:.3f} hit_at_5_rerank={reranked.hit_at[5]:.3f} "
        f"mrr_hybrid={hybrid.mrr:.3f} mrr_rerank={reranked.mrr:.3f} "
        f"rerank_s_per_query={reports[HYBRID_RERANK].mean_ms / 1000:.1f} cpu_calibration_ms={calibration:.0f}"
    )


def _time(fn: Any, args: list[Any]) -> list[float]:
    samples = []
    for arg in args:
        started = time.perf_counter()
        fn(arg)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def _queries(
    kb: Any, vectors: Any, texts: list[str], rng: random.Random, real_url: bool, count: int
) -> dict[str, list[float]]:
    import numpy as np

    from llmops.knowledge.search import knowledge_search
    from llmops.knowledge.search_queries import (
        HYBRID_CANDIDATES_FACTOR,
        full_text_search,
        fuse,
        vector_search,
    )

    picks = [rng.randrange(len(texts)) for _ in range(count)]
    qvecs = [(vectors[i] + 0.05 * np.random.default_rng(i).normal(size=DIMS)).tolist() for i in picks]
    qtexts = [" ".join(texts[i].split()[:2]) + " " + texts[i].split("。")[1][:4] for i in picks]
    ids = [kb.pk]

    def vec(q: Any) -> Any:
        return vector_search(kb_ids=ids, vector=q, distance="cosine", limit=10)

    def ft(q: str) -> Any:
        return full_text_search(kb_ids=ids, query=q, limit=10)

    def hybrid(pair: tuple[Any, str]) -> Any:
        return fuse(vec_k(pair[0]), ft_k(pair[1]), fusion="weighted", vector_weight=0.75, limit=10)

    def vec_k(q: Any) -> Any:
        return vector_search(kb_ids=ids, vector=q, distance="cosine", limit=10 * HYBRID_CANDIDATES_FACTOR)

    def ft_k(q: str) -> Any:
        return full_text_search(kb_ids=ids, query=q, limit=10 * HYBRID_CANDIDATES_FACTOR)

    for warm in range(10):
        vec(qvecs[warm]), ft(qtexts[warm])
    timings = {
        "vector": _time(vec, qvecs),
        "full_text": _time(ft, qtexts),
        "hybrid": _time(hybrid, list(zip(qvecs, qtexts, strict=True))),
    }
    if real_url:
        timings["hybrid+embed"] = _time(
            lambda q: knowledge_search(knowledge_bases=[kb], query=q, mode="hybrid", top_k=10),
            qtexts[: count // 2],
        )
    return timings


def _relation_bytes() -> int:
    from django.db import connection

    from llmops.knowledge.models import KnowledgeBaseVersion, KnowledgeBaseVersionDocument

    tables = [
        "knowledge_chunk",
        KnowledgeBaseVersion._meta.db_table,
        KnowledgeBaseVersionDocument._meta.db_table,
    ]
    with connection.cursor() as cursor:
        cursor.execute("SELECT sum(pg_total_relation_size(t::regclass)) FROM unnest(%s::text[]) t", [tables])
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def _churn(kb: Any, vectors: Any, texts: list[str], rng: random.Random, index: int) -> int:
    """Re-ingest document ``index`` with new texts and nudged vectors (a new generation, as a re-ingest)."""
    import numpy as np

    from llmops.knowledge.ingestion import _flip, _next_generation, chunks_copy
    from llmops.knowledge.models import Document
    from llmops.knowledge.parsing import Piece

    documents = list(Document.objects.filter(knowledge_base=kb, title__startswith="doc-").order_by("id"))
    document = documents[index % len(documents)]
    per_doc = document.chunk_count
    start = int(document.title.removeprefix("doc-")) * per_doc
    taken = _next_generation(document.pk)
    assert taken is not None
    generation, _attempts = taken
    words = [w for t in rng.sample(texts, 3) for w in t.split()]
    pieces = [Piece(i, " ".join(rng.choices(words, k=14)) + f" v{index}") for i in range(per_doc)]
    nudged = vectors[start : start + per_doc] + 0.05 * np.random.default_rng(index).normal(
        size=(per_doc, DIMS)
    )
    nudged /= np.linalg.norm(nudged, axis=1, keepdims=True)
    count = chunks_copy(
        document=document, generation=generation, pieces=pieces, vectors=nudged.astype("float32")
    )
    _flip(document, generation, count, kb)
    return count


def _versions(
    kb: Any, vectors: Any, texts: list[str], rng: random.Random, versions: int, count: int
) -> dict[str, Any]:
    """Publish ``versions`` versions with one document re-ingested between them; time the publishes, measure
    the storage they add, and time hybrid search against the oldest version, the newest and the head."""
    import numpy as np

    from llmops.knowledge.search_queries import (
        HYBRID_CANDIDATES_FACTOR,
        full_text_search,
        fuse,
        vector_search,
    )
    from llmops.knowledge.versions import KnowledgeScope, knowledge_version_publish

    base = _relation_bytes()
    publish_ms: list[float] = []
    churned = 0
    published = []
    for number in range(versions):
        if number:
            churned += _churn(kb, vectors, texts, rng, number)
        started = time.perf_counter()
        published.append(knowledge_version_publish(knowledge_base=kb, user=None, message=f"v{number + 1}"))
        publish_ms.append((time.perf_counter() - started) * 1000)
    extra = _relation_bytes() - base
    picks = [rng.randrange(len(texts)) for _ in range(count)]
    qvecs = [(vectors[i] + 0.05 * np.random.default_rng(i).normal(size=DIMS)).tolist() for i in picks]
    qtexts = [" ".join(texts[i].split()[:2]) + " " + texts[i].split("。")[1][:4] for i in picks]
    limit = 10 * HYBRID_CANDIDATES_FACTOR

    def hybrid(scope: list[int] | None) -> Any:
        def one(pair: tuple[Any, str]) -> Any:
            found = vector_search(
                kb_ids=[kb.pk], vector=pair[0], distance="cosine", limit=limit, pinned=scope
            )
            text = full_text_search(kb_ids=[kb.pk], query=pair[1], limit=limit, pinned=scope)
            return fuse(found, text, fusion="weighted", vector_weight=0.75, limit=10)

        return one

    pairs = list(zip(qvecs, qtexts, strict=True))
    scopes = {
        "oldest": KnowledgeScope(kb, published[0]).pinned_keys,
        "newest": KnowledgeScope(kb, published[-1]).pinned_keys,
        "head": None,
    }
    for scope in scopes.values():
        for pair in pairs[:10]:
            hybrid(scope)(pair)
    # interleaved rounds, so a drift of the host's load touches every scope alike
    timings: dict[str, list[float]] = {name: [] for name in scopes}
    for start in range(0, len(pairs), 10):
        for name, scope in scopes.items():
            timings[name] += _time(hybrid(scope), pairs[start : start + 10])
    return {
        "versions": versions, "publish_ms": publish_ms, "extra_bytes": extra, "base_bytes": base,
        "churned_chunks": churned, "documents": published[-1].document_count, "timings": timings,
    }  # fmt: skip


def _versions_table(versioned: dict[str, Any], n: int) -> dict[str, float]:
    """Print the versions' rows of the table; their figures for the RESULT line."""
    publish = versioned["publish_ms"]
    per_version = versioned["extra_bytes"] / max(versioned["versions"] - 1, 1)
    churn_pct = 100 * versioned["churned_chunks"] / max(versioned["versions"] - 1, 1) / n
    figures = {
        "publish_max_ms": max(publish),
        "version_storage_pct": 100 * per_version / versioned["base_bytes"],
    }
    print(f"| publish a version ({versioned['versions']} versions, {versioned['documents']} documents, {n} chunks) "
          f"p50 / max | {statistics.median(publish):.1f} / {max(publish):.1f} ms |")  # fmt: skip
    print(f"| extra storage per version ({churn_pct:.1f} % of chunks changed between versions) | "
          f"{per_version / 1e6:.2f} MB = {figures['version_storage_pct']:.2f} % of the "
          f"{versioned['base_bytes'] / 1e6:.0f} MB chunk table with indexes |")  # fmt: skip
    for name, samples in versioned["timings"].items():
        figures[f"hybrid_p95_{name}_ms"] = _pct(samples, 0.95)
        print(f"| hybrid p50 / p95 against the {name} ({len(samples)} queries) | "
              f"{statistics.median(samples):.1f} / {_pct(samples, 0.95):.1f} ms |")  # fmt: skip
    return figures


def versions_only(quick: bool) -> None:
    """``--versions``: the bulk load, the HNSW index, then 20 versions with 1 % churn (see the docstring)."""
    from django.db import connection

    from llmops.accounts.models import Workspace
    from llmops.knowledge.models import KnowledgeBase

    n = 3000 if quick else int(os.environ.get("LLMOPS_BENCH_CHUNKS", "100000"))
    calibration = cpu_calibration_ms()
    rng = random.Random(42)
    connection.settings_dict["TEST"] = {**connection.settings_dict.get("TEST", {}), "NAME": DB_NAME}
    original = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        workspace = Workspace.objects.create(slug="bench", name="Bench")
        kb = KnowledgeBase.objects.create(
            workspace=workspace, slug="bench", name="Bench", embedding_model="minilm", dims=DIMS
        )
        print(f"generating {n} chunks ...", flush=True)
        vectors, texts, _english, _chinese = _data(n, rng)
        _bulk_ingest(kb, vectors, texts, per_doc=min(1000, n // 6))
        _build_index()
        versioned = _versions(
            kb, vectors, texts, rng, versions=3 if quick else 20, count=20 if quick else 200
        )
    finally:
        connection.creation.destroy_test_db(original, verbosity=0)
    print()
    print("| measurement | value |")
    print("| --- | --- |")
    figures = _versions_table(versioned, n)
    print(calibration_line(calibration, cpu_calibration_ms()))
    print(
        "RESULT "
        + " ".join(f"{key}={value:.2f}" for key, value in figures.items())
        + f" cpu_calibration_ms={calibration:.0f}"
    )


def _recall(kb: Any, vectors: Any, rng: random.Random, n: int = 100) -> float:
    import numpy as np
    from django.db import connection, transaction

    from llmops.knowledge.search_queries import vector_search

    total = 0.0
    for i in range(n):
        q = (
            vectors[rng.randrange(len(vectors))] + 0.05 * np.random.default_rng(1000 + i).normal(size=DIMS)
        ).tolist()
        approx = {h.chunk_id for h in vector_search(kb_ids=[kb.pk], vector=q, distance="cosine", limit=10)}
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_indexscan = off")
            cursor.execute("SET LOCAL enable_bitmapscan = off")
            exact = {h.chunk_id for h in vector_search(kb_ids=[kb.pk], vector=q, distance="cosine", limit=10)}
        total += len(approx & exact) / 10
    return total / n


def _build_index() -> float:
    from django.db import connection

    from llmops.knowledge.indexes import hnsw_index_ensure

    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '1GB'")
        cursor.execute("SET max_parallel_maintenance_workers = 2")
    started = time.perf_counter()
    hnsw_index_ensure(dims=DIMS, distance="cosine")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE knowledge_chunk")
    return time.perf_counter() - started


def main() -> None:
    """Run the benchmark and print the table and the RESULT line."""
    _setup_django()
    if "--rerank-quality" in sys.argv[1:]:
        rerank_quality("--quick" in sys.argv[1:])
        return
    from django.db import connection

    from devservices.localmodels.config import MULTILINGUAL_EMBEDDING_MODEL
    from llmops.accounts.models import Workspace
    from llmops.knowledge.models import KnowledgeBase, default_chunking, default_retrieval
    from llmops.knowledge.retrieval_quality import table
    from llmops.providers.models import ModelEndpoint

    quick = "--quick" in sys.argv[1:]
    if "--versions" in sys.argv[1:]:
        versions_only(quick)
        return
    n = 3000 if quick else int(os.environ.get("LLMOPS_BENCH_CHUNKS", "100000"))
    queries, real_docs, recall_queries = (20, 2, 20) if quick else (200, 20, 100)
    calibration = cpu_calibration_ms()
    rng = random.Random(42)
    connection.settings_dict["TEST"] = {**connection.settings_dict.get("TEST", {}), "NAME": DB_NAME}
    original = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        with ExitStack() as stack:
            url = os.environ.get("LLMOPS_BENCH_EMBEDDING_URL")
            if not url:
                from devservices.localmodels import running_embedding_server

                url = stack.enter_context(running_embedding_server())
            workspace = Workspace.objects.create(slug="bench", name="Bench")
            ModelEndpoint.objects.create(
                workspace=workspace, slug="minilm", name="MiniLM",
                draft={"provider_kind": "openai_compatible", "model": "all-minilm-l6-v2", "model_type": "embedding",
                       "base_url": url, "context_window": 512, "max_retries": 0, "timeout_seconds": 30},
            )  # fmt: skip
            ModelEndpoint.objects.create(
                workspace=workspace, slug="multilingual", name="Universal Sentence Encoder multilingual",
                draft={"provider_kind": "openai_compatible", "model": MULTILINGUAL_EMBEDDING_MODEL,
                       "model_type": "embedding", "base_url": url, "context_window": 512, "max_retries": 0,
                       "timeout_seconds": 30},
            )  # fmt: skip
            kb = KnowledgeBase.objects.create(
                workspace=workspace, slug="bench", name="Bench", embedding_model="minilm", dims=DIMS
            )
            multilingual = KnowledgeBase.objects.create(
                workspace=workspace, slug="multilingual", name="Multilingual", embedding_model="multilingual",
                chunking=default_chunking(), retrieval=default_retrieval(),
            )  # fmt: skip
            notes = KnowledgeBase.objects.create(
                workspace=workspace, slug="notes", name="Notes", embedding_model="multilingual",
                chunking=default_chunking(), retrieval=default_retrieval(),
            )  # fmt: skip
            print(f"generating {n} chunks ...", flush=True)
            vectors, texts, english, chinese = _data(n, rng)
            bulk_s, bulk_n = _bulk_ingest(kb, vectors, texts, per_doc=min(1000, n // 6))
            index_s = _build_index()
            real_s, real_n = _real_model_ingest(kb, rng, english, real_docs, "minilm")
            multi_s, multi_n = _real_model_ingest(multilingual, rng, english + chinese, real_docs, "multi")
            quality, quality_docs = _quality(notes, quick)
            timings = _queries(kb, vectors, texts, rng, real_url=True, count=queries)
            recall = _recall(kb, vectors, rng, recall_queries)
            versioned = _versions(kb, vectors, texts, rng, versions=3 if quick else 20, count=queries)
    finally:
        connection.creation.destroy_test_db(original, verbosity=0)
    rate = bulk_n / bulk_s
    print()
    print("| measurement | value |")
    print("| --- | --- |")
    print(f"| bulk ingest {bulk_n} chunks (precomputed vectors) | {bulk_s:.1f} s = {rate:,.0f} chunks/s |")
    print(f"| HNSW build after load (m=16, ef_construction=100) | {index_s:.1f} s |")
    print(f"| bulk ingest incl. HNSW build | {bulk_n / (bulk_s + index_s):,.0f} chunks/s |")
    print(f"| end to end with real MiniLM ({real_n} chunks of 500 characters, into the indexed table) | "
          f"{real_s:.1f} s = {real_n / real_s:,.0f} chunks/s |")  # fmt: skip
    print(f"| end to end with the default multilingual model ({multi_n} bilingual chunks of <= 300 tokens) | "
          f"{multi_s:.1f} s = {multi_n / multi_s:,.0f} chunks/s |")  # fmt: skip
    for mode, samples in timings.items():
        print(f"| query {mode} p50 / p95 ({len(samples)} queries, {n} chunks) | "
              f"{statistics.median(samples):.1f} / {_pct(samples, 0.95):.1f} ms |")  # fmt: skip
    print(f"| recall@10 HNSW vs exact ({recall_queries} queries, ef_search=200) | {recall:.3f} |")
    version_figures = _versions_table(versioned, n)
    print()
    print(
        f"Retrieval quality, default settings and embedding model, {quality_docs} documents of tests/data/retrieval:"
    )
    print("\n".join(table(quality)))
    print(calibration_line(calibration, cpu_calibration_ms()))
    hybrid = quality["hybrid"].overall
    print(
        f"RESULT ingest_chunks_per_s={rate:.0f} hybrid_p95_ms={_pct(timings['hybrid'], 0.95):.1f} "
        f"recall_at_10={recall:.3f} hit_at_5_hybrid={hybrid.hit_at[5]:.3f} mrr_hybrid={hybrid.mrr:.3f} "
        f"e2e_chunks_per_s={multi_n / multi_s:.0f} hybrid_embed_p95_ms={_pct(timings['hybrid+embed'], 0.95):.1f} "
        + " ".join(f"{key}={value:.2f}" for key, value in version_figures.items())
        + f" cpu_calibration_ms={calibration:.0f}"
    )


if __name__ == "__main__":
    main()
