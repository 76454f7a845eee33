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
