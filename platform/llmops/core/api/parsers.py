"""Request parsers: DRF's JSON parser that answers 400 to nesting too deep to parse, and one within Django's body
limit for the console API.

Python's ``json`` module raises ``RecursionError`` (not ``ValueError``) on a body such as ``[[[[...]]]]`` nested
past the interpreter's stack; DRF's ``JSONParser`` only turns ``ValueError`` into a 400, so a 40 kB body of
brackets used to be a 500.

Before DRF 3.16 ``JSONParser`` read the request stream itself, so Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE``
(which guards ``request.body`` and form data) never applied to JSON bodies; newer DRF parses ``request.body``
(Django's check raises ``RequestDataTooBig``, answered 413 by the exception handler). Within the versions
``pyproject.toml`` allows, this parser keeps the limit either way: it reads at most one byte past it.
"""

from __future__ import annotations

import io
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from llmops.core.errors import PayloadTooLarge


class DepthSafeJSONParser(JSONParser):
    """``JSONParser`` that answers 400 (not 500) to JSON nested deeper than the interpreter can parse."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply.") from None


class BoundedJSONParser(DepthSafeJSONParser):
    """``JSONParser`` that refuses bodies over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (413) instead of reading them."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if stream is not None and limit is not None:
            raw = stream.read(limit + 1)
            if len(raw) > limit:
                raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
            stream = io.BytesIO(raw)
        return super().parse(stream, media_type, parser_context)
