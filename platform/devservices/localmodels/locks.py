"""A blocking file lock, so two ``ensure`` runs (``make run`` beside ``make test``) never build twice."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from devservices.localmodels.errors import LocalModelsError


@contextlib.contextmanager
def file_lock(path: Path, timeout: float, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created if needed); call ``on_wait`` once if we must wait."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        waited = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not waited and on_wait is not None:
                    on_wait()
                waited = True
                if time.monotonic() >= deadline:
                    raise LocalModelsError(
                        f"another process has held {path} for {timeout:.0f} s; let it finish or stop it"
                    ) from None
                time.sleep(0.2)
        yield
    finally:
        os.close(fd)
