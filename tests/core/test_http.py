"""Health probes, the OpenAPI schema, the docs page, the admin and the one error shape."""

from __future__ import annotations

import subprocess

import pytest
from django.test import Client, override_settings

from tests.accounts.factories import UserFactory


def test_healthz_is_alive_without_touching_dependencies(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


@pytest.mark.django_db
@pytest.mark.integration
def test_readyz_reports_database_redis_and_worker_ready(
    client: Client, celery_worker_process: subprocess.Popen[bytes]
) -> None:
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ready"
    assert body["checks"]["database"]["detail"].startswith("postgresql, pgvector 0.8")
    assert set(body["checks"]) == {"database", "redis", "worker"}


@pytest.mark.django_db
def test_readyz_names_an_unreachable_redis(client: Client) -> None:
    with override_settings(REDIS_URL="redis://127.0.0.1:1/0"):
        response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 503
    assert body["checks"]["redis"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True


@pytest.mark.django_db
def test_openapi_schema_and_docs_page_are_served(client: Client) -> None:
    schema = client.get("/api/schema/?format=json")
    assert schema.status_code == 200
    assert "/api/workspaces/{slug}/" in schema.json()["paths"]
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()
    # the docs page's assets are served locally (no CDN: the platform runs offline)
    asset = client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    assert asset.status_code == 200


@pytest.mark.django_db
def test_admin_login_works_and_lists_the_models(client: Client) -> None:
    UserFactory.create(username="root", is_staff=True, is_superuser=True)
    assert client.get("/admin/login/").status_code == 200
    response = client.post("/admin/login/?next=/admin/", {"username": "root", "password": "pass-word-123"})
    assert response.status_code == 302
    index = client.get("/admin/")
    assert index.status_code == 200
    for model in (b"Workspaces", b"Memberships", b"Users"):
        assert model in index.content


@pytest.mark.django_db
def test_every_platform_model_is_in_the_admin_and_its_list_works(client: Client) -> None:
    from django.apps import apps
    from django.contrib import admin
    from django.urls import reverse

    UserFactory.create(username="root", is_staff=True, is_superuser=True)
    client.login(username="root", password="pass-word-123")
    platform_models = [m for m in apps.get_models() if m.__module__.startswith("llmops.")]
    inlined = {
        inline.model for model_admin in admin.site._registry.values() for inline in model_admin.inlines
    }
    missing = [m.__name__ for m in platform_models if m not in admin.site._registry and m not in inlined]
    assert missing == [], f"models neither registered nor inlined in the admin: {missing}"
    for model in (m for m in platform_models if m in admin.site._registry):
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        assert client.get(url).status_code == 200, url
