"""Every benchmark runs to its RESULT line in ``--quick`` mode, so a refactor that breaks one fails the suite.

The figures of a quick run mean nothing (tiny sizes, a shared CPU); what is checked is that each benchmark
still works end to end against the real services, prints a CPU calibration, and (chaos) loses no run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = [
    "engine",
    "runs",
    "chaos",
    "gateway",
    "knowledge",
    "api",
    "evals",
    "console",
    "dashboards",
    "streaming",
]


def _benchmark_env() -> dict[str, str]:
    """The benchmarks' own settings (llmops.settings), on the migrated test database."""
    db = connection.settings_dict
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "llmops.settings",
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,  # the harness moves its workers to their own Redis database
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "platform")]),
    }


def _result(stdout: str) -> dict[str, str]:
    last = stdout.strip().splitlines()[-1]
    assert last.startswith("RESULT "), f"the last line is not a RESULT line: {last!r}"
    return dict(field.split("=", 1) for field in last.split()[1:])


@pytest.mark.integration
@pytest.mark.parametrize("name", BENCHMARKS)
def test_benchmark_runs_to_its_result_line_in_quick_mode(name: str, db: Any, local_models: None) -> None:
    env = _benchmark_env()  # `db`: the connection names the test database only once a test asked for it
    done = subprocess.run(
        [sys.executable, "-m", f"tests.benchmarks.{name}", "--quick"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = _result(done.stdout)
    assert float(result["cpu_calibration_ms"]) > 0
    if name == "chaos":
        assert (result["lost"], result["duplicated"]) == ("0", "0")
