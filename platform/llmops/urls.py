"""Top-level URLs: console page, health probes, admin, the REST API and its schema."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from llmops.core.views import ConsoleView, healthz, readyz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("v1/", include("llmops.deployments.api.public_urls")),
    path("readyz", readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/", include("llmops.accounts.api.urls")),
    path("api/", include("llmops.providers.api.urls")),
    path("api/", include("llmops.usage.api.urls")),
    path("api/", include("llmops.prompts.api.urls")),
    path("api/", include("llmops.studio.api.urls")),
    path("api/", include("llmops.chains.api.urls")),
    path("api/", include("llmops.runs.api.urls")),
    path("api/", include("llmops.deployments.api.urls")),
    path("api/", include("llmops.knowledge.api.urls")),
    path("api/", include("llmops.evaluations.api.urls")),
    path("api/", include("llmops.tools.api.urls")),
    # Last: every other path is a console route (the React app routes it in the browser).
    re_path(r"^(?!api/|admin/|v1/|static/|ws/|healthz$|readyz$).*$", ConsoleView.as_view(), name="console"),
]
