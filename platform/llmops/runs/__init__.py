"""Runs and node runs: the Celery execution task, resume after worker loss, live events."""
