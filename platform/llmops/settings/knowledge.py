"""Knowledge-base limits (uploads, parsing, chunking, embedding batches and dimensions)."""

from __future__ import annotations

from llmops.settings.env import SettingError, env_allowlist, env_int, env_list

LLMOPS_KNOWLEDGE_MAX_UPLOAD_BYTES = env_int(
    "LLMOPS_KNOWLEDGE_MAX_UPLOAD_BYTES", 15 * 1024 * 1024, minimum=1, maximum=1024**3
)
LLMOPS_KNOWLEDGE_EMBED_BATCH = env_int("LLMOPS_KNOWLEDGE_EMBED_BATCH", 128, minimum=1, maximum=4096)
LLMOPS_KNOWLEDGE_MAX_CHUNKS_PER_DOCUMENT = env_int(
    "LLMOPS_KNOWLEDGE_MAX_CHUNKS_PER_DOCUMENT", 200_000, minimum=1
)
# A URL document's whole download (headers and body) must finish within this many seconds: a server that
# trickles its page byte by byte cannot hold an ingest worker (each read also times out after 20 s).
LLMOPS_KNOWLEDGE_FETCH_SECONDS = env_int("LLMOPS_KNOWLEDGE_FETCH_SECONDS", 60, minimum=1, maximum=3600)
# Private hosts/CIDRs URL documents may still be fetched from. Empty in every mode (not the model endpoints'
# allow-list, which has loopback in development): a URL document must not read the platform's own pages.
LLMOPS_KNOWLEDGE_URL_ALLOWLIST = env_allowlist("LLMOPS_KNOWLEDGE_URL_ALLOWLIST", [])
# Documents are parsed in a child process whose address space may grow by at most this many MiB and which
# is killed after this many seconds: a bomb no parser cap foresees fails the document, not the worker.
LLMOPS_KNOWLEDGE_PARSE_MEMORY_MB = env_int("LLMOPS_KNOWLEDGE_PARSE_MEMORY_MB", 1024, minimum=64)
LLMOPS_KNOWLEDGE_PARSE_SECONDS = env_int("LLMOPS_KNOWLEDGE_PARSE_SECONDS", 120, minimum=1, maximum=3600)
# An ingestion that started this many times without finishing (its worker died each time) fails the document
# for good instead of taking down the next worker.
LLMOPS_KNOWLEDGE_MAX_ATTEMPTS = env_int("LLMOPS_KNOWLEDGE_MAX_ATTEMPTS", 3, minimum=1, maximum=100)


def _dimensions(name: str, default: list[str]) -> frozenset[int]:
    values = env_list(name, default)
    if not values or not all(value.isascii() and value.isdecimal() for value in values):
        raise SettingError(f"{name}={','.join(values)!r} must be a comma-separated list of positive integers")
    dims = frozenset(int(value) for value in values)
    if min(dims) < 1 or max(dims) > 16000:
        raise SettingError(f"{name}: each dimension must be between 1 and 16000 (pgvector's limit)")
    return dims


# Vector lengths a knowledge base may use. Each (dimension, distance) in use gets a partial HNSW index on the
# shared chunk table, so an endpoint answering an arbitrary length would let one tenant add global indexes.
LLMOPS_EMBEDDING_ALLOWED_DIMENSIONS = _dimensions(
    "LLMOPS_EMBEDDING_ALLOWED_DIMENSIONS", ["256", "384", "512", "768", "1024", "1536", "2048", "3072"]
)
