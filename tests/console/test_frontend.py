"""The console's own checks, run by the suite: the TypeScript type check (strict), lint, the component and
state unit tests (Vitest), and API types that match the platform's OpenAPI schema (a backend change that
breaks the console fails here)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"
pytestmark = pytest.mark.timeout(300)


def _npx(*args: str) -> subprocess.CompletedProcess[str]:
    if not (FRONTEND / "node_modules").is_dir():
        pytest.fail("the console's packages are not installed: run make console (make test does)")
    return subprocess.run(
        ["npx", "--no-install", *args], cwd=FRONTEND, capture_output=True, text=True, timeout=280
    )


def test_the_console_type_checks_in_strict_mode() -> None:
    result = _npx("tsc", "-b", "--noEmit")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_console_lints_without_errors() -> None:
    result = _npx("oxlint", "src")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_console_unit_tests_pass() -> None:
    result = _npx("vitest", "run")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_the_console_api_types_match_the_openapi_schema(tmp_path: Path) -> None:
    # The platform's own settings (the test settings add a test app's routes).
    schema = tmp_path / "openapi.json"
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    made = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--format", "openapi-json", "--file", str(schema)],
        cwd=FRONTEND.parent, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    generated = tmp_path / "schema.d.ts"
    result = _npx("openapi-typescript", str(schema), "-o", str(generated))
    assert result.returncode == 0, result.stderr
    committed = (FRONTEND / "src" / "api" / "schema.d.ts").read_text()
    assert generated.read_text() == committed, "the API changed: run make api-types and commit the result"
