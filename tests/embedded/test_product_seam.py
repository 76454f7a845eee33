"""The product and the development services beside it meet at one place: ``llmops/settings/embedded.py``."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from devservices.embedded import default_database_url, default_redis_url, state_dir

ROOT = Path(__file__).resolve().parents[2]
SEAM = ROOT / "platform" / "llmops" / "settings" / "embedded.py"


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def settings_of(tmp_path: Path, code: str, **variables: str) -> list[str]:
    """Lines printed by ``code`` in a fresh process with the product's settings loaded."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("LLMOPS_")
        and k
        not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL", "DATABASE_URL_FILE", "REDIS_URL_FILE")
    }
    environment = {
        **clean,
        "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'platform'}",
        "DJANGO_SETTINGS_MODULE": "llmops.settings",
        **variables,
    }
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import sys, django; from django.conf import settings; django.setup(); {code}",
        ],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_no_product_module_but_the_seam_imports_devservices() -> None:
    importers = [
        path.relative_to(ROOT).as_posix()
        for path in sorted((ROOT / "platform" / "llmops").rglob("*.py"))
        if any(name.split(".")[0] == "devservices" for name in imported_modules(path))
    ]
    assert importers == [SEAM.relative_to(ROOT).as_posix()]


def test_a_deployment_that_sets_both_urls_never_loads_development_code(tmp_path: Path) -> None:
    lines = settings_of(
        tmp_path,
        "print(sorted(name for name in sys.modules if name.split('.')[0] == 'devservices'))",
        LLMOPS_STATE_DIR=str(tmp_path / "state"),
        DATABASE_URL="postgres://app:secret@db.internal:5432/app",
        REDIS_URL="redis://cache.internal:6379/0",
    )
    assert lines == ["[]"]


def test_without_urls_the_settings_use_the_embedded_servers_of_the_same_state_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "state"
    monkeypatch.setenv("LLMOPS_STATE_DIR", str(state))
    monkeypatch.delenv("LLMOPS_PG_PORT", raising=False)
    monkeypatch.delenv("LLMOPS_REDIS_PORT", raising=False)
    lines = settings_of(
        tmp_path,
        "print(settings.STATE_DIR); print(settings.DATABASE_URL); print(settings.REDIS_URL)",
        LLMOPS_STATE_DIR=str(state),
    )
    assert lines == [str(state), default_database_url(state), default_redis_url(state)]


@pytest.mark.parametrize("value", [None, "relative/state", "~/state"])
def test_settings_and_devservices_agree_on_the_state_folder(
    value: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    variables = (
        {"HOME": str(tmp_path)} if value is None else {"LLMOPS_STATE_DIR": value, "HOME": str(tmp_path)}
    )
    monkeypatch.chdir(tmp_path)
    for name, setting in variables.items():
        monkeypatch.setenv(name, setting)
    if value is None:
        monkeypatch.delenv("LLMOPS_STATE_DIR", raising=False)
    assert settings_of(tmp_path, "print(settings.STATE_DIR)", **variables) == [str(state_dir())]


def test_a_product_install_without_devservices_names_the_url_to_set(tmp_path: Path) -> None:
    # given: no DATABASE_URL, and the development services cannot be imported (a product-only install)
    code = (
        "import sys; sys.modules['devservices'] = None\n"
        "from django.conf import settings\n"
        "try:\n    settings.DATABASES\nexcept Exception as exc:\n    print(type(exc).__name__, exc)\n"
    )
    environment = {
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith("LLMOPS_") and not k.startswith("DATABASE_URL")
        },
        "LLMOPS_STATE_DIR": str(tmp_path / "state"),
        "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'platform'}",
        "DJANGO_SETTINGS_MODULE": "llmops.settings",
        "REDIS_URL": "redis://cache.internal:6379/0",
    }
    # when
    done = subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=False
    )
    # then
    assert done.stdout.strip() == (
        "SettingError DATABASE_URL is not set and the embedded development servers (devservices) are not "
        "installed; set DATABASE_URL"
    ), done.stderr
