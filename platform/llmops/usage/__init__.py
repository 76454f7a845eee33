"""The usage ledger: one row per model call with tokens, latency, TTFT and cost."""
