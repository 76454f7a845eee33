"""Celery on Redis: queues per workload, late acknowledgement for work that must survive a worker."""

from __future__ import annotations

from kombu import Queue

from llmops.settings.env import env_int
from llmops.settings.redis import REDIS_URL

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES = [Queue(name) for name in ("runs", "ingest", "evals", "default")]
CELERY_TASK_ROUTES = {
    "llmops.runs.*": {"queue": "runs"},
    "llmops.knowledge.*": {"queue": "ingest"},
    "llmops.evaluations.*": {"queue": "evals"},
}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Redis redelivers an unacked task after this long; it must exceed the longest task.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("LLMOPS_TASK_VISIBILITY_TIMEOUT", 3600)}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_WORKER_CONCURRENCY = env_int("LLMOPS_WORKER_CONCURRENCY", 2, minimum=1)

# Runs: a worker refreshes a running run's heartbeat every LLMOPS_RUN_HEARTBEAT_SECONDS; a run whose
# heartbeat is older than LLMOPS_RUN_STALE_SECONDS is taken over (resumed from its checkpoints), and a
# run still queued after LLMOPS_RUN_REQUEUE_SECONDS (e.g. accepted while Redis was down) is enqueued again.
LLMOPS_RUN_HEARTBEAT_SECONDS = env_int("LLMOPS_RUN_HEARTBEAT_SECONDS", 2, minimum=1)
LLMOPS_RUN_STALE_SECONDS = env_int("LLMOPS_RUN_STALE_SECONDS", 10, minimum=2)
LLMOPS_RUN_REQUEUE_SECONDS = env_int("LLMOPS_RUN_REQUEUE_SECONDS", 60, minimum=5)
LLMOPS_RUN_MAX_SECONDS = env_int("LLMOPS_RUN_MAX_SECONDS", 3600, minimum=1)
# A run taken over this many times (each worker stopped heart-beating, e.g. killed or wedged by it) is failed
# with a reason instead of being handed to yet another worker.
LLMOPS_RUN_MAX_ATTEMPTS = env_int("LLMOPS_RUN_MAX_ATTEMPTS", 3, minimum=1)
CELERY_BEAT_SCHEDULE = {
    "runs-sweep": {
        "task": "llmops.runs.sweep",
        "schedule": float(env_int("LLMOPS_RUN_SWEEP_SECONDS", 5, minimum=1)),
    },
    # Idempotency-Key records older than LLMOPS_IDEMPOTENCY_HOURS can no longer replay: delete them hourly.
    "deployments-idempotency-purge": {"task": "llmops.deployments.idempotency_purge", "schedule": 3600.0},
    # Evaluation items whose slot died go back to the queue (see llmops.evaluations.execution).
    "evaluations-sweep": {"task": "llmops.evaluations.sweep", "schedule": 30.0},
    # New (and late) ledger rows are counted into the dashboards' rollups.
    "usage-rollup": {
        "task": "llmops.usage.rollup",
        "schedule": float(env_int("LLMOPS_USAGE_ROLLUP_SECONDS", 60, minimum=1)),
    },
    # Budgets' Redis counters are set to the ledger's figures (drift, a Redis restart).
    "usage-budgets-reconcile": {"task": "llmops.usage.budgets_reconcile", "schedule": 300.0},
    # Chunk generations and deleted documents no knowledge-base version or head needs any more are removed.
    "knowledge-garbage-collect": {"task": "llmops.knowledge.garbage_collect", "schedule": 600.0},
}
