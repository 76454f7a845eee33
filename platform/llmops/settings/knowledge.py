"""Knowledge-base limits (uploads, chunking, embedding batches)."""

from __future__ import annotations

from llmops.settings.env import env_int

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
