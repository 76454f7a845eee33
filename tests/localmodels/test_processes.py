"""Starting and stopping local model servers as child processes."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest

from devservices.localmodels import LocalModelsError, start_embedding_server
from devservices.localmodels.processes import start_server


def test_a_started_server_answers_and_stopping_it_leaves_nothing_behind(local_models: None) -> None:
    server = start_embedding_server()
    try:
        assert httpx.get(f"{server.url}/models", timeout=5).status_code == 200
    finally:
        server.stop()

    assert server.process.returncode is not None
    assert not server.log_path.exists()  # picked port: the log goes with the server
    server.stop()  # idempotent


def test_a_server_that_dies_at_start_fails_with_the_end_of_its_log(tmp_path: Path) -> None:
    def command(port: int) -> list[str]:
        return [sys.executable, "-c", "import sys; print('model file is corrupt'); sys.exit(3)"]

    with pytest.raises(LocalModelsError, match=r"exited with status 3: model file is corrupt") as raised:
        start_server("broken", command, timeout=10, log_dir=tmp_path)

    assert str(tmp_path) in raised.value.message  # the log is kept and named


def test_a_server_that_never_gets_ready_times_out(tmp_path: Path) -> None:
    def command(port: int) -> list[str]:
        return [sys.executable, "-c", "import time; print('loading', flush=True); time.sleep(30)"]

    with pytest.raises(LocalModelsError, match=r"did not answer /health within 1 s: loading"):
        start_server("stuck", command, timeout=1, log_dir=tmp_path)
