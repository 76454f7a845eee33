"""The LLMOps platform's Django project."""

from llmops.celery import app as celery_app

__all__ = ["celery_app"]
