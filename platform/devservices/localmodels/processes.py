"""Start a local model server as a child process on a free port, wait until it answers, stop it.

Used by tests (through session fixtures) and by anything else that needs a private server for a while::

    with running_chat_server() as url:          # http://127.0.0.1:<free port>/v1
        ChatOpenAI(base_url=url, api_key="x", model=CHAT_MODEL).invoke("Hi")
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from devservices.embedded.folder import state_dir
from devservices.localmodels import llama
from devservices.localmodels.config import CHAT_MODEL, HOST, base_url
from devservices.localmodels.errors import LocalModelsError

READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
_PORT_ATTEMPTS = 3
_PACKAGE_PARENT = Path(__file__).resolve().parents[2]  # platform/, which holds the devservices package


@dataclass
class ServerProcess:
    """A started server: its base URL (ending in ``/v1``), port, process and log file.

    The log of a server on a picked port is deleted when it stops (tests start many, each on a new port);
    a server that fails to start keeps its log, and the error names it.
    """

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    keep_log: bool = True
    url: str = field(init=False)

    def __post_init__(self) -> None:
        self.url = base_url(self.port)

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds; idempotent."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if not self.keep_log:
            with contextlib.suppress(FileNotFoundError):
                self.log_path.unlink()


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _die_with_parent() -> None:
    # Linux: the kernel sends SIGTERM to the child when the process that started it dies, so a killed test
    # run leaves no model server behind. Elsewhere, or if prctl is unavailable, this is a no-op.
    with contextlib.suppress(Exception):
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}/health", timeout=1.0) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False  # refused while starting, 503 while llama-server loads the model


def _log_tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    return " | ".join(line.strip() for line in text[-lines:]) or "(empty log)"


def start_server(
    name: str,
    command_for_port: Callable[[int], list[str]],
    port: int | None = None,
    timeout: float = READY_TIMEOUT_S,
    log_dir: Path | None = None,
    env: dict[str, str] | None = None,
) -> ServerProcess:
    """Start ``command_for_port(port)`` and wait until ``/health`` answers 200.

    With ``port=None`` a free port is picked, and picked again if another process takes it before the server
    binds it. Raises :class:`LocalModelsError` with the end of the server's log if it does not come up.
    """
    log_dir = log_dir or state_dir() / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    last_error = ""
    for _ in range(1 if port is not None else _PORT_ATTEMPTS):
        chosen = port if port is not None else free_port()
        server = _spawn(name, command_for_port(chosen), chosen, log_dir, env, keep_log=port is not None)
        if _answers(server, timeout):
            return server
        server.keep_log = True  # for the error message below
        server.stop()
        last_error, another_port_may_help = _failure(server, timeout)
        if not another_port_may_help:
            break
    raise LocalModelsError(f"{last_error} (log: {server.log_path})")


def _spawn(
    name: str, command: list[str], port: int, log_dir: Path, env: dict[str, str] | None, keep_log: bool
) -> ServerProcess:
    log_path = log_dir / f"localmodels-{name}-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            preexec_fn=_die_with_parent,  # safe: nothing runs between fork and exec but prctl
        )
    return ServerProcess(name=name, port=port, process=process, log_path=log_path, keep_log=keep_log)


def _answers(server: ServerProcess, timeout: float) -> bool:
    """Whether the server answers ``/health`` before it exits or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    interval = 0.02
    while server.process.poll() is None and time.monotonic() < deadline:
        if _healthy(server.port):
            return True
        time.sleep(interval)
        interval = min(interval * 1.5, 0.25)
    return False


def _failure(server: ServerProcess, timeout: float) -> tuple[str, bool]:
    """Why a stopped server did not come up, and whether the cause was its port being taken meanwhile."""
    tail = _log_tail(server.log_path)
    status = server.process.returncode
    if status is not None and status != -signal.SIGTERM:
        taken = "address already in use" in tail.lower() or "couldn't bind" in tail.lower()
        return f"the {server.name} server exited with status {status}: {tail}", taken
    return f"the {server.name} server did not answer /health within {timeout:.0f} s: {tail}", False


def start_chat_server(
    port: int | None = None, timeout: float = READY_TIMEOUT_S, name: str = CHAT_MODEL
) -> ServerProcess:
    """Start llama-server with ``name`` (Gemma 3 270M by default; flags:
    :func:`devservices.localmodels.llama.server_command`)."""
    binary = llama.binary_path()  # also fixes the shared-library links before the binary runs
    return start_server(
        "chat", lambda p: llama.server_command(p, binary=binary, name=name), port=port, timeout=timeout
    )


def start_embedding_server(
    port: int | None = None, timeout: float = READY_TIMEOUT_S, rerank_chat_url: str | None = None
) -> ServerProcess:
    """Start the embeddings server (``python -m devservices.localmodels serve-embeddings``); its
    ``/v1/rerank`` asks the chat server at ``rerank_chat_url`` (default: the local one)."""
    env = dict(os.environ)
    # The child must import devservices even when the package is not installed (a bare checkout on sys.path).
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_PACKAGE_PARENT), env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "devservices.localmodels", "serve-embeddings"]
    rerank = ["--rerank-chat-url", rerank_chat_url] if rerank_chat_url else []
    return start_server(
        "embeddings",
        lambda p: [*command, "--port", str(p), *rerank],
        port=port,
        timeout=timeout,
        env=env,
    )


@contextlib.contextmanager
def running_chat_server(
    port: int | None = None, timeout: float = READY_TIMEOUT_S, name: str = CHAT_MODEL
) -> Iterator[str]:
    """Run the chat model server (``name``, Gemma by default) for the ``with`` block; yields its base URL."""
    server = start_chat_server(port, timeout, name)
    try:
        yield server.url
    finally:
        server.stop()


@contextlib.contextmanager
def running_embedding_server(
    port: int | None = None, timeout: float = READY_TIMEOUT_S, rerank_chat_url: str | None = None
) -> Iterator[str]:
    """Run the embedding server for the ``with`` block (``/v1/rerank`` asking the chat server at
    ``rerank_chat_url``); yields its base URL (``.../v1``)."""
    server = start_embedding_server(port, timeout, rerank_chat_url)
    try:
        yield server.url
    finally:
        server.stop()
