"""Plain Django views: liveness, readiness and the console landing page."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, JsonResponse
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


class ConsoleView(TemplateView):
    """The console's landing page (the React console replaces it once built)."""

    template_name = "core/console.html"
