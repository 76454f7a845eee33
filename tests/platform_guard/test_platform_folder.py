"""``platform/`` must stay a plain source folder: a package there shadows the stdlib ``platform``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_platform_folder_has_no_init_file() -> None:
    assert not (ROOT / "platform" / "__init__.py").exists(), "platform/__init__.py shadows the stdlib module"


def test_stdlib_platform_module_is_importable_with_platform_folder_on_path() -> None:
    # given: the same sys.path that manage.py, pytest and Celery use
    code = (
        "import platform, uuid, django; platform.system(); uuid.uuid4(); django.setup();"
        "import llmops; print(platform.__file__)"
    )
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'platform'}"}
    # when
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    # then
    assert done.returncode == 0, done.stderr
    assert not done.stdout.strip().startswith(str(ROOT)), "the stdlib platform module was shadowed"


def test_manage_py_runs_from_the_checkout() -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--fail-level", "ERROR"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "llmops.settings"},
    )
    assert done.returncode == 0, done.stderr
