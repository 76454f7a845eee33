"""workflows/ stays framework-free: no Django, Celery or Channels, enforced by ruff and by import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BANNED = ("django", "celery", "channels", "rest_framework", "kombu")


def test_importing_the_engine_loads_no_framework() -> None:
    code = "import json, sys, workflows, workflows.testing;print(json.dumps(sorted(m for m in sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout)
    assert [m for m in loaded if m.split(".")[0] in BANNED] == []


@pytest.mark.parametrize(
    "statement",
    [
        "import django",
        "import django.db",
        "from django.db import models",
        "from celery import shared_task",
        "import channels.layers",
        "from rest_framework import serializers",
        "import kombu",
    ],
)
def test_ruff_bans_framework_imports_inside_workflows(statement: str) -> None:
    probe = ROOT / "workflows" / "_ban_probe_test.py"
    probe.write_text(f"{statement}\n")
    try:
        ruff = Path(sys.executable).with_name("ruff")
        out = subprocess.run(
            [
                str(ruff),
                "check",
                "--no-cache",
                "--select",
                "TID251",
                "--output-format",
                "concise",
                str(probe),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
    finally:
        probe.unlink()
    assert out.returncode == 1, out.stdout + out.stderr
    assert "TID251" in out.stdout
