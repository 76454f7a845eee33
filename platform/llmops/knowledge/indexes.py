"""Per-(dimension, distance) partial HNSW expression indexes on ``knowledge_chunk.embedding``.

The column has no fixed dimension (knowledge bases use different embedding models), and HNSW indexes need
one, so each pair in use gets its own index::

    CREATE INDEX CONCURRENTLY IF NOT EXISTS knowledge_chunk_hnsw_cosine_384 ON knowledge_chunk
        USING hnsw ((embedding::vector(384)) vector_cosine_ops) WHERE dims = 384

A migration cannot know which of the allowed dimensions (``LLMOPS_EMBEDDING_ALLOWED_DIMENSIONS``) will be
used, so the service creates them when a knowledge base first learns its dimension. ``CONCURRENTLY`` does not block writers, but cannot run inside a transaction: inside one
(tests, or a caller's atomic block) the index is built plainly.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection

from llmops.knowledge.models import Distance

# operator and operator class per distance; scores map distances to "higher is better".
OPERATORS: dict[str, tuple[str, str]] = {
    Distance.COSINE: ("<=>", "vector_cosine_ops"),
    Distance.L2: ("<->", "vector_l2_ops"),
    Distance.INNER_PRODUCT: ("<#>", "vector_ip_ops"),
    Distance.L1: ("<+>", "vector_l1_ops"),
}
MAX_HNSW_DIMS = 2000


def index_name(dims: int, distance: str) -> str:
    """The name of the HNSW index for ``dims`` and ``distance``."""
    return f"knowledge_chunk_hnsw_{distance}_{int(dims)}"


def hnsw_index_ensure(*, dims: int, distance: str) -> bool:
    """Create the partial HNSW index for (``dims``, ``distance``) unless it exists; True if it was created.

    Dimensions above pgvector's HNSW limit (2,000 for ``vector``) are searched exactly, without an index.
    Only ``LLMOPS_EMBEDDING_ALLOWED_DIMENSIONS`` ever get one: each index is global, on every tenant's chunks
    (ingestion refuses other sizes before it gets here).
    """
    dims = int(dims)
    if dims > MAX_HNSW_DIMS or dims < 1 or dims not in settings.LLMOPS_EMBEDDING_ALLOWED_DIMENSIONS:
        return False
    name = index_name(dims, distance)
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_indexes WHERE indexname = %s", [name])
        if cursor.fetchone():
            return False
        concurrently = "" if connection.in_atomic_block else "CONCURRENTLY"
        opclass = OPERATORS[distance][1]
        cursor.execute(
            f"CREATE INDEX {concurrently} IF NOT EXISTS {name} ON knowledge_chunk "
            f"USING hnsw ((embedding::vector({dims})) {opclass}) WITH (m = 16, ef_construction = 100) "
            f"WHERE dims = {dims}"
        )
    return True
