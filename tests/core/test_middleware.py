"""The middleware chain runs synchronously under ASGI (one request thread, no hop per middleware)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.utils.module_loading import import_string


def test_every_middleware_is_loaded_in_sync_mode_under_asgi() -> None:
    # Django's rule (BaseHandler.load_middleware): walking up from the async innermost handler, a middleware
    # runs sync only when the handler below it is sync and it can run sync.
    below_is_async, modes = True, {}
    for path in reversed(settings.MIDDLEWARE):
        middleware = import_string(path)
        can_sync = getattr(middleware, "sync_capable", True)
        is_async = getattr(middleware, "async_capable", False) if below_is_async or not can_sync else False
        modes[path] = "async" if is_async else "sync"
        below_is_async = is_async
    assert set(modes.values()) == {"sync"}, modes


@pytest.mark.django_db
def test_a_request_through_the_asgi_handler_is_answered() -> None:
    async def call() -> list[Mapping[str, Any]]:
        sent: list[Mapping[str, Any]] = []
        received = [{"type": "http.request", "body": b"", "more_body": False}]

        async def receive() -> dict[str, object]:
            if received:
                return received.pop(0)
            await asyncio.Event().wait()  # the client stays connected
            raise AssertionError("unreachable")

        async def send(message: Mapping[str, Any]) -> None:
            sent.append(message)

        scope = {"type": "http", "method": "GET", "path": "/healthz", "query_string": b"", "headers": [],
                 "server": ("testserver", 80), "client": ("127.0.0.1", 1234), "scheme": "http"}  # fmt: skip
        await ASGIHandler()(scope, receive, send)
        return sent

    sent = asyncio.run(call())
    assert sent[0]["status"] == 200 and b'"ok"' in sent[1]["body"]
