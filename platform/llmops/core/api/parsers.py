"""Request parsers of the console API: DRF's JSON parser within Django's body limit.

Before DRF 3.16 ``JSONParser`` read the request stream itself, so Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE``
(which guards ``request.body`` and form data) never applied to JSON bodies; newer DRF parses ``request.body``
(Django's check raises ``RequestDataTooBig``, answered 413 by the exception handler). Within the versions
``pyproject.toml`` allows, this parser keeps the limit either way: it reads at most one byte past it.
"""

from __future__ import annotations

import io
from typing import Any

from django.conf import settings
from rest_framework.parsers import JSONParser

from llmops.core.errors import PayloadTooLarge


class BoundedJSONParser(JSONParser):
    """``JSONParser`` that refuses bodies over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (413) instead of reading them."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if stream is not None and limit is not None:
            raw = stream.read(limit + 1)
            if len(raw) > limit:
                raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
            stream = io.BytesIO(raw)
        return super().parse(stream, media_type, parser_context)
