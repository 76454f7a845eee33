"""Plain Django views: liveness, readiness and the console landing page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET
from django.views.generic import TemplateView

from llmops.core.health import readiness


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process serves requests. Touches no dependency."""
    return JsonResponse({"status": "ok"})


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: 200 when the database, Redis and a worker are all ready, else 503 naming what is not
    (with each check's detail only when ``LLMOPS_READYZ_DETAIL`` is on)."""
    checks = readiness()
    ready = all(check.ok for check in checks)
    # Unauthenticated: the details (worker host names, addresses in error texts) only where configured to,
    # by default in development; production answers which check failed and nothing more.
    detail = settings.LLMOPS_READYZ_DETAIL
    body = {
        "status": "ready" if ready else "not_ready",
        "checks": {
            c.name: {"ok": c.ok, "detail": c.detail, "elapsed_ms": c.elapsed_ms} if detail else {"ok": c.ok}
            for c in checks
        },
    }
    return JsonResponse(body, status=200 if ready else 503)


@method_decorator(ensure_csrf_cookie, name="dispatch")
class ConsoleView(TemplateView):
    """The React console's page for every console route (deep links survive a reload), with the CSRF cookie
    its session sign-in sends back; when the console is not built, a landing page saying how to build it."""

    template_name = "core/console.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        index = Path(settings.CONSOLE_DIST) / "index.html"
        try:
            page = index.read_bytes()
        except OSError:
            return super().get(request, *args, **kwargs)
        response = HttpResponse(page, content_type="text/html; charset=utf-8")
        response["Cache-Control"] = "no-cache"  # the page names hashed assets: always ask for the current one
        return response
