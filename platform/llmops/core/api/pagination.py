"""Pagination of the console API: ``?limit=&offset=`` with a ceiling on ``limit``."""

from __future__ import annotations

from django.conf import settings
from rest_framework.pagination import LimitOffsetPagination


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    """DRF's limit/offset pages; a ``limit`` above ``LLMOPS_API_MAX_PAGE_SIZE`` is capped to it (the answer's
    ``next`` link continues from there), so one request cannot ask for a whole table."""

    @property
    def max_limit(self) -> int:  # type: ignore[override]
        return int(settings.LLMOPS_API_MAX_PAGE_SIZE)
