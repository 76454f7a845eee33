"""Evaluation limits and timings."""

from __future__ import annotations

from llmops.settings.env import env_int

# The most items a dataset may hold, and the most (items x repetitions) one evaluation run may score.
LLMOPS_EVAL_MAX_DATASET_ITEMS = env_int("LLMOPS_EVAL_MAX_DATASET_ITEMS", 20_000, minimum=1, maximum=1_000_000)
LLMOPS_EVAL_MAX_RUN_ITEMS = env_int("LLMOPS_EVAL_MAX_RUN_ITEMS", 50_000, minimum=1, maximum=5_000_000)
# The most bytes one dataset item, and all of a dataset's items, may take as JSON (a draft is one row).
LLMOPS_EVAL_MAX_ITEM_BYTES = env_int("LLMOPS_EVAL_MAX_ITEM_BYTES", 1024 * 1024, minimum=1024)
LLMOPS_EVAL_MAX_DATASET_BYTES = env_int("LLMOPS_EVAL_MAX_DATASET_BYTES", 64 * 1024 * 1024, minimum=1024)
# An item claimed this long ago and still running lost its worker: the sweep hands it to another slot.
LLMOPS_EVAL_ITEM_STALE_SECONDS = env_int("LLMOPS_EVAL_ITEM_STALE_SECONDS", 120, minimum=5)
# How long a slot waits for a target run an earlier (dead) claimant started, before leaving it to the sweep.
LLMOPS_EVAL_TARGET_TIMEOUT_SECONDS = env_int("LLMOPS_EVAL_TARGET_TIMEOUT_SECONDS", 600, minimum=1)
# A reviewer's lock on an item lasts this long (another reviewer sees it as taken meanwhile).
LLMOPS_EVAL_REVIEW_LOCK_SECONDS = env_int("LLMOPS_EVAL_REVIEW_LOCK_SECONDS", 900, minimum=10)
