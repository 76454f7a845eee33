"""The OpenAPI schema (what the console's API types are generated from) covers every console endpoint."""

from __future__ import annotations

import io
from typing import Any

import yaml
from django.core.management import call_command


def test_the_schema_generates_without_errors_and_includes_deployments(db: Any) -> None:
    out, err = io.StringIO(), io.StringIO()
    call_command("spectacular", "--validate", stdout=out, stderr=err)
    assert "Error [" not in err.getvalue(), err.getvalue()
    paths = yaml.safe_load(out.getvalue())["paths"]
    assert "/api/workspaces/{workspace}/deployments/" in paths
    assert "post" in paths["/api/workspaces/{workspace}/deployments/{slug}/pause/"]
