"""Model providers: which outbound addresses model endpoints may reach, and gateway limits.

``LLMOPS_OUTBOUND_ALLOWLIST`` (comma-separated host names and CIDRs) lists the private addresses a model
endpoint's base URL may still point at: by default loopback in development (so a local llama.cpp or Ollama
works) and nothing in production. Every other private, loopback, link-local or metadata address is refused.
It is for model endpoints only: URL documents have their own ``LLMOPS_KNOWLEDGE_URL_ALLOWLIST``.
"""

from __future__ import annotations

from llmops.settings.base import PRODUCTION
from llmops.settings.env import env_allowlist, env_int

_DEV_ALLOWLIST = ["localhost", "127.0.0.0/8", "::1/128"]

LLMOPS_OUTBOUND_ALLOWLIST = env_allowlist("LLMOPS_OUTBOUND_ALLOWLIST", [] if PRODUCTION else _DEV_ALLOWLIST)

# A provider's Retry-After longer than this is not waited for: the gateway moves to the next fallback.
LLMOPS_MODEL_MAX_RETRY_AFTER_SECONDS = env_int("LLMOPS_MODEL_MAX_RETRY_AFTER_SECONDS", 30, minimum=0)
