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
