"""Deployments: the public API's limits, inline execution and webhooks.

- ``LLMOPS_API_MAX_BODY_BYTES``: larger request bodies are refused with 413 before they are parsed.
- ``LLMOPS_API_DEFAULT_RPM``: requests per minute of a key that sets no limit of its own (token bucket).
- ``LLMOPS_API_INLINE_MAX_NODES``: an ``auto`` deployment runs blocking/streaming calls inside the web process
  when its workflow is this small and has no slow node (llm, code, http...); otherwise on a worker.
- ``LLMOPS_API_BLOCKING_TIMEOUT_SECONDS``: how long a blocking call waits for a worker-executed run.
- ``LLMOPS_API_KEEPALIVE_SECONDS``: the SSE ping interval.
- ``LLMOPS_WEBHOOK_ALLOWLIST``: private hosts/CIDRs webhooks may reach anyway (empty: public addresses only).
- ``LLMOPS_WEBHOOK_MAX_RETRIES`` / ``LLMOPS_WEBHOOK_TIMEOUT_SECONDS``: delivery retries (exponential backoff).
- ``LLMOPS_IDEMPOTENCY_HOURS``: how long an ``Idempotency-Key`` is remembered.
- ``LLMOPS_API_CHAIN_LEASE_SECONDS``: the lease of a chain call's concurrency slot, renewed while the call
  runs; a slot of a process that died frees itself after this long.
"""

from __future__ import annotations

from llmops.settings.env import env_int, env_list

LLMOPS_API_MAX_BODY_BYTES = env_int("LLMOPS_API_MAX_BODY_BYTES", 1_048_576, minimum=1024)
LLMOPS_API_DEFAULT_RPM = env_int("LLMOPS_API_DEFAULT_RPM", 600, minimum=1)
LLMOPS_API_INLINE_MAX_NODES = env_int("LLMOPS_API_INLINE_MAX_NODES", 20, minimum=0)
LLMOPS_API_BLOCKING_TIMEOUT_SECONDS = env_int("LLMOPS_API_BLOCKING_TIMEOUT_SECONDS", 300, minimum=1)
LLMOPS_API_KEEPALIVE_SECONDS = env_int("LLMOPS_API_KEEPALIVE_SECONDS", 15, minimum=1)
LLMOPS_WEBHOOK_ALLOWLIST = env_list("LLMOPS_WEBHOOK_ALLOWLIST", [])
LLMOPS_WEBHOOK_MAX_RETRIES = env_int("LLMOPS_WEBHOOK_MAX_RETRIES", 8, minimum=0)
LLMOPS_WEBHOOK_TIMEOUT_SECONDS = env_int("LLMOPS_WEBHOOK_TIMEOUT_SECONDS", 10, minimum=1)
LLMOPS_IDEMPOTENCY_HOURS = env_int("LLMOPS_IDEMPOTENCY_HOURS", 24, minimum=1)
LLMOPS_API_CHAIN_LEASE_SECONDS = env_int("LLMOPS_API_CHAIN_LEASE_SECONDS", 30, minimum=1)
