"""ASGI entry point: HTTP through Django, websockets through Channels with session or token auth."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "llmops.settings")
django_asgi_app = get_asgi_application()

# Imported after Django is set up: routing pulls in models.
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from llmops.accounts.websocket_auth import OriginCheck, TokenAuthMiddlewareStack  # noqa: E402
from llmops.core.middleware import RequestBodyLimit  # noqa: E402
from llmops.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        # Bodies over their route's limit are refused before Django spools them (see core.middleware).
        "http": RequestBodyLimit(django_asgi_app),
        "websocket": OriginCheck(TokenAuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
